// The verifier's hashing: the canonical encoding v1 (docs/hashing.md) of exported rows, written straight
// from the parsed values into one reused buffer whose header bytes are laid out once per subject, then
// one node:crypto hash call. It produces exactly the bytes of src/security/canonical.ts (the reference
// encoder, checked against PostgreSQL); test/audit/rowhash.test.ts proves the two agree on generated rows.
// Nothing here allocates per field: uuids, hex and timestamps are parsed character by character, short
// ASCII text is copied in a loop, and only non-ASCII text and base64 go through Buffer.write.
import { hash } from 'node:crypto';
import { EncodingError } from '../security/canonical.js';

/** Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's timestamp epoch). */
const PG_EPOCH_US = 946_684_800_000_000;
const TWO_32 = 4_294_967_296;
const UUID_OID = 2950;

/**
 * Hex digit values by UTF-16 code unit; -1 for anything else (uppercase is refused, as in canonical.ts).
 * A table over every code unit, so a lookup needs no range check and an invalid character shows up as a
 * negative value when the lookups are OR-ed together.
 */
const HEX = new Int8Array(65536).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;

/** Byte values of every pair of ASCII characters (c1 << 7 | c2); -1 unless both are lowercase hex. */
const PAIR = new Int16Array(128 * 128).fill(-1);
for (let a = 0; a < 128; a++)
  for (let b = 0; b < 128; b++)
    if (HEX[a]! >= 0 && HEX[b]! >= 0) PAIR[(a << 7) | b] = (HEX[a]! << 4) | HEX[b]!;

/** One byte from two hex characters at i, or a negative number when either is not lowercase hex. */
function hexByte(v: string, i: number): number {
  const c1 = v.charCodeAt(i);
  const c2 = v.charCodeAt(i + 1);
  return (c1 | c2) > 127 ? -1 : PAIR[(c1 << 7) | c2]!;
}

/** Uuid fields whose values repeat from row to row (the organization, the session, the actor, ...). */
const enum Slot {
  Org,
  Session,
  Actor,
  Facility,
  Target,
  Key,
  RecordId,
  ChangeRequest,
  Count,
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  if (m <= 2) y -= 1;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

type Row = Record<string, unknown>;

export class RowHasher {
  private buf: Buffer = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;
  /** Views of buf's first n bytes, by n (for the hash call). */
  private views: Buffer[] = [];
  private readonly headers = new Map<string, Buffer>();
  /** The last value of each repeating uuid field, and its 16 bytes. */
  private readonly lastUuid: Array<string | null> = new Array<string | null>(Slot.Count).fill(null);
  private readonly lastUuidBytes = Buffer.alloc(16 * Slot.Count);
  /** The last timestamp's first 13 characters (date and hour) and their milliseconds. */
  private lastHourText = '';
  private lastHourMs = 0;

  /** sha256 (hex) of an audit.audit_events row in export encoding. */
  auditEvent(r: Row): string {
    this.encodeAuditEvent(r);
    return this.digest();
  }

  /**
   * The encoding alone of an audit.audit_events row: a view of the reused buffer, valid until the
   * next call (the benchmark's floor: what hashing a row costs besides SHA-256).
   */
  auditEventBytes(r: Row): Buffer {
    this.encodeAuditEvent(r);
    return this.buf.subarray(0, this.pos);
  }

  private encodeAuditEvent(r: Row): void {
    this.start('audit.audit_events');
    this.uuidC(r.organization_id, Slot.Org);
    this.int4(r.lane);
    this.int8(r.seq);
    this.uuid(r.id);
    this.ts(r.occurred_at);
    this.uuidC(r.session_id, Slot.Session);
    this.uuidC(r.actor_id, Slot.Actor);
    this.text(r.event_type);
    this.text(r.domain);
    this.uuidC(r.facility_id, Slot.Facility);
    this.text(r.target_table);
    this.uuidC(r.target_id, Slot.Target);
    this.uuid(r.target_record_id);
    this.hex(r.target_record_hash);
    this.uuidArray(r.related_ids);
    this.text(r.reason);
    this.text(r.details);
    this.base64(r.state_ciphertext);
    this.uuidC(r.key_id, Slot.Key);
    this.hex(r.previous_hash);
  }

  /** sha256 (hex) of an audit.session_events row. */
  sessionEvent(r: Row): string {
    this.start('audit.session_events');
    this.uuidC(r.organization_id, Slot.Org);
    this.int4(r.lane);
    this.int8(r.seq);
    this.uuid(r.id);
    this.ts(r.occurred_at);
    this.uuidC(r.session_id, Slot.Session);
    this.uuidC(r.principal_id, Slot.Actor);
    this.text(r.operation);
    this.text(r.target_type);
    this.uuidC(r.target_id, Slot.Target);
    this.text(r.outcome);
    this.text(r.error_code);
    this.text(r.client_ip);
    this.text(r.request_id);
    this.hex(r.previous_hash);
    return this.digest();
  }

  /** sha256 (hex) of an audit.signatures row (factors hashed as their comma-joined text). */
  signature(r: Row): string {
    this.start('audit.signatures');
    this.uuidC(r.organization_id, Slot.Org);
    this.int4(r.lane);
    this.int8(r.seq);
    this.uuid(r.id);
    this.ts(r.signed_at);
    this.uuidC(r.signer_id, Slot.Actor);
    this.text(r.signer_name);
    this.text(r.signer_email);
    this.text(r.meaning);
    this.text(r.record_table);
    this.uuid(r.record_id);
    this.hex(r.record_hash);
    this.textList(r.factors);
    this.bool(r.continuous);
    this.uuid(r.challenge_id);
    this.uuidC(r.session_id, Slot.Session);
    this.hex(r.previous_hash);
    return this.digest();
  }

  /** sha256 (hex) of a controlled record version; the subject is its table (e.g. core.policies). */
  record(table: string, r: Row): string {
    this.start(table);
    this.uuid(r.record_id);
    this.uuidC(r.id, Slot.RecordId);
    this.uuidC(r.organization_id, Slot.Org);
    this.uuidC(r.facility_id, Slot.Facility);
    this.text(r.domain);
    this.text(r.item_key);
    this.int4(r.version);
    this.uuid(r.previous_record_id);
    this.text(r.content);
    this.ts(r.created_at);
    this.uuidC(r.created_by, Slot.Actor);
    this.text(r.change_reason);
    this.uuidC(r.change_request_id, Slot.ChangeRequest);
    this.hex(r.previous_record_hash);
    return this.digest();
  }

  private start(subject: string): void {
    let h = this.headers.get(subject);
    if (!h) {
      const a = Buffer.from('axiom.v1', 'utf8');
      const b = Buffer.from(subject, 'utf8');
      h = Buffer.allocUnsafe(8 + a.length + b.length);
      h.writeInt32BE(a.length, 0);
      a.copy(h, 4);
      h.writeInt32BE(b.length, 4 + a.length);
      b.copy(h, 8 + a.length);
      this.headers.set(subject, h);
    }
    h.copy(this.buf, 0);
    this.pos = h.length;
  }

  private digest(): string {
    // A view of the buffer per input length, made once: no allocation per row.
    let view = this.views[this.pos];
    if (view === undefined) {
      view = this.buf.subarray(0, this.pos);
      if (this.pos < 4096) this.views[this.pos] = view;
    }
    return hash('sha256', view, 'hex');
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.views = [];
  }

  private len(n: number): void {
    const b = this.buf;
    let p = this.pos;
    b[p++] = (n >>> 24) & 0xff;
    b[p++] = (n >>> 16) & 0xff;
    b[p++] = (n >>> 8) & 0xff;
    b[p++] = n & 0xff;
    this.pos = p;
  }

  private nul(): void {
    this.ensure(4);
    this.len(-1);
  }

  private uuid(v: unknown): void {
    if (v === null || v === undefined) return this.nul();
    if (typeof v !== 'string' || v.length !== 36) throw new EncodingError('not a uuid');
    this.ensure(20);
    this.len(16);
    this.uuidBytes(v);
  }

  /** A uuid field whose value often repeats: its bytes are copied from the last row's when it does. */
  private uuidC(v: unknown, slot: Slot): void {
    if (v === null || v === undefined) return this.nul();
    const at = slot * 16;
    if (v === this.lastUuid[slot]) {
      this.ensure(20);
      this.len(16);
      const b = this.buf;
      const c = this.lastUuidBytes;
      const p = this.pos;
      for (let i = 0; i < 16; i++) b[p + i] = c[at + i]!;
      this.pos = p + 16;
      return;
    }
    this.uuid(v);
    this.buf.copy(this.lastUuidBytes, at, this.pos - 16, this.pos);
    this.lastUuid[slot] = v as string;
  }

  private uuidBytes(v: string): void {
    if (
      (v.charCodeAt(8) ^ 45) |
      (v.charCodeAt(13) ^ 45) |
      (v.charCodeAt(18) ^ 45) |
      (v.charCodeAt(23) ^ 45)
    )
      throw new EncodingError('not a uuid');
    const b = this.buf;
    const p = this.pos;
    const b0 = hexByte(v, 0);
    const b1 = hexByte(v, 2);
    const b2 = hexByte(v, 4);
    const b3 = hexByte(v, 6);
    const b4 = hexByte(v, 9);
    const b5 = hexByte(v, 11);
    const b6 = hexByte(v, 14);
    const b7 = hexByte(v, 16);
    const b8 = hexByte(v, 19);
    const b9 = hexByte(v, 21);
    const b10 = hexByte(v, 24);
    const b11 = hexByte(v, 26);
    const b12 = hexByte(v, 28);
    const b13 = hexByte(v, 30);
    const b14 = hexByte(v, 32);
    const b15 = hexByte(v, 34);
    if ((b0 | b1 | b2 | b3 | b4 | b5 | b6 | b7 | b8 | b9 | b10 | b11 | b12 | b13 | b14 | b15) < 0)
      throw new EncodingError('not a uuid');
    b[p] = b0;
    b[p + 1] = b1;
    b[p + 2] = b2;
    b[p + 3] = b3;
    b[p + 4] = b4;
    b[p + 5] = b5;
    b[p + 6] = b6;
    b[p + 7] = b7;
    b[p + 8] = b8;
    b[p + 9] = b9;
    b[p + 10] = b10;
    b[p + 11] = b11;
    b[p + 12] = b12;
    b[p + 13] = b13;
    b[p + 14] = b14;
    b[p + 15] = b15;
    this.pos = p + 16;
  }

  private int4(v: unknown): void {
    if (v === null || v === undefined) return this.nul();
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647)
      throw new EncodingError('not an int4');
    this.ensure(8);
    this.len(4);
    this.len(v);
  }

  private int8(v: unknown): void {
    if (v === null || v === undefined) return this.nul();
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new EncodingError('not an int8');
    this.ensure(12);
    this.len(8);
    this.int64(v);
  }

  private int64(v: number): void {
    const hi = Math.floor(v / TWO_32);
    this.len(hi | 0);
    this.len(v - hi * TWO_32);
  }

  private bool(v: unknown): void {
    if (v === null || v === undefined) return this.nul();
    if (typeof v !== 'boolean') throw new EncodingError('not a boolean');
    this.ensure(5);
    this.len(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** "YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z" → microseconds since 2000-01-01, as int8. */
  private ts(v: unknown): void {
    if (v === null || v === undefined) return this.nul();
    if (
      typeof v !== 'string' ||
      v.length < 20 ||
      v.length > 27 ||
      v.charCodeAt(v.length - 1) !== 90
    )
      throw new EncodingError('not a UTC timestamp');
    if (
      v.charCodeAt(4) !== 45 ||
      v.charCodeAt(7) !== 45 ||
      v.charCodeAt(10) !== 84 ||
      v.charCodeAt(13) !== 58 ||
      v.charCodeAt(16) !== 58
    )
      throw new EncodingError('not a UTC timestamp');
    let hourMs: number;
    if (this.lastHourText.length === 13 && v.startsWith(this.lastHourText)) {
      hourMs = this.lastHourMs;
    } else {
      const year = digits(v, 0, 4);
      const month = digits(v, 5, 2);
      const day = digits(v, 8, 2);
      const hour = digits(v, 11, 2);
      // PostgreSQL never writes these out of range; refusing them keeps one text per instant.
      if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23)
        throw new EncodingError('not a UTC timestamp');
      hourMs = daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000;
      this.lastHourText = v.slice(0, 13);
      this.lastHourMs = hourMs;
    }
    const minute = digits(v, 14, 2);
    const second = digits(v, 17, 2);
    if (minute > 59 || second > 59) throw new EncodingError('not a UTC timestamp');
    let frac = 0;
    const end = v.length - 1;
    if (end > 19) {
      if (v.charCodeAt(19) !== 46 || end === 20) throw new EncodingError('not a UTC timestamp');
      frac = digits(v, 20, end - 20);
      for (let k = end - 20; k < 6; k++) frac *= 10;
    }
    const ms = hourMs + minute * 60_000 + second * 1000;
    this.ensure(12);
    this.len(8);
    this.int64(ms * 1000 + frac - PG_EPOCH_US);
  }

  private text(v: unknown): void {
    if (v === null || v === undefined) return this.nul();
    if (typeof v !== 'string') throw new EncodingError('text must be a string');
    this.str(v);
  }

  private str(v: string): void {
    const n = v.length;
    this.ensure(4 + 3 * n);
    const start = this.pos;
    const b = this.buf;
    let p = start + 4;
    let i = 0;
    for (; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c >= 128) break;
      b[p++] = c;
    }
    if (i < n) p = start + 4 + b.write(v, start + 4, 'utf8');
    this.pos = start;
    this.len(p - start - 4);
    this.pos = p;
  }

  private textList(v: unknown): void {
    if (v === null || v === undefined) return this.nul();
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw new EncodingError('a list of strings');
    this.str(v.join(','));
  }

  /** bytea given as lowercase hex. */
  private hex(v: unknown): void {
    if (v === null || v === undefined) return this.nul();
    if (typeof v !== 'string' || (v.length & 1) === 1)
      throw new EncodingError('bytea must be lowercase hex');
    const n = v.length >>> 1;
    this.ensure(4 + n);
    this.len(n);
    const b = this.buf;
    let p = this.pos;
    let bad = 0;
    for (let i = 0; i < v.length; i += 2) {
      const x = hexByte(v, i);
      bad |= x;
      b[p++] = x;
    }
    if (bad < 0) throw new EncodingError('bytea must be lowercase hex');
    this.pos = p;
  }

  /** bytea given as base64 (the sealed states). */
  private base64(v: unknown): void {
    if (v === null || v === undefined) return this.nul();
    if (typeof v !== 'string') throw new EncodingError('bytea must be base64');
    this.ensure(4 + Math.ceil((v.length * 3) / 4));
    const start = this.pos;
    const n = this.buf.write(v, start + 4, 'base64');
    this.len(n);
    this.pos = start + 4 + n;
  }

  private uuidArray(v: unknown): void {
    if (v === null || v === undefined) return this.nul();
    if (!Array.isArray(v)) throw new EncodingError('uuid[] must be an array');
    const n = v.length;
    this.ensure(4 + 20 + 20 * n);
    this.len(n === 0 ? 12 : 20 + 20 * n);
    this.len(n === 0 ? 0 : 1);
    this.len(0);
    this.len(UUID_OID);
    if (n > 0) {
      this.len(n);
      this.len(1);
    }
    for (const u of v) {
      if (typeof u !== 'string' || u.length !== 36)
        throw new EncodingError('uuid[] holds a non-uuid');
      this.len(16);
      this.uuidBytes(u);
    }
  }
}

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw new EncodingError('not a UTC timestamp');
    v = v * 10 + d;
  }
  return v;
}
