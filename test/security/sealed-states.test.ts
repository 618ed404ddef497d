// Audit before/after states are sealed with the organization's public key inside the database; the
// plaintext appears nowhere in the tables, and only the application, holding the key-encryption key,
// can unwrap the organization's private key and read them.
import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { collect, exportRows } from '../../src/audit/export.js';
import { connectionString } from '../../src/db/bootstrap.js';
import { LocalKeyFile } from '../../src/security/kek.js';
import { sealToPublicKey, unsealState, unwrapOrgKey } from '../../src/security/orgkeys.js';
import { useTestDatabase } from '../support/db.js';
import { createFacility, createOrg, createUser, type TestOrg } from '../support/fixtures.js';

const db = useTestDatabase();

describe('sealed audit states', () => {
  it('keeps before/after content out of every table, and unseals it with the key-encryption key', async () => {
    const t = db();
    const org = await createOrg(t, { keyIndex: 0 });
    const other = await createOrg(t, { keyIndex: 1 });
    const site = await createFacility(t, org);
    const author = await createUser(t, org, [
      { domain: 'configuration', level: 'author', facility: site },
    ]);
    const marker = `needle-${Date.now()}-plaintext`;
    const cr = await t.api.call<{ id: string }>(
      'record_propose',
      author.caller,
      'policy',
      site,
      null,
      'tags',
      { type: 'required_tags', tags: [marker] },
      'tags',
      'sealing test',
    );

    // The content is in the version row (that is the record) and nowhere in the audit tables.
    const inAudit = await t.superuser.query(
      `select count(*)::int as n from audit.audit_events e
        where e.details::text like '%' || $1 || '%' or encode(coalesce(e.state_ciphertext, ''), 'escape') like '%' || $1 || '%'`,
      [marker],
    );
    expect(inAudit.rows[0].n).toBe(0);

    const rows = await collect(exportRows(t.api, org.admin.caller));
    const sealed = rows.find(
      (r) =>
        r.stream === 'audit_events' &&
        r.event_type === 'record.version_created' &&
        r.target_table === 'core.policies' &&
        typeof r.state_ciphertext === 'string',
    )!;
    expect(sealed).toBeDefined();
    const keys = await t.api.call<Array<{ wrapped_private_key: string; kek_id: string }>>(
      'organization_key_get',
      org.admin.caller,
    );
    const kek = LocalKeyFile.open(inject('cluster').kekFile);
    const priv = await unwrapOrgKey(
      kek,
      keys[0]!.wrapped_private_key,
      keys[0]!.kek_id,
      `org:${org.slug}`,
    );
    const state = (await unsealState(
      priv,
      Buffer.from(sealed.state_ciphertext as string, 'base64'),
    )) as {
      before: unknown;
      after: { tags: string[] };
    };
    expect(state.before).toBeNull();
    expect(JSON.stringify(state)).toContain(marker);
    expect(state.after.tags).toEqual([marker]);

    // Another organization's key does not open it; the wrapped key does not unwrap under another context.
    const otherKeys = await t.api.call<Array<{ wrapped_private_key: string; kek_id: string }>>(
      'organization_key_get',
      other.admin.caller,
    );
    const otherPriv = await unwrapOrgKey(
      kek,
      otherKeys[0]!.wrapped_private_key,
      otherKeys[0]!.kek_id,
      `org:${other.slug}`,
    );
    await expect(
      unsealState(otherPriv, Buffer.from(sealed.state_ciphertext as string, 'base64')),
    ).rejects.toThrow();
    await expect(
      unwrapOrgKey(kek, keys[0]!.wrapped_private_key, keys[0]!.kek_id, `org:${other.slug}`),
    ).rejects.toThrow();
    expect(cr.id).toBeTruthy();
  });

  // Migration 084: a connection seals with a random secret S that it wraps once (W, public-key
  // encrypted); each state is 'AXS1' || int4 length(W) || W || (state encrypted with S).
  const privateKeyOf = async (
    t: ReturnType<typeof db>,
    org: TestOrg,
  ): Promise<openpgp.PrivateKey> => {
    const keys = await t.api.call<Array<{ wrapped_private_key: string; kek_id: string }>>(
      'organization_key_get',
      org.admin.caller,
    );
    return unwrapOrgKey(
      LocalKeyFile.open(inject('cluster').kekFile),
      keys[0]!.wrapped_private_key,
      keys[0]!.kek_id,
      `org:${org.slug}`,
    );
  };
  const parts = (c: Buffer): { wrapped: Buffer; sealed: Buffer } => {
    expect(c.subarray(0, 4).toString('latin1')).toBe('AXS1');
    const n = c.readInt32BE(4);
    return { wrapped: c.subarray(8, 8 + n), sealed: c.subarray(8 + n) };
  };
  const sealOn = async (c: pg.Client, org: TestOrg, state: unknown): Promise<Buffer> =>
    (
      await c.query<{ ciphertext: Buffer }>(
        `select (internal.seal_state($1, $2::jsonb)).ciphertext from (select set_config('axiom.session_token', $3, true)) s`,
        [org.id, JSON.stringify(state), org.admin.token],
      )
    ).rows[0]!.ciphertext;

  it('wraps one secret per connection and organization: states sealed on it share W, and each opens with the key-encryption key only', async () => {
    const t = db();
    const org = await createOrg(t, { keyIndex: 2 });
    const other = await createOrg(t, { keyIndex: 3 });
    const c = new pg.Client({ connectionString: connectionString(t.target('superuser')) });
    await c.connect();
    try {
      await c.query(`set client_encoding = 'UTF8'`);
      await c.query('set role axiom_definer');
      const first = await sealOn(c, org, { before: null, after: { n: 1 } });
      const second = await sealOn(c, org, { before: { n: 1 }, after: { n: 2 } });
      const elsewhere = await sealOn(c, other, { before: null, after: { n: 3 } });
      expect(parts(first).wrapped.equals(parts(second).wrapped)).toBe(true);
      expect(parts(first).sealed.equals(parts(second).sealed)).toBe(false);
      expect(parts(elsewhere).wrapped.equals(parts(first).wrapped)).toBe(false);
      const priv = await privateKeyOf(t, org);
      expect(await unsealState(priv, first)).toEqual({ before: null, after: { n: 1 } });
      expect(await unsealState(priv, second)).toEqual({ before: { n: 1 }, after: { n: 2 } });
      await expect(unsealState(await privateKeyOf(t, other), first)).rejects.toThrow();
      expect(await unsealState(await privateKeyOf(t, other), elsewhere)).toEqual({
        before: null,
        after: { n: 3 },
      });
      // The stored form carries S only wrapped: S (kept in the connection's memory) is not in it.
      const secret = Buffer.from(
        (
          await c.query<{ v: string }>(`select current_setting($1) as v`, [
            `axiom.seal_${org.id.replaceAll('-', '')}`,
          ])
        ).rows[0]!.v.split(':')[2]!,
        'hex',
      );
      expect(secret).toHaveLength(32);
      expect(first.includes(secret) || second.includes(secret)).toBe(false);
    } finally {
      await c.end();
    }
  });

  it('ignores a seal secret set by hand: it draws its own, so a state never ends up under a key the caller chose', async () => {
    const t = db();
    const org = await createOrg(t, { keyIndex: 0 });
    const c = new pg.Client({ connectionString: connectionString(t.target('superuser')) });
    await c.connect();
    try {
      await c.query(`set client_encoding = 'UTF8'`);
      await c.query('set role axiom_definer');
      const chosen = randomBytes(32);
      const wrapped = await sealToPublicKey(
        inject('orgKeys')[0]!.publicKeyArmored,
        Buffer.from(chosen),
      );
      const keyId = (
        await t.superuser.query<{ id: string }>(
          `select id from core.organization_keys where organization_id = $1 and retired_at is null`,
          [org.id],
        )
      ).rows[0]!.id;
      const name = `axiom.seal_${org.id.replaceAll('-', '')}`;
      const whex = wrapped.toString('hex');
      await c.query(`select set_config($1, $2, false)`, [`${name}_w`, whex]);
      await c.query(`select set_config($1, $2, false)`, [
        name,
        `${keyId}:${Math.floor(Date.now() / 1000)}:${chosen.toString('hex')}:${'0'.repeat(64)}:${'0'.repeat(64)}`,
      ]);
      const sealed = await sealOn(c, org, { before: null, after: { chosen: false } });
      expect(parts(sealed).wrapped.equals(wrapped)).toBe(false);
      // Not under the chosen secret...
      await expect(
        openpgp.decrypt({
          message: await openpgp.readMessage({ binaryMessage: parts(sealed).sealed }),
          passwords: [chosen.toString('hex')],
        }),
      ).rejects.toThrow();
      // ...but under the organization's key, as always.
      expect(await unsealState(await privateKeyOf(t, org), sealed)).toEqual({
        before: null,
        after: { chosen: false },
      });
    } finally {
      await c.end();
    }
  });

  it('still opens a state sealed in the database as migration 003 sealed it (pgcrypto, straight to the public key)', async () => {
    const t = db();
    const org = await createOrg(t, { keyIndex: 1 });
    const state = { before: { cap: 1 }, after: { cap: 2, note: 'é' } };
    // 003's internal.seal_state, written out: what installations stored before 084.
    const legacy = (
      await t.superuser.query<{ c: Buffer }>(
        `select ext.pgp_pub_encrypt_bytea(convert_to($2::jsonb::text, 'UTF8'), k.public_key,
                  'cipher-algo=aes256, compress-algo=0') as c
           from core.organization_keys k where k.organization_id = $1 and k.retired_at is null`,
        [org.id, JSON.stringify(state)],
      )
    ).rows[0]!.c;
    expect(legacy.subarray(0, 4).toString('latin1')).not.toBe('AXS1');
    expect(await unsealState(await privateKeyOf(t, org), legacy)).toEqual(state);
  });

  it('still opens states sealed before migration 084 (a plain OpenPGP message to the public key)', async () => {
    const t = db();
    const org = await createOrg(t, { keyIndex: 1 });
    const legacy = await sealToPublicKey(
      inject('orgKeys')[1]!.publicKeyArmored,
      Buffer.from(JSON.stringify({ before: { a: 1 }, after: { a: 2 } }), 'utf8'),
    );
    expect(await unsealState(await privateKeyOf(t, org), legacy)).toEqual({
      before: { a: 1 },
      after: { a: 2 },
    });
  });
});
