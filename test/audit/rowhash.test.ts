// The verifier's fast hashing (src/audit/rowhash.ts) produces the bytes of the reference encoder
// (src/security/canonical.ts, itself checked against PostgreSQL) for every subject, on the documented
// test vector and on generated rows — and refuses what the reference refuses.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RowHasher } from '../../src/audit/rowhash.js';
import {
  Encoder,
  EncodingError,
  auditEventFields,
  controlledRecordFields,
  hashRow,
  sessionEventFields,
  type FieldSpec,
} from '../../src/security/canonical.js';

const signatureFields: readonly FieldSpec[] = [
  { name: 'organization_id', type: 'uuid' },
  { name: 'lane', type: 'int4' },
  { name: 'seq', type: 'int8' },
  { name: 'id', type: 'uuid' },
  { name: 'signed_at', type: 'ts' },
  { name: 'signer_id', type: 'uuid' },
  { name: 'signer_name', type: 'text' },
  { name: 'signer_email', type: 'text' },
  { name: 'meaning', type: 'text' },
  { name: 'record_table', type: 'text' },
  { name: 'record_id', type: 'uuid' },
  { name: 'record_hash', type: 'bytea' },
  { name: 'factors', type: 'text' },
  { name: 'continuous', type: 'bool' },
  { name: 'challenge_id', type: 'uuid' },
  { name: 'session_id', type: 'uuid' },
  { name: 'previous_hash', type: 'bytea' },
];

const nullable = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.option(a, { nil: null, freq: 3 });
const uuid = fc.uuid();
const hex32 = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('hex'));
const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constant(''));
const ts = fc
  .record({
    ms: fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) }),
    micros: fc.integer({ min: 0, max: 999 }),
    digits: fc.integer({ min: 0, max: 6 }),
  })
  .map(({ ms, micros, digits }) => {
    const full = new Date(ms).toISOString().slice(0, 23) + String(micros).padStart(3, '0');
    return digits === 0 ? full.slice(0, 19) + 'Z' : full.slice(0, 20 + digits) + 'Z';
  });
const lane = fc.integer({ min: 0, max: 15 });
const seq = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });

describe('RowHasher', () => {
  const h = new RowHasher();
  const enc = new Encoder();

  it('hashes audit events as the reference encoder does', () => {
    fc.assert(
      fc.property(
        fc.record({
          organization_id: uuid,
          lane,
          seq,
          id: uuid,
          occurred_at: ts,
          session_id: nullable(uuid),
          actor_id: nullable(uuid),
          event_type: text,
          domain: nullable(fc.constantFrom('cost', 'audit', 'configuration')),
          facility_id: nullable(uuid),
          target_table: nullable(text),
          target_id: nullable(uuid),
          target_record_id: nullable(uuid),
          target_record_hash: nullable(hex32),
          related_ids: nullable(fc.array(uuid, { maxLength: 4 })),
          reason: nullable(text),
          details: text,
          state_ciphertext: nullable(fc.uint8Array({ maxLength: 300 })),
          key_id: nullable(uuid),
          previous_hash: nullable(hex32),
        }),
        (r) => {
          const ct = r.state_ciphertext ? Buffer.from(r.state_ciphertext) : null;
          const exported = { ...r, state_ciphertext: ct ? ct.toString('base64') : null };
          const reference = hashRow(enc, 'audit.audit_events', auditEventFields, {
            ...r,
            state_ciphertext: ct,
          });
          expect(h.auditEvent(exported)).toBe(reference);
          // The encoding alone (the benchmark's floor) is exactly the bytes hashed.
          expect(createHash('sha256').update(h.auditEventBytes(exported)).digest('hex')).toBe(
            reference,
          );
        },
      ),
      { numRuns: 400 },
    );
  });

  it('hashes session events, signatures and records as the reference encoder does', () => {
    fc.assert(
      fc.property(
        fc.record({
          organization_id: uuid,
          lane,
          seq,
          id: uuid,
          occurred_at: ts,
          session_id: nullable(uuid),
          principal_id: nullable(uuid),
          operation: text,
          target_type: nullable(text),
          target_id: nullable(uuid),
          outcome: text,
          error_code: nullable(text),
          client_ip: nullable(fc.constantFrom('192.0.2.7/32', '::1/128')),
          request_id: nullable(text),
          previous_hash: nullable(hex32),
        }),
        (r) => {
          expect(h.sessionEvent(r)).toBe(
            hashRow(enc, 'audit.session_events', sessionEventFields, r),
          );
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.record({
          organization_id: uuid,
          lane,
          seq,
          id: uuid,
          signed_at: ts,
          signer_id: uuid,
          signer_name: text,
          signer_email: text,
          meaning: text,
          record_table: text,
          record_id: uuid,
          record_hash: hex32,
          factors: fc.array(fc.constantFrom('password', 'webauthn', 'oidc_reauth'), {
            maxLength: 3,
          }),
          continuous: fc.boolean(),
          challenge_id: uuid,
          session_id: uuid,
          previous_hash: nullable(hex32),
        }),
        (r) => {
          expect(h.signature(r)).toBe(
            hashRow(enc, 'audit.signatures', signatureFields, {
              ...r,
              factors: r.factors.join(','),
            }),
          );
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.record({
          record_id: uuid,
          id: uuid,
          organization_id: uuid,
          facility_id: nullable(uuid),
          domain: fc.constantFrom('configuration', 'security'),
          item_key: text,
          version: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          previous_record_id: nullable(uuid),
          content: text,
          created_at: ts,
          created_by: uuid,
          change_reason: text,
          change_request_id: nullable(uuid),
          previous_record_hash: nullable(hex32),
        }),
        (r) => {
          expect(h.record('core.policies', r)).toBe(
            hashRow(enc, 'core.policies', controlledRecordFields, r),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses malformed values instead of hashing something else', () => {
    const row = {
      organization_id: '0b8f3a52-6f0e-4c39-9d0e-6f1f7a1e2b3c',
      lane: 3,
      seq: 1,
      id: '5d2c0c3e-1d7a-4c4f-8d1e-2f3a4b5c6d7e',
      occurred_at: '2026-11-25T12:00:00.123456Z',
      session_id: null,
      principal_id: null,
      operation: 'x',
      target_type: null,
      target_id: null,
      outcome: 'ok',
      error_code: null,
      client_ip: null,
      request_id: null,
      previous_hash: null,
    };
    expect(h.sessionEvent(row)).toBe(hashRow(enc, 'audit.session_events', sessionEventFields, row));
    for (const bad of [
      { id: '5D2C0C3E-1D7A-4C4F-8D1E-2F3A4B5C6D7E' },
      { id: '5d2c0c3e_1d7a-4c4f-8d1e-2f3a4b5c6d7e' },
      { occurred_at: '2026-11-25 12:00:00Z' },
      { occurred_at: '2026-11-25T12:00:00.1234567Z' },
      { lane: 1.5 },
      { seq: '1' },
      { previous_hash: 'ABCD' },
      { previous_hash: 'abc' },
      { operation: 7 },
    ])
      expect(() => h.sessionEvent({ ...row, ...bad }), JSON.stringify(bad)).toThrow(EncodingError);
  });
});
