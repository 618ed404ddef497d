// Canonical encoding v1: the TypeScript encoder (src/security/canonical.ts) and the SQL encoders
// (internal.enc_*) produce the same bytes for the same values — checked on fixed vectors (also printed
// in docs/hashing.md) and on thousands of generated values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Encoder,
  hashRow,
  sessionEventFields,
  timestampToPgMicros,
} from '../../src/security/canonical.js';
import { useTestDatabase } from '../support/db.js';

const db = useTestDatabase();

export const vector = {
  subject: 'audit.session_events',
  row: {
    organization_id: '0b8f3a52-6f0e-4c39-9d0e-6f1f7a1e2b3c',
    lane: 3,
    seq: 1,
    id: '5d2c0c3e-1d7a-4c4f-8d1e-2f3a4b5c6d7e',
    occurred_at: '2026-11-25T12:00:00.123456Z',
    session_id: null,
    principal_id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    operation: 'organization.bootstrap',
    target_type: 'organization',
    target_id: '0b8f3a52-6f0e-4c39-9d0e-6f1f7a1e2b3c',
    outcome: 'ok',
    error_code: null,
    client_ip: '192.0.2.7/32', // the inet-to-text cast always carries the prefix length
    request_id: 'req-1',
    previous_hash: null,
  },
};

describe('canonical encoding v1', () => {
  it('matches the documented test vector in TypeScript and in SQL', async () => {
    const t = db();
    const ts = hashRow(new Encoder(), vector.subject, sessionEventFields, vector.row);
    const r = vector.row;
    const sql = await t.superuser.query<{ h: string }>(
      `select encode(internal.session_event_hash($1::uuid, $15::smallint, $2::bigint, $3::uuid, $4::timestamptz, $5::uuid, $6::uuid,
          $7, $8, $9::uuid, $10, $11, $12::inet, $13, $14::bytea), 'hex') as h`,
      [
        r.organization_id,
        r.seq,
        r.id,
        r.occurred_at,
        r.session_id,
        r.principal_id,
        r.operation,
        r.target_type,
        r.target_id,
        r.outcome,
        r.error_code,
        r.client_ip,
        r.request_id,
        r.previous_hash,
        r.lane,
      ],
    );
    expect(ts).toBe(sql.rows[0]!.h);
    expect(ts).toBe('ae1aeda86c09ed08136501e9d602faca32a3c0968476b1d0e8f617e04d3c4cce');
  });

  it('encodes every field type to the same bytes as PostgreSQL', async () => {
    const t = db();
    const c = await t.superuser.connect();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.uuid(),
          fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
          fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          fc.boolean(),
          // Microsecond timestamps from 1900 to 2200, either side of PostgreSQL's 2000 epoch.
          fc.bigInt({ min: -3_155_673_600_000_000n, max: 6_311_433_600_000_000n }),
          fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\u0000')),
          fc.uint8Array({ maxLength: 40 }),
          fc.array(fc.uuid(), { maxLength: 4 }),
          async (uuid, i4, i8, b, micros, text, bytes, uuids) => {
            const iso = microsToIso(micros);
            const enc = new Encoder()
              .field('uuid', uuid)
              .field('int4', i4)
              .field('int8', i8)
              .field('bool', b)
              .field('ts', iso)
              .field('text', text)
              .field('bytea', Buffer.from(bytes))
              .field('uuid[]', uuids)
              .field('text', null)
              .bytes();
            const r = await c.query<{ b: Buffer }>(
              `select internal.enc_uuid($1::uuid) || internal.enc_int4($2::int) || internal.enc_int8($3::bigint)
                      || internal.enc_bool($4::boolean) || internal.enc_ts($5::timestamptz) || internal.enc_text($6::text)
                      || internal.enc_bytea($7::bytea) || internal.enc_uuid_array($8::uuid[]) || internal.enc_text(null) as b`,
              [uuid, i4, i8.toString(), b, iso, text, Buffer.from(bytes), uuids],
            );
            expect(enc.toString('hex')).toBe(r.rows[0]!.b.toString('hex'));
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      c.release();
    }
  });

  it('reads timestamps to the microsecond, and refuses anything that is not one', () => {
    expect(timestampToPgMicros('2000-01-01T00:00:00.000000Z')).toBe(0n);
    expect(timestampToPgMicros('2000-01-01T00:00:00.000001Z')).toBe(1n);
    expect(timestampToPgMicros('1999-12-31T23:59:59.999999Z')).toBe(-1n);
    expect(() => timestampToPgMicros('2026-11-25 12:00:00+00')).toThrow();
    expect(() => new Encoder().field('uuid', 'nope')).toThrow();
  });

  it('never encodes two different rows to the same bytes (length prefixes and presence bytes)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string(), { nil: null }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.option(fc.string(), { nil: null }), { minLength: 1, maxLength: 5 }),
        (a, b) => {
          fc.pre(a.length === b.length && JSON.stringify(a) !== JSON.stringify(b));
          const ea = new Encoder();
          const eb = new Encoder();
          a.forEach((v) => ea.field('text', v));
          b.forEach((v) => eb.field('text', v));
          expect(ea.bytes().equals(eb.bytes())).toBe(false);
        },
      ),
    );
  });
});

function microsToIso(pgMicros: bigint): string {
  const unixMicros = pgMicros + 946_684_800_000_000n;
  const ms = unixMicros / 1000n - (unixMicros % 1000n < 0n ? 1n : 0n);
  const rem = unixMicros - ms * 1000n;
  const d = new Date(Number(ms));
  const frac = String(d.getUTCMilliseconds() * 1000 + Number(rem)).padStart(6, '0');
  return d.toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}
