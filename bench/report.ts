// bench/REPORT.md: one section per benchmark, replaced on each run, with the date and the machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const reportPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'REPORT.md');

export interface Row {
  [column: string]: string | number;
}

export function table(rows: Row[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cols = Object.keys(rows[0]!);
  const fmt = (v: string | number): string =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v;
  return (
    [
      `| ${cols.join(' | ')} |`,
      `| ${cols.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${cols.map((c) => fmt(r[c] ?? '')).join(' | ')} |`),
    ].join('\n') + '\n'
  );
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/** Print a section and write it into bench/REPORT.md, replacing that benchmark's previous section. */
export function writeSection(name: string, title: string, body: string): void {
  const stamp = `_${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${machine()}_`;
  const section = `<!-- bench:${name} -->\n## ${title}\n\n${stamp}\n\n${body.trim()}\n<!-- /bench:${name} -->`;
  process.stdout.write(`\n${section}\n`);
  let report = fs.existsSync(reportPath)
    ? fs.readFileSync(reportPath, 'utf8')
    : '# Benchmark report\n\nWritten by `npm run bench`; each section is replaced when its benchmark runs again.\n';
  const re = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`);
  report = re.test(report) ? report.replace(re, section) : `${report.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(reportPath, report);
}
