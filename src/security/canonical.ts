// Canonical encoding v1 (docs/hashing.md), the TypeScript twin of internal.enc_* in
// db/migrations/001. Both produce the same bytes for the same field values; the test vectors in
// test/security/canonical.test.ts are checked against PostgreSQL too.
import { createHash } from 'node:crypto';

export type FieldType =
  'uuid' | 'int4' | 'int8' | 'bool' | 'ts' | 'text' | 'jsonb' | 'bytea' | 'uuid[]';

/** PostgreSQL's built-in type oid of uuid (fixed in every version). */
const UUID_OID = 2950;

/** Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's timestamp epoch). */
const PG_EPOCH_US = 946_684_800_000_000n;

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const tsRe = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/;

export class EncodingError extends Error {
  override readonly name = 'EncodingError';
}

/** Parse "YYYY-MM-DDTHH:MM:SS.ffffffZ" into microseconds since 2000-01-01T00:00:00Z. */
export function timestampToPgMicros(value: string): bigint {
  const m = tsRe.exec(value);
  if (!m)
    throw new EncodingError(
      `not a UTC timestamp with microseconds: ${JSON.stringify(value).slice(0, 60)}`,
    );
  const ms = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  );
  const frac = (m[7] ?? '').padEnd(6, '0');
  return BigInt(ms) * 1000n + BigInt(frac) - PG_EPOCH_US;
}

/** A growable byte buffer that writes encoded fields. Reused across records for speed. */
export class Encoder {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 4096) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private length(n: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4;
  }

  private raw(bytes: Buffer): void {
    this.length(bytes.length);
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }

  header(subject: string): this {
    return this.field('text', 'axiom.v1').field('text', subject);
  }

  /**
   * Encode one field: a 4-byte big-endian signed length (-1 for NULL), then the bytes. Values use the
   * export encoding: uuid as lowercase text, ts as "YYYY-MM-DDTHH:MM:SS.ffffffZ", bytea as lowercase
   * hex (or a Buffer), jsonb as PostgreSQL's text.
   */
  field(type: FieldType, value: unknown): this {
    if (value === null || value === undefined) {
      this.length(-1);
      return this;
    }
    switch (type) {
      case 'uuid': {
        if (typeof value !== 'string' || !uuidRe.test(value)) {
          throw new EncodingError(`not a uuid: ${String(value).slice(0, 60)}`);
        }
        this.length(16);
        this.ensure(16);
        this.pos += this.buf.write(value.replace(/-/g, ''), this.pos, 16, 'hex');
        return this;
      }
      case 'int4':
      case 'int8': {
        let n: bigint;
        try {
          n = BigInt(value as string | number | bigint);
        } catch {
          throw new EncodingError(`not an integer: ${String(value).slice(0, 40)}`);
        }
        if (type === 'int4') {
          this.length(4);
          this.ensure(4);
          this.buf.writeInt32BE(Number(n), this.pos);
          this.pos += 4;
        } else {
          this.length(8);
          this.ensure(8);
          this.buf.writeBigInt64BE(n, this.pos);
          this.pos += 8;
        }
        return this;
      }
      case 'bool':
        if (typeof value !== 'boolean') throw new EncodingError('not a boolean');
        this.length(1);
        this.ensure(1);
        this.buf[this.pos++] = value ? 1 : 0;
        return this;
      case 'ts': {
        if (typeof value !== 'string') throw new EncodingError('not a timestamp string');
        this.length(8);
        this.ensure(8);
        this.buf.writeBigInt64BE(timestampToPgMicros(value), this.pos);
        this.pos += 8;
        return this;
      }
      case 'text':
      case 'jsonb': {
        if (typeof value !== 'string') throw new EncodingError(`${type} must be given as a string`);
        const n = Buffer.byteLength(value, 'utf8');
        this.length(n);
        this.ensure(n);
        this.pos += this.buf.write(value, this.pos, n, 'utf8');
        return this;
      }
      case 'bytea': {
        const bytes = Buffer.isBuffer(value)
          ? value
          : typeof value === 'string' && /^([0-9a-f]{2})*$/.test(value)
            ? Buffer.from(value, 'hex')
            : undefined;
        if (!bytes) throw new EncodingError('bytea must be lowercase hex or a Buffer');
        this.raw(bytes);
        return this;
      }
      case 'uuid[]': {
        // PostgreSQL's array_send format for a one-dimensional uuid array with lower bound 1.
        if (!Array.isArray(value)) throw new EncodingError('uuid[] must be an array');
        const n = value.length;
        const size = n === 0 ? 12 : 20 + 20 * n;
        this.length(size);
        this.ensure(size);
        this.buf.writeInt32BE(n === 0 ? 0 : 1, this.pos);
        this.buf.writeInt32BE(0, this.pos + 4);
        this.buf.writeInt32BE(UUID_OID, this.pos + 8);
        this.pos += 12;
        if (n > 0) {
          this.buf.writeInt32BE(n, this.pos);
          this.buf.writeInt32BE(1, this.pos + 4);
          this.pos += 8;
        }
        for (const u of value) {
          if (typeof u !== 'string' || !uuidRe.test(u))
            throw new EncodingError('uuid[] holds a non-uuid');
          this.buf.writeInt32BE(16, this.pos);
          this.pos += 4;
          this.pos += this.buf.write(u.replace(/-/g, ''), this.pos, 16, 'hex');
        }
        return this;
      }
    }
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  sha256Hex(): string {
    return createHash('sha256').update(this.bytes()).digest('hex');
  }
}

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
}

/** The hashed fields of each chained table, in hash order (docs/hashing.md). */
export const sessionEventFields: readonly FieldSpec[] = [
  { name: 'organization_id', type: 'uuid' },
  { name: 'lane', type: 'int4' },
  { name: 'seq', type: 'int8' },
  { name: 'id', type: 'uuid' },
  { name: 'occurred_at', type: 'ts' },
  { name: 'session_id', type: 'uuid' },
  { name: 'principal_id', type: 'uuid' },
  { name: 'operation', type: 'text' },
  { name: 'target_type', type: 'text' },
  { name: 'target_id', type: 'uuid' },
  { name: 'outcome', type: 'text' },
  { name: 'error_code', type: 'text' },
  { name: 'client_ip', type: 'text' },
  { name: 'request_id', type: 'text' },
  { name: 'previous_hash', type: 'bytea' },
];

export const auditEventFields: readonly FieldSpec[] = [
  { name: 'organization_id', type: 'uuid' },
  { name: 'lane', type: 'int4' },
  { name: 'seq', type: 'int8' },
  { name: 'id', type: 'uuid' },
  { name: 'occurred_at', type: 'ts' },
  { name: 'session_id', type: 'uuid' },
  { name: 'actor_id', type: 'uuid' },
  { name: 'event_type', type: 'text' },
  { name: 'domain', type: 'text' },
  { name: 'facility_id', type: 'uuid' },
  { name: 'target_table', type: 'text' },
  { name: 'target_id', type: 'uuid' },
  { name: 'target_record_id', type: 'uuid' },
  { name: 'target_record_hash', type: 'bytea' },
  { name: 'related_ids', type: 'uuid[]' },
  { name: 'reason', type: 'text' },
  { name: 'details', type: 'jsonb' },
  { name: 'state_ciphertext', type: 'bytea' },
  { name: 'key_id', type: 'uuid' },
  { name: 'previous_hash', type: 'bytea' },
];

export const controlledRecordFields: readonly FieldSpec[] = [
  { name: 'record_id', type: 'uuid' },
  { name: 'id', type: 'uuid' },
  { name: 'organization_id', type: 'uuid' },
  { name: 'facility_id', type: 'uuid' },
  { name: 'domain', type: 'text' },
  { name: 'item_key', type: 'text' },
  { name: 'version', type: 'int4' },
  { name: 'previous_record_id', type: 'uuid' },
  { name: 'content', type: 'jsonb' },
  { name: 'created_at', type: 'ts' },
  { name: 'created_by', type: 'uuid' },
  { name: 'change_reason', type: 'text' },
  { name: 'change_request_id', type: 'uuid' },
  { name: 'previous_record_hash', type: 'bytea' },
];

/** Hash one exported row: header(subject) then its fields in order. */
export function hashRow(
  enc: Encoder,
  subject: string,
  fields: readonly FieldSpec[],
  row: Record<string, unknown>,
): string {
  enc.reset().header(subject);
  for (const f of fields) enc.field(f.type, row[f.name]);
  return enc.sha256Hex();
}
