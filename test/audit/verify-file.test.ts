// Reading an export file (src/audit/verify-file.ts) with no database: lines that cross the reader's
// 1 MiB chunks are put back together exactly, and a line (or CSV record) longer than MAX_LINE is
// refused as soon as it is read, so a hostile file without line breaks costs seconds, not minutes
// and gigabytes.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../../src/audit/csv.js';
import { RowHasher } from '../../src/audit/rowhash.js';
import type { ExportRow } from '../../src/audit/verifier.js';
import { MAX_LINE, UnreadableExportError, verifyFile } from '../../src/audit/verify-file.js';
import { main } from '../../src/cli/main.js';
import { fakeTerminal } from '../support/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-verify-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A chained export of one organization: `n` audit events in one lane, long reasons of varied size. */
function exportLines(n: number): string[] {
  const hasher = new RowHasher();
  const org = randomUUID();
  const lines = [
    JSON.stringify({
      stream: 'manifest',
      organization_id: org,
      exported_at: '2026-12-01T00:00:00.000000Z',
      streams: ['audit_events'],
    }),
  ];
  let previous: string | null = null;
  for (let seq = 1; seq <= n; seq++) {
    const r: ExportRow = {
      stream: 'audit_events',
      organization_id: org,
      lane: 0,
      seq,
      id: randomUUID(),
      occurred_at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString().replace('Z', '000Z'),
      session_id: null,
      actor_id: null,
      event_type: 'chain.verified',
      domain: 'audit',
      facility_id: null,
      target_table: null,
      target_id: null,
      target_record_id: null,
      target_record_hash: null,
      related_ids: null,
      // Rows of different lengths, with multi-byte characters, so chunk ends fall anywhere.
      reason: `événement ${seq} ${'x'.repeat((seq * 7919) % 20_000)}`,
      details: '{}',
      state_ciphertext: null,
      key_id: null,
      previous_hash: previous,
    };
    r.hash = hasher.auditEvent(r);
    previous = r.hash as string;
    lines.push(JSON.stringify(r));
  }
  lines.push(JSON.stringify({ stream: 'end', rows: n }));
  return lines;
}

describe('verifyFile', () => {
  it('puts lines that cross the 1 MiB chunks back together exactly', async () => {
    const file = path.join(dir, 'long.jsonl');
    fs.writeFileSync(file, exportLines(400).join('\n') + '\n');
    expect(fs.statSync(file).size).toBeGreaterThan(3 * 1024 * 1024);
    const v = await verifyFile(file);
    expect(v.problems).toEqual([]);
    expect(v.counts['audit.audit_events']).toBe(400);
    // Without the last line break too.
    const bare = path.join(dir, 'bare.jsonl');
    fs.writeFileSync(bare, exportLines(50).join('\n'));
    expect((await verifyFile(bare)).intact).toBe(true);
  });

  it('tells how far it has read, up to the whole file', async () => {
    const file = path.join(dir, 'progress.jsonl');
    fs.writeFileSync(file, exportLines(400).join('\n') + '\n');
    const size = fs.statSync(file).size;
    const seen: Array<[number, number]> = [];
    expect((await verifyFile(file, { onProgress: (r, t) => seen.push([r, t]) })).intact).toBe(true);
    expect(seen.at(-1)).toEqual([size, size]);
    const reads = seen.map(([r]) => r);
    expect(reads).toEqual([...reads].sort((a, b) => a - b));
  });

  it('draws a progress bar for `axiom audit verify` on a terminal only, never with --json', async () => {
    const file = path.join(dir, 'bar.jsonl');
    fs.writeFileSync(file, exportLines(200).join('\n') + '\n');
    const run = async (isTTY: boolean, json: boolean) => {
      const terminal = fakeTerminal();
      terminal.stream.isTTY = isTTY;
      const out: string[] = [];
      const code = await main(['audit', 'verify', file, ...(json ? ['--json'] : [])], {
        env: { AXIOM_LOG_LEVEL: 'silent', AXIOM_DATA_DIR: dir },
        io: { out: (l) => out.push(l), err: (l) => out.push(l), json: (v) => out.push(String(v)) },
        progressOutput: terminal.stream,
      });
      return { code, drawn: terminal.drawn(), out: out.join('\n') };
    };
    const shown = await run(true, false);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^intact: 200 rows/);
    const mib = (fs.statSync(file).size / 1024 / 1024).toFixed(1);
    expect(shown.drawn).toContain(`verify [`);
    expect(shown.drawn).toContain(`100% | ${mib}/${mib} MiB`);
    // The bar goes to the terminal only: what the command prints stays clean.
    expect(shown.out).not.toContain('verify [');
    for (const quiet of [await run(false, false), await run(true, true)]) {
      expect(quiet.code).toBe(0);
      expect(quiet.drawn).toBe('');
    }
  });

  it('refuses a line longer than MAX_LINE as soon as it is read', async () => {
    const file = path.join(dir, 'hostile.jsonl');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, `${exportLines(0)[0]}\n{"stream":"audit_events","reason":"`);
    const mib = Buffer.alloc(1024 * 1024, 'a');
    for (let i = 0; i < MAX_LINE / mib.length + 2; i++) fs.writeSync(fd, mib);
    fs.closeSync(fd);
    const started = Date.now();
    await expect(verifyFile(file)).rejects.toThrow(
      new UnreadableExportError(`${file} is not an Axiom export: line 2 is longer than 64 MiB`),
    );
    // Not the minutes of re-reading an ever longer line from its start.
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('refuses a CSV record longer than MAX_LINE', async () => {
    const file = path.join(dir, 'hostile.csv');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, `${CSV_COLUMNS.join(',')}\n"audit_events","`);
    const mib = Buffer.alloc(1024 * 1024, 'a');
    for (let i = 0; i < MAX_LINE / mib.length + 2; i++) fs.writeSync(fd, mib);
    fs.closeSync(fd);
    await expect(verifyFile(file)).rejects.toThrow(
      /is not a readable CSV export: Max Record Size.* at line 2/,
    );
  });
});
