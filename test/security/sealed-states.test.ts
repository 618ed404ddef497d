// Audit before/after states are sealed with the organization's public key inside the database; the
// plaintext appears nowhere in the tables, and only the application, holding the key-encryption key,
// can unwrap the organization's private key and read them.
import { describe, expect, inject, it } from 'vitest';
import { collect, exportRows } from '../../src/audit/export.js';
import { LocalKeyFile } from '../../src/security/kek.js';
import { unsealState, unwrapOrgKey } from '../../src/security/orgkeys.js';
import { useTestDatabase } from '../support/db.js';
import { createFacility, createOrg, createUser } from '../support/fixtures.js';

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
});
