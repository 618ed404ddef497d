// `npm run bench [name...]`: run the benchmarks (all, or the named ones) one after another.
const all: Record<string, string> = {
  db: './db.ts',
  findings: './findings.ts',
  scan: './scan.ts',
  http: './http.ts',
  audit: './audit.ts',
  verify: './verify.ts',
};
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(all);
for (const name of wanted) {
  const file = all[name];
  if (!file) {
    process.stderr.write(`unknown benchmark ${name}; known: ${Object.keys(all).join(', ')}\n`);
    process.exit(2);
  }
  process.stdout.write(`\n== ${name} ==\n`);
  await import(file);
}
