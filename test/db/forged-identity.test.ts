// DESIGN.md invariants 4 and 5: the identity the database acts on comes from a credential it checks
// itself. Setting every setting the functions read, without a valid session, shows and changes nothing.
import { createHmac, randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { useTestDatabase } from '../support/db.js';
import { createFacility, createOrg, refused } from '../support/fixtures.js';

const db = useTestDatabase();

// Every custom setting the database reads (grep current_setting in db/migrations), besides the
// per-connection caches axiom.seen_<n> and axiom.seal_<organization>, which decide nothing about who
// sees what (test/db/fast-paths.test.ts, test/security/sealed-states.test.ts).
const settings = [
  'axiom.session_token',
  'axiom.context',
  'axiom.identity',
  'axiom.reason',
  'axiom.seeding_defaults',
];

async function reportingCount(client: pg.Client): Promise<Record<string, number>> {
  const tables = (
    await client.query<{ t: string }>(
      `select n.nspname || '.' || c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('core', 'audit') and c.relkind in ('r', 'p') and has_table_privilege(c.oid, 'select')`,
    )
  ).rows.map((r) => r.t);
  const out: Record<string, number> = {};
  for (const t of tables)
    out[t] = (await client.query<{ n: number }>(`select count(*)::int as n from ${t}`)).rows[0]!.n;
  return out;
}

describe('forged identity', () => {
  it('shows nothing to a reader who sets every setting by hand but holds no valid session', async () => {
    const t = db();
    const org = await createOrg(t);
    await createFacility(t, org);
    const client = new pg.Client({
      connectionString: connectionString(t.target('axiom_reporting')),
    });
    await client.connect();
    try {
      // Baseline: with a real session token the reporting role sees its organization's rows.
      await client.query(`select set_config('axiom.session_token', $1, false)`, [org.admin.token]);
      const real = await reportingCount(client);
      expect(real['core.organizations']).toBe(1);
      expect(real['audit.audit_events']).toBeGreaterThan(5);

      const forgeries: Array<Record<string, string>> = [
        { 'axiom.session_token': '' },
        { 'axiom.session_token': 'axs_' + 'A'.repeat(43) },
        {
          'axiom.session_token':
            org.admin.token.slice(0, -1) + (org.admin.token.endsWith('A') ? 'B' : 'A'),
        },
        { 'axiom.context': `${org.id}:1:${'0'.repeat(64)}` },
        // A well-formed context with a MAC under a key the attacker guessed.
        {
          'axiom.context': `${org.id}:${1000}:${createHmac('sha256', Buffer.alloc(32)).update(`${org.id}:1000`).digest('hex')}`,
        },
        { 'axiom.context': org.id },
        { 'axiom.reason': 'x', 'axiom.seeding_defaults': 'on' },
        Object.fromEntries(settings.map((s) => [s, org.id])),
      ];
      for (const forged of forgeries) {
        await client.query('begin');
        await client.query(`select set_config('axiom.session_token', '', true)`);
        for (const [k, v] of Object.entries(forged))
          await client.query(`select set_config($1, $2, true)`, [k, v]);
        const seen = await reportingCount(client);
        expect({ forged, seen: Object.values(seen).reduce((a, b) => a + b, 0) }).toEqual({
          forged,
          seen: 0,
        });
        await client.query('rollback');
      }
    } finally {
      await client.end();
    }
  });

  it('writes nothing for a caller who forges settings and then calls the api', async () => {
    const t = db();
    const org = await createOrg(t);
    const facility = await createFacility(t, org);
    const before = (await t.superuser.query('select count(*)::int as n from core.grants')).rows[0]
      .n;
    const client = new pg.Client({ connectionString: connectionString(t.target('axiom_user')) });
    await client.connect();
    try {
      await client.query('begin');
      for (const s of settings) await client.query(`select set_config($1, $2, true)`, [s, org.id]);
      await client.query(`select set_config('axiom.session_token', $1, true)`, [org.admin.token]);
      // The api call's own token is what counts: a junk one is refused even though the forged setting holds a real one.
      const r = await client.query(
        `select api.grant_create($1, $2, 'security', $3, 'review', 'forged', null) as r`,
        [JSON.stringify({ token: 'axs_' + 'x'.repeat(43) }), org.admin.id, facility],
      );
      expect(r.rows[0].r.ok).toBe(false);
      expect(r.rows[0].r.error.sqlstate).toBe('AX401');
      await client.query('commit');
    } finally {
      await client.end();
    }
    const after = (await t.superuser.query('select count(*)::int as n from core.grants')).rows[0].n;
    expect(after).toBe(before);
  });

  it('does not accept a bare user id or organization id as a credential', async () => {
    const t = db();
    const org = await createOrg(t);
    await refused(t.api.call('session_whoami', { token: org.admin.id }), 'unauthenticated');
    await refused(t.api.call('session_whoami', { token: org.id }), 'unauthenticated');
    await refused(
      t.api.call('session_whoami', { token: randomUUID() + randomUUID() }),
      'unauthenticated',
    );
  });

  it('refuses an expired or idle session even though its token is genuine', async () => {
    const t = db();
    const org = await createOrg(t);
    // Age the session as a superuser would have to (no runtime role can write these columns backwards).
    await t.superuser.query(
      `update core.sessions set last_seen_at = now() - interval '31 minutes' where principal_id = $1`,
      [org.admin.id],
    );
    await refused(t.api.call('session_whoami', org.admin.caller), 'unauthenticated');
    await t.superuser.query(
      `update core.sessions set last_seen_at = now(), expires_at = now() - interval '1 second', created_at = now() - interval '1 day'
        where principal_id = $1`,
      [org.admin.id],
    );
    await refused(t.api.call('session_whoami', org.admin.caller), 'unauthenticated');
  });
});
