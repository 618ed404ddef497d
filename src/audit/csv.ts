// The CSV form of an export: one header, one line per row of any stream, the columns the union of every
// stream's fields. It is as verifiable as JSON Lines because it keeps what hashing needs: NULL is an empty
// unquoted field, an empty string is "" (quoted), numbers and booleans are written plainly, arrays as
// JSON. The manifest, checkpoint and end rows carry their fields as JSON in the last column, "extra".
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import type { Readable } from 'node:stream';
import type { ExportRow } from './verifier.js';

export const CSV_COLUMNS = [
  'stream',
  'organization_id',
  'table',
  'lane',
  'seq',
  'id',
  'record_id',
  'occurred_at',
  'signed_at',
  'created_at',
  'session_id',
  'principal_id',
  'actor_id',
  'signer_id',
  'signer_name',
  'signer_email',
  'operation',
  'event_type',
  'meaning',
  'domain',
  'facility_id',
  'target_type',
  'target_table',
  'target_id',
  'target_record_id',
  'target_record_hash',
  'record_table',
  'record_hash',
  'related_ids',
  'reason',
  'details',
  'outcome',
  'error_code',
  'client_ip',
  'request_id',
  'factors',
  'continuous',
  'challenge_id',
  'item_key',
  'version',
  'previous_record_id',
  'content',
  'created_by',
  'change_reason',
  'change_request_id',
  'lifecycle_state',
  'state_ciphertext',
  'key_id',
  'archived',
  'previous_record_hash',
  'previous_hash',
  'hash',
  'extra',
] as const;

const dataStreams = new Set(['audit_events', 'session_events', 'signatures', 'records']);
const integers = new Set(['lane', 'seq', 'version']);
const booleans = new Set(['continuous', 'archived']);
const arrays = new Set(['related_ids', 'factors']);
const known = new Set<string>(CSV_COLUMNS);

const quoteStrings = {
  cast: { string: (v: string) => ({ value: v, quoted: true, quoted_empty: true }) },
};

export function csvHeader(): string {
  return CSV_COLUMNS.join(',') + '\n';
}

function cells(row: ExportRow): Array<string | number | null> {
  const data = dataStreams.has(row.stream);
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row))
    if (!known.has(k) || (!data && k !== 'stream')) extra[k] = v;
  return CSV_COLUMNS.map((c) => {
    if (c === 'extra') return Object.keys(extra).length ? JSON.stringify(extra) : null;
    if (!data && c !== 'stream') return null;
    const v = row[c];
    if (v === null || v === undefined) return null;
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return v;
    if (typeof v === 'string') return v;
    return JSON.stringify(v);
  });
}

/** CSV lines (each ending in \n) for rows of an export. */
export function csvLines(rows: ExportRow[]): string {
  return stringify(rows.map(cells), quoteStrings);
}

export class CsvFormatError extends Error {
  override readonly name = 'CsvFormatError';
}

/** A parsed CSV line back into the row it was written from. */
export function csvRecordToRow(values: Array<string | null>): ExportRow {
  if (values.length !== CSV_COLUMNS.length)
    throw new CsvFormatError(
      `a line has ${values.length} fields, the header ${CSV_COLUMNS.length}`,
    );
  const row: Record<string, unknown> = {};
  for (let i = 0; i < CSV_COLUMNS.length; i++) {
    const c = CSV_COLUMNS[i]!;
    const v = values[i] ?? null;
    if (v === null) continue;
    if (c === 'extra') {
      let extra: unknown;
      try {
        extra = JSON.parse(v);
      } catch {
        throw new CsvFormatError('the extra column is not JSON');
      }
      if (extra === null || typeof extra !== 'object' || Array.isArray(extra))
        throw new CsvFormatError('the extra column is not a JSON object');
      Object.assign(row, extra);
    } else if (integers.has(c)) {
      row[c] = /^-?\d{1,16}$/.test(v) ? Number(v) : v;
    } else if (booleans.has(c)) {
      row[c] = v === 'true' ? true : v === 'false' ? false : v;
    } else if (arrays.has(c)) {
      try {
        row[c] = JSON.parse(v);
      } catch {
        throw new CsvFormatError(`the ${c} column is not a JSON array`);
      }
    } else {
      row[c] = v;
    }
  }
  if (typeof row.stream !== 'string') throw new CsvFormatError('a line without a stream');
  return row as ExportRow;
}

/**
 * Rows of a CSV export, streamed; the header must be the export's. A record longer than
 * `maxRecordSize` characters fails (CSV_MAX_RECORD_SIZE) as soon as it is read.
 */
export async function* csvRows(
  input: Readable,
  opts: { maxRecordSize?: number } = {},
): AsyncGenerator<ExportRow> {
  const parser = input.pipe(
    parse({
      // Unquoted empty fields are NULL; quoted ones are strings (possibly empty).
      cast: (value, context) => (context.quoting ? value : value === '' ? null : value),
      relax_column_count: true,
      ...(opts.maxRecordSize ? { max_record_size: opts.maxRecordSize } : {}),
    }),
  );
  let header = true;
  for await (const record of parser as AsyncIterable<Array<string | null>>) {
    if (header) {
      if (record.join(',') !== CSV_COLUMNS.join(','))
        throw new CsvFormatError('the header is not the header of an Axiom export');
      header = false;
      continue;
    }
    yield csvRecordToRow(record);
  }
  if (header) throw new CsvFormatError('the file is empty');
}
