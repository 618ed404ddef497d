// Export of an organization's audit trail through api.audit_export, page by page (keyset cursors, one
// call and one transaction per page), never holding the whole export in memory. Every row carries every
// hashed field (docs/hashing.md), so an export verifies offline (src/audit/verifier.ts).
//
// The file format (axiom-export-v2), as JSON Lines:
//   {"stream":"manifest", organization_id, exported_at (the server's clock, before any row was read), ...}
//   {"stream":"checkpoint","signed":{...}}      every published checkpoint of the organization made before
//                                               exported_at (src/audit/checkpoints.ts)
//   rows of audit_events, session_events, signatures, then records (one stream per kind)
//   {"stream":"end","rows":N}                   the number of chain rows: a cut-short file is detected
// CSV carries the same rows under one header (src/audit/csv.ts).
import type { Api, Caller } from '../db/api.js';
import type { CheckpointStore, SignedCheckpoint } from './checkpoints.js';
import { csvHeader, csvLines } from './csv.js';
import type { ExportRow } from './verifier.js';

interface Page {
  rows: ExportRow[];
  next_cursor: string | null;
}

interface TextPage {
  text: string;
  count: number;
  next_cursor: string | null;
}

type Manifest = ExportRow & { organization_id: string; streams: string[] };

/**
 * The chain rows of the issue-2 export (audit events, session events, controlled records) as objects,
 * with the manifest first. Signatures are left out here: this is the set internal.verify_event_chains
 * and internal.verify_records cover, and what test/db/tampering.test.ts compares them with.
 * exportText() is the full evidence export.
 */
export async function* exportRows(
  api: Api,
  caller: Caller,
  pageSize = 2000,
): AsyncGenerator<ExportRow> {
  const manifest = await api.call<Page>('audit_export', caller, 'manifest', null, 1);
  const head = manifest.rows[0] as Manifest;
  yield head;
  for (const stream of head.streams.filter((s) => s !== 'signatures')) {
    let cursor: string | null = null;
    do {
      const page: Page = await api.call<Page>('audit_export', caller, stream, cursor, pageSize);
      for (const row of page.rows) yield row;
      cursor = page.next_cursor;
    } while (cursor !== null);
  }
}

export type ExportFormat = 'jsonl' | 'csv';

export interface ExportOptions {
  format: ExportFormat;
  /** Rows per api call (JSON Lines up to 20000, CSV up to 5000). */
  pageSize?: number;
  /** Where published checkpoints are read from, to be embedded. */
  checkpoints?: Pick<CheckpointStore, 'list'>;
  now?: () => Date;
}

/** ISO-8601 with microseconds, as the database exports its timestamps. */
export function exportTime(d: Date): string {
  return d.toISOString().replace('Z', '000Z');
}

/**
 * Start an export: the first call (the manifest) is made before anything is returned, so a refusal
 * (no audit:read, no session) is an error the caller can answer properly; the rest streams.
 */
export async function startExport(
  api: Api,
  caller: Caller,
  opts: ExportOptions,
): Promise<{ manifest: Manifest; chunks: AsyncGenerator<string> }> {
  const exportedAt = exportTime(opts.now?.() ?? new Date());
  const dbManifest = await api.call<Page>('audit_export', caller, 'manifest', null, 1, 'json');
  const manifest = {
    ...(dbManifest.rows[0] as Manifest),
    exported_at: exportedAt,
  } as Manifest;
  const checkpoints: SignedCheckpoint[] = [];
  if (opts.checkpoints) {
    for (const s of await opts.checkpoints.list(manifest.organization_id)) {
      // Only what was made before the export started can be compared with it.
      const created = createdAt(s);
      if (created !== undefined && created < exportedAt) checkpoints.push(s);
    }
  }
  manifest.checkpoints = checkpoints.length;
  return { manifest, chunks: chunks(api, caller, opts, manifest, checkpoints) };
}

function createdAt(s: SignedCheckpoint): string | undefined {
  try {
    const b = JSON.parse(s.body) as { created_at?: unknown };
    return typeof b.created_at === 'string' ? b.created_at : undefined;
  } catch {
    return undefined;
  }
}

async function* chunks(
  api: Api,
  caller: Caller,
  opts: ExportOptions,
  manifest: Manifest,
  checkpoints: SignedCheckpoint[],
): AsyncGenerator<string> {
  const csv = opts.format === 'csv';
  const pageSize = opts.pageSize ?? (csv ? 2000 : 10000);
  const meta = (row: ExportRow): string => (csv ? csvLines([row]) : JSON.stringify(row) + '\n');
  if (csv) yield csvHeader();
  yield meta(manifest);
  for (const signed of checkpoints) yield meta({ stream: 'checkpoint', signed });
  let rows = 0;
  for (const stream of manifest.streams) {
    let cursor: string | null = null;
    do {
      if (csv) {
        const page: Page = await api.call<Page>(
          'audit_export',
          caller,
          stream,
          cursor,
          pageSize,
          'json',
        );
        if (page.rows.length) yield csvLines(page.rows);
        rows += page.rows.length;
        cursor = page.next_cursor;
      } else {
        const page: TextPage = await api.call<TextPage>(
          'audit_export',
          caller,
          stream,
          cursor,
          pageSize,
          'jsonl',
        );
        if (page.count > 0) yield page.text + '\n';
        rows += page.count;
        cursor = page.next_cursor;
      }
    } while (cursor !== null);
  }
  yield meta({ stream: 'end', rows });
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
