// Issue 2 benchmark, the TypeScript verifier alone (no database): the in-memory verifier on parsed rows
// and `axiom audit verify FILE` (read, split, parse, verify), each against a baseline in the same run —
// SHA-256 alone over one buffer of the rows' encoded size per row, and reading + parsing the file alone.
// Smaller and quicker than `npm run bench audit` (which exports through the database first).
// BENCH_VERIFY_ROWS (default 500,000) audit events of one organization in 16 lanes.
import { hash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RowHasher } from '../src/audit/rowhash.js';
import { ExportVerifier, type ExportRow } from '../src/audit/verifier.js';
import { verifyFile } from '../src/audit/verify-file.js';
import { table, writeSection } from './report.js';

const ROWS = Number(process.env.BENCH_VERIFY_ROWS ?? 500_000);
const REPEAT = 3;

// Figures of the same benchmark before the file reader was batched (a separate run).
const BEFORE = `Before the file reader was batched (2026-12-02, 300,000 rows, load ~4, fastest of 3): verifier on parsed
rows 561,119/s against SHA-256 alone 2,634,275/s; the file 99,452/s against read + parse 148,841/s (1.50×).`;

interface Rate {
  seconds: number;
  cpuSeconds: number;
}

async function timed<T>(f: () => T | Promise<T>): Promise<[T, Rate]> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out = await f();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return [out, { seconds, cpuSeconds: (c.user + c.system) / 1e6 }];
}

/** The best of a few runs (the machine is shared: the fastest run is the least disturbed). */
async function best<T>(f: () => T | Promise<T>): Promise<[T, Rate]> {
  let out: [T, Rate] | undefined;
  for (let i = 0; i < REPEAT; i++) {
    const r = await timed(f);
    if (!out || r[1].seconds < out[1].seconds) out = r;
  }
  return out!;
}

function generate(): ExportRow[] {
  const hasher = new RowHasher();
  const org = randomUUID();
  const session = randomUUID();
  const actor = randomUUID();
  const base = Date.parse('2026-01-01T00:00:00Z');
  const last = new Map<number, { seq: number; hash: string | null }>();
  const rows: ExportRow[] = [];
  for (let k = 0; k < ROWS; k++) {
    const lane = k % 16;
    const head = last.get(lane) ?? { seq: 0, hash: null };
    const r: ExportRow = {
      stream: 'audit_events',
      organization_id: org,
      lane,
      seq: head.seq + 1,
      id: randomUUID(),
      occurred_at: new Date(base + k).toISOString().replace('Z', '000Z'),
      session_id: session,
      actor_id: actor,
      event_type: k % 3 === 0 ? 'grant.created' : 'chain.verified',
      domain: 'audit',
      facility_id: null,
      target_table: null,
      target_id: null,
      target_record_id: null,
      target_record_hash: null,
      related_ids: null,
      reason: `benchmark event ${k}`,
      details: `{"seq": ${k}, "bench": true}`,
      state_ciphertext: null,
      key_id: null,
      previous_hash: head.hash,
      archived: false,
    };
    r.hash = hasher.auditEvent(r);
    last.set(lane, { seq: head.seq + 1, hash: r.hash as string });
    rows.push(r);
  }
  return rows;
}

function* fileLines(file: string): Generator<string> {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let rest = '';
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const text = rest + buf.toString('utf8', 0, n);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        yield text.slice(start, nl);
        start = nl + 1;
      }
      rest = text.slice(start);
    }
  } finally {
    fs.closeSync(fd);
  }
  if (rest) yield rest;
}

async function main(): Promise<void> {
  const [rows, gen] = await timed(generate);
  const org = rows[0]!.organization_id as string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-bench-verify-'));
  const file = path.join(dir, 'export.jsonl');
  try {
    const manifest = {
      stream: 'manifest',
      organization_id: org,
      exported_at: '2026-12-01T00:00:00.000000Z',
      streams: ['audit_events'],
    };
    const out = fs.openSync(file, 'w');
    const parts: string[] = [JSON.stringify(manifest)];
    for (const r of rows) {
      parts.push(JSON.stringify(r));
      if (parts.length >= 10_000) {
        fs.writeSync(out, parts.join('\n') + '\n');
        parts.length = 0;
      }
    }
    parts.push(JSON.stringify({ stream: 'end', rows: rows.length }));
    fs.writeSync(out, parts.join('\n') + '\n');
    fs.closeSync(out);
    const size = fs.statSync(file).size;

    // In memory, on parsed rows; baseline: SHA-256 alone over one 300-byte buffer per row (about an
    // encoded row's size here).
    const [inMemory, memRate] = await best(() => {
      const v = new ExportVerifier();
      for (const r of rows) v.push(r);
      return v.finish();
    });
    if (!inMemory.intact) throw new Error('the generated rows did not verify');
    // The floor of the verifier on parsed rows: encoding each row, no hash, no chain checks.
    const [, encRate] = await best(() => {
      const h = new RowHasher();
      let bytes = 0;
      for (const r of rows) bytes += h.auditEventBytes(r).length;
      return bytes;
    });
    const buf = Buffer.alloc(300, 7);
    const [, shaRate] = await best(() => {
      for (let i = 0; i < rows.length; i++) hash('sha256', buf, 'hex');
    });

    // The file end to end; baseline: read, split and parse it only.
    const [parsed, parseRate] = await best(() => {
      let n = 0;
      for (const l of fileLines(file)) if (l && JSON.parse(l)) n++;
      return n;
    });
    const [verified, fileRate] = await best(() => verifyFile(file));
    if (!verified.intact) throw new Error('the file did not verify');

    const per = (n: number, s: number): number => Math.round(n / s);
    const row = (name: string, n: number, r: Rate, target = '') => ({
      measurement: name,
      rows: n,
      seconds: r.seconds,
      'rows/s (wall)': per(n, r.seconds),
      'rows/s (CPU of this process)': per(n, r.cpuSeconds),
      target,
    });
    const load = os.loadavg().map((l) => l.toFixed(2));
    const body = [
      `${ROWS.toLocaleString('en')} audit events of one organization in 16 lanes, generated and hashed in this`,
      `process (${gen.seconds.toFixed(1)} s), no database. Each figure is the fastest of ${REPEAT} runs (the machine`,
      `is shared); the CPU column counts this process. Load averages (1, 5, 15 min) at the end: ${load.join(', ')}`,
      'on 2 cores.',
      '',
      table([
        row('baseline: SHA-256 alone, one 300-byte buffer per row', rows.length, shaRate),
        row('floor: encoding each row alone (no hash, no checks)', rows.length, encRate),
        row(
          'TypeScript verifier on parsed rows (ExportVerifier)',
          rows.length,
          memRate,
          '≥ 1,000,000/s',
        ),
        row('baseline: read, split and JSON.parse every line', parsed, parseRate),
        row('verify the file (`axiom audit verify`: read, split, parse, verify)', parsed, fileRate),
      ]),
      `Export file: ${(size / 2 ** 20).toFixed(0)} MiB. The verifier on parsed rows runs at ` +
        `${(shaRate.seconds / memRate.seconds).toFixed(2)}× the rate of SHA-256 alone and ` +
        `${(encRate.seconds / memRate.seconds).toFixed(2)}× the rate of encoding alone; verifying the file ` +
        `costs ${(fileRate.seconds / parseRate.seconds).toFixed(2)}× reading and parsing it.`,
      '',
      BEFORE,
      '',
      'Where the time goes (`node --cpu-prof` of the verifier on parsed rows, 300,000 rows): the one-shot',
      'SHA-256 call ~28% (the native digest 23%, its JS argument checks 5%), decoding hex (previous_hash) 11%,',
      'uuids 10%, timestamps 7.5%, text fields 6%, the per-row checks of the verifier 6–9%. Over a file, parsing',
      'each line into an object (JSON.parse) costs ~3.5× the verification itself. Batching the line reader',
      '(one await per 1 MiB chunk instead of two per row) did not change the file rate measurably here.',
      '',
      'The line reader (2026-12-03, an AMD EPYC machine, paired runs minutes apart): it prepended the',
      "previous chunk's unfinished line to each 1 MiB chunk and searched the joined text, which also made a",
      'hostile file without line breaks cost minutes and gigabytes (a 300 MB line: 2 min 37 s, 1.2 GB). It now',
      'searches each chunk once, keeps an unfinished line in parts and refuses one longer than 64 MiB (that',
      'file: 3 s, 270 MB, exit 2). Verifying the file: 127,698 → 170,935 rows/s; the baseline, which still',
      'joins as the old reader did, 166,822 and 156,972.',
      '',
      'A second thread for the hashes (2026-12-03, an AMD EPYC machine, a prototype outside the product):',
      'the main thread encoded rows into shared memory in batches of 2,048, a worker hashed them, the main',
      'thread compared digests (two buffers, Atomics to hand over). 0.46–0.58 M rows/s against 0.59–0.65 M',
      'for the verifier alone in the same process: the encoding, which must stay on the thread holding the',
      'parsed rows, is most of the work (the floor row above), so the hand-over cost more than the hash it',
      'moved. On this machine 1 M rows/s is out of reach for parsed rows without a faster encoder; a file',
      'could be split between threads that each parse and hash their part, but parsing alone (the read +',
      'parse baseline above) is several times slower than 1 M rows/s per core.',
      '',
      'Lanes (2026-12-02, an Intel machine, 500,000 rows, fastest of 7): these rows come lane after lane',
      '(seq 1 of lanes 0–15, then seq 2, ...), as an export of a busy organization does, and the verifier',
      "built each row's chain key (lane + table + organization) to find its chain: 9% of the profile. It now",
      'keeps the 16 lane chains of the last (table, organization) in an array: 0.69 → 0.79 M rows/s in the',
      'same process. What remains is the hash call (~35% of the verifier: the native digest and its JS',
      'wrapper), the encoding (uuids, timestamps and text copied byte by byte; native writes were no faster',
      'for strings this short) and the collector (a 64-character hex string per digest).',
    ].join('\n');
    writeSection('verify', 'TypeScript chain verifier alone (issue 2)', body);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
