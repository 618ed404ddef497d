// Export of an organization's audit trail through api.audit_export, page by page, never holding the
// whole export in memory. The rows carry every hashed field (docs/hashing.md), so an export can be
// verified offline by src/audit/verifier.ts.
import type { Api, Caller } from '../db/api.js';
import type { ExportRow } from './verifier.js';

interface Page {
  rows: ExportRow[];
  next_cursor: string | null;
}

export async function* exportRows(
  api: Api,
  caller: Caller,
  pageSize = 2000,
): AsyncGenerator<ExportRow> {
  const manifest = await api.call<Page>('audit_export', caller, 'manifest', null, 1);
  const head = manifest.rows[0] as ExportRow & { streams: string[] };
  yield head;
  for (const stream of head.streams) {
    let cursor: string | null = null;
    do {
      const page: Page = await api.call<Page>('audit_export', caller, stream, cursor, pageSize);
      for (const row of page.rows) yield row;
      cursor = page.next_cursor;
    } while (cursor !== null);
  }
}

/** JSON Lines, one row per line. */
export async function* toJsonLines(rows: AsyncIterable<ExportRow>): AsyncGenerator<string> {
  for await (const row of rows) yield JSON.stringify(row) + '\n';
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
