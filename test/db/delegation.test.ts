// DESIGN.md invariants 9 and 10: delegation rules, every refusal tried for real.
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { useTestDatabase } from '../support/db.js';
import {
  agentSession,
  approveChange,
  createFacility,
  createOrg,
  createUser,
  refused,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';

const db = useTestDatabase();
const inDays = (d: number): string => new Date(Date.now() + d * 86_400_000).toISOString();

interface World {
  org: TestOrg;
  siteA: string;
  siteB: string;
  holder: TestUser; // configuration:review at A
  peer: TestUser; // configuration:review at B
  lowPeer: TestUser; // configuration:author at B
  tech: TestUser; // nothing
  holderGrant: string;
}

let w: World;

async function grantOf(
  t: ReturnType<typeof db>,
  user: TestUser,
  facility: string,
  domain = 'configuration',
): Promise<string> {
  const grants = await t.api.call<Array<{ id: string; facility_id: string; domain: string }>>(
    'grant_list',
    user.caller,
  );
  return grants.find((g) => g.facility_id === facility && g.domain === domain)!.id;
}

async function inForce(
  t: ReturnType<typeof db>,
  user: TestUser,
): Promise<Array<{ facility_id: string; level: string; delegation_type: string | null }>> {
  const me = await t.api.call<{
    grants: Array<{ facility_id: string; level: string; delegation_type: string | null }>;
  }>('session_whoami', user.caller);
  return me.grants;
}

/** As a superuser with triggers bypassed: move a grant's validity window (time travel for tests). */
async function age(t: ReturnType<typeof db>, grantId: string, validUntil: string): Promise<void> {
  const c = new pg.Client({ connectionString: connectionString(t.target('superuser')) });
  await c.connect();
  await c.query('begin');
  await c.query(`set local session_replication_role = replica`);
  await c.query(
    `update core.grants set valid_from = $2::timestamptz - interval '1 day', valid_until = $2 where id = $1`,
    [grantId, validUntil],
  );
  await c.query('commit');
  await c.end();
}

beforeAll(async () => {
  const t = db();
  const org = await createOrg(t);
  const siteA = await createFacility(t, org, 'site-a', 'production');
  const siteB = await createFacility(t, org, 'site-b', 'staging');
  const holder = await createUser(
    t,
    org,
    [{ domain: 'configuration', level: 'review', facility: siteA }],
    'holder',
  );
  const peer = await createUser(
    t,
    org,
    [{ domain: 'configuration', level: 'review', facility: siteB }],
    'peer',
  );
  const lowPeer = await createUser(
    t,
    org,
    [{ domain: 'configuration', level: 'author', facility: siteB }],
    'lowpeer',
  );
  const tech = await createUser(t, org, [], 'tech');
  w = {
    org,
    siteA,
    siteB,
    holder,
    peer,
    lowPeer,
    tech,
    holderGrant: await grantOf(t, holder, siteA),
  };
});

describe('horizontal delegation', () => {
  it('hands the holder’s level at the holder’s facility to a peer who holds it elsewhere', async () => {
    const t = db();
    const d = await t.api.call<{
      id: string;
      level: string;
      facility_id: string;
      source_grant_id: string;
    }>(
      'delegation_create',
      w.holder.caller,
      w.holderGrant,
      w.peer.id,
      'horizontal',
      inDays(5),
      'covering the review queue while on leave',
    );
    expect(d).toMatchObject({
      level: 'review',
      facility_id: w.siteA,
      source_grant_id: w.holderGrant,
    });
    expect(
      (await inForce(t, w.peer)).some(
        (g) => g.facility_id === w.siteA && g.delegation_type === 'horizontal',
      ),
    ).toBe(true);
    // It shares the source grant's audit trail.
    const history = await t.api.call<{
      delegations: Array<{ id: string }>;
      events: Array<{ event_type: string }>;
    }>('grant_history', w.org.admin.caller, w.holderGrant);
    expect(history.delegations.map((x) => x.id)).toContain(d.id);
    expect(history.events.map((e) => e.event_type)).toContain('delegation.created');
    await t.api.call('grant_revoke', w.holder.caller, d.id, 'back from leave');
  });

  it('is refused when the delegate does not hold the same or a higher level at another facility', async () => {
    const t = db();
    await refused(
      t.api.call(
        'delegation_create',
        w.holder.caller,
        w.holderGrant,
        w.lowPeer.id,
        'horizontal',
        inDays(2),
        'cover',
      ),
      'rule_violation',
      'horizontal_requires_peer',
    );
    await refused(
      t.api.call(
        'delegation_create',
        w.holder.caller,
        w.holderGrant,
        w.tech.id,
        'horizontal',
        inDays(2),
        'cover',
      ),
      'rule_violation',
      'horizontal_requires_peer',
    );
  });
});

describe('vertical delegation', () => {
  it('hands exactly one level lower at the same facility and domain', async () => {
    const t = db();
    const d = await t.api.call<{ level: string; facility_id: string; domain: string; id: string }>(
      'delegation_create',
      w.holder.caller,
      w.holderGrant,
      w.tech.id,
      'vertical',
      inDays(3),
      'data entry for the audit week',
    );
    expect(d).toMatchObject({ level: 'author', facility_id: w.siteA, domain: 'configuration' });
    await t.api.call('grant_revoke', w.holder.caller, d.id, 'done');
  });

  it('is refused from a read grant (there is no lower level)', async () => {
    const t = db();
    const reader = await createUser(t, w.org, [
      { domain: 'audit', level: 'read', facility: w.siteA },
    ]);
    const g = await grantOf(t, reader, w.siteA, 'audit');
    await refused(
      t.api.call('delegation_create', reader.caller, g, w.tech.id, 'vertical', inDays(1), 'cover'),
      'rule_violation',
      'wrong_level',
    );
  });
});

describe('every delegation refusal', () => {
  it('needs an expiry, within the organization’s maximum, and a reason', async () => {
    const t = db();
    await refused(
      t.api.call(
        'delegation_create',
        w.holder.caller,
        w.holderGrant,
        w.tech.id,
        'vertical',
        null,
        'reason',
      ),
      'invalid_input',
      'missing_expiry',
    );
    await refused(
      t.api.call(
        'delegation_create',
        w.holder.caller,
        w.holderGrant,
        w.tech.id,
        'vertical',
        inDays(15),
        'reason',
      ),
      'rule_violation',
      'expiry_beyond_policy',
    );
    await refused(
      t.api.call(
        'delegation_create',
        w.holder.caller,
        w.holderGrant,
        w.tech.id,
        'vertical',
        inDays(-1),
        'reason',
      ),
      'invalid_input',
      'invalid_expiry',
    );
    await refused(
      t.api.call(
        'delegation_create',
        w.holder.caller,
        w.holderGrant,
        w.tech.id,
        'vertical',
        inDays(1),
        '',
      ),
      'invalid_input',
      'missing_reason',
    );
    await refused(
      t.api.call(
        'delegation_create',
        w.holder.caller,
        w.holderGrant,
        w.tech.id,
        'vertical',
        inDays(1),
        null,
      ),
      'invalid_input',
      'missing_reason',
    );
    await refused(
      t.api.call(
        'delegation_create',
        w.holder.caller,
        w.holderGrant,
        w.tech.id,
        'sideways',
        inDays(1),
        'reason',
      ),
      'invalid_input',
      'invalid_delegation_type',
    );
  });

  it('refuses self-delegation, delegating someone else’s grant, and re-delegation', async () => {
    const t = db();
    await refused(
      t.api.call(
        'delegation_create',
        w.holder.caller,
        w.holderGrant,
        w.holder.id,
        'vertical',
        inDays(1),
        'to myself',
      ),
      'rule_violation',
      'self_delegation',
    );
    await refused(
      t.api.call(
        'delegation_create',
        w.tech.caller,
        w.holderGrant,
        w.peer.id,
        'horizontal',
        inDays(1),
        'steal',
      ),
      'forbidden',
      'not_source_holder',
    );
    const d = await t.api.call<{ id: string }>(
      'delegation_create',
      w.holder.caller,
      w.holderGrant,
      w.tech.id,
      'vertical',
      inDays(1),
      'entry',
    );
    await refused(
      t.api.call(
        'delegation_create',
        w.tech.caller,
        d.id,
        w.lowPeer.id,
        'vertical',
        inDays(1),
        'pass it on',
      ),
      'rule_violation',
      're_delegation',
    );
    await t.api.call('grant_revoke', w.holder.caller, d.id, 'done');
  });

  it('refuses the agent as delegator and as delegate', async () => {
    const t = db();
    await refused(
      t.api.call(
        'delegation_create',
        w.holder.caller,
        w.holderGrant,
        w.org.agentId,
        'vertical',
        inDays(1),
        'automate',
      ),
      'forbidden',
      'agent_delegation',
    );
    const agent = await agentSession(t, w.org);
    const agentGrants = await t.api.call<
      Array<{ id: string; domain: string; facility_id: string }>
    >('grant_list', agent);
    const security = agentGrants.find((g) => g.domain === 'security' && g.facility_id === w.siteA)!;
    await refused(
      t.api.call('delegation_create', agent, security.id, w.tech.id, 'vertical', inDays(1), 'help'),
      'forbidden',
      'agent_delegation',
    );
  });

  it('refuses delegating a revoked or expired source, and organization-wide grants', async () => {
    const t = db();
    const temp = await createUser(t, w.org, [
      { domain: 'security', level: 'review', facility: w.siteA },
    ]);
    const g = await grantOf(t, temp, w.siteA, 'security');
    await age(t, g, new Date(Date.now() - 1000).toISOString());
    await refused(
      t.api.call('delegation_create', temp.caller, g, w.tech.id, 'vertical', inDays(1), 'cover'),
      'rule_violation',
      'source_not_in_force',
    );
    const adminGrants = await t.api.call<Array<{ id: string; facility_id: string | null }>>(
      'grant_list',
      w.org.admin.caller,
    );
    await refused(
      t.api.call(
        'delegation_create',
        w.org.admin.caller,
        adminGrants.find((x) => x.facility_id === null)!.id,
        w.tech.id,
        'vertical',
        inDays(1),
        'cover',
      ),
      'rule_violation',
      'source_org_wide',
    );
  });

  it('refuses delegating a source grant that was revoked, and writes no grant', async () => {
    const t = db();
    const holder = await createUser(t, w.org, [
      { domain: 'cost', level: 'review', facility: w.siteA },
    ]);
    const g = await grantOf(t, holder, w.siteA, 'cost');
    await t.api.call('grant_revoke', w.org.admin.caller, g, 'moved on');
    const before = (
      await t.superuser.query<{ n: number }>(
        'select count(*)::int as n from core.grants where source_grant_id = $1',
        [g],
      )
    ).rows[0]!.n;
    await refused(
      t.api.call('delegation_create', holder.caller, g, w.tech.id, 'vertical', inDays(1), 'cover'),
      'rule_violation',
      'source_not_in_force',
    );
    const after = (
      await t.superuser.query<{ n: number }>(
        'select count(*)::int as n from core.grants where source_grant_id = $1',
        [g],
      )
    ).rows[0]!.n;
    expect({ before, after }).toEqual({ before: 0, after: 0 });
  });

  it('ends a delegation when it expires, and when its source is revoked or expires', async () => {
    const t = db();
    const src = await createUser(t, w.org, [
      { domain: 'drift', level: 'review', facility: w.siteA },
    ]);
    const g = await grantOf(t, src, w.siteA, 'drift');
    const delegate = await createUser(t, w.org, []);
    const has = async (): Promise<boolean> =>
      (await inForce(t, delegate)).some((x) => x.facility_id === w.siteA);

    const d1 = await t.api.call<{ id: string }>(
      'delegation_create',
      src.caller,
      g,
      delegate.id,
      'vertical',
      inDays(2),
      'cover',
    );
    expect(await has()).toBe(true);
    await age(t, d1.id, new Date(Date.now() - 1000).toISOString()); // the delegation itself expires
    expect(await has()).toBe(false);

    await t.api.call(
      'delegation_create',
      src.caller,
      g,
      delegate.id,
      'vertical',
      inDays(2),
      'cover again',
    );
    expect(await has()).toBe(true);
    await t.api.call('grant_revoke', w.org.admin.caller, g, 'source revoked');
    expect(await has()).toBe(false); // dies with its source
  });

  it('actually confers (and stops conferring) the delegated power at the function layer', async () => {
    const t = db();
    // The peer cannot approve at site A until the holder delegates horizontally.
    const author = await createUser(t, w.org, [
      { domain: 'configuration', level: 'author', facility: w.siteA },
    ]);
    const cr = await t.api.call<{ id: string; proposed_record_hash: string }>(
      'record_propose',
      author.caller,
      'policy',
      w.siteA,
      null,
      'tagging',
      { type: 'tag_baseline', required: ['Owner'] },
      'require owner tags',
      'tag governance',
    );
    await t.api.call('change_request_submit', author.caller, cr.id);
    await refused(
      t.api.call(
        'change_request_approve',
        w.peer.caller,
        cr.id,
        cr.proposed_record_hash,
        null,
        null,
      ),
      'forbidden',
      'missing_grant',
    );
    const d = await t.api.call<{ id: string }>(
      'delegation_create',
      w.holder.caller,
      w.holderGrant,
      w.peer.id,
      'horizontal',
      inDays(1),
      'cover',
    );
    await t.api.call('grant_revoke', w.holder.caller, d.id, 'changed my mind');
    await refused(
      t.api.call(
        'change_request_approve',
        w.peer.caller,
        cr.id,
        cr.proposed_record_hash,
        null,
        null,
      ),
      'forbidden',
      'missing_grant',
    );
    await t.api.call(
      'delegation_create',
      w.holder.caller,
      w.holderGrant,
      w.peer.id,
      'horizontal',
      inDays(1),
      'cover',
    );
    const approved = await approveChange(t, w.peer, cr);
    expect(approved.state).toBe('approved');
  });
});

describe('the rules hold below the functions (direct inserts as axiom_definer)', () => {
  async function asDefiner(
    t: ReturnType<typeof db>,
    sql: string,
    params: unknown[],
  ): Promise<string | null> {
    const c = new pg.Client({ connectionString: connectionString(t.target('superuser')) });
    await c.connect();
    try {
      await c.query('begin');
      await c.query('set local role axiom_definer');
      await c.query(`select set_config('axiom.session_token', $1, true)`, [w.org.admin.token]);
      return await c.query(sql, params).then(
        () => null,
        (e: { code?: string; detail?: string }) => `${e.code}/${e.detail}`,
      );
    } finally {
      await c.query('rollback').catch(() => {});
      await c.end();
    }
  }
  const insert = `insert into core.grants (organization_id, principal_id, domain, facility_id, level, granted_by, reason, valid_until, delegation_type, source_grant_id)
                  values ($1, $2, $3, $4, $5, $6, 'direct', now() + interval '1 day', $7, $8)`;

  it('refuses a delegation at another facility, of another domain, or two levels down', async () => {
    const t = db();
    expect(
      await asDefiner(t, insert, [
        w.org.id,
        w.tech.id,
        'configuration',
        w.siteB,
        'author',
        w.holder.id,
        'vertical',
        w.holderGrant,
      ]),
    ).toBe('AX422/wrong_facility');
    expect(
      await asDefiner(t, insert, [
        w.org.id,
        w.tech.id,
        'security',
        w.siteA,
        'author',
        w.holder.id,
        'vertical',
        w.holderGrant,
      ]),
    ).toBe('AX422/wrong_domain');
    expect(
      await asDefiner(t, insert, [
        w.org.id,
        w.tech.id,
        'configuration',
        w.siteA,
        'operate',
        w.holder.id,
        'vertical',
        w.holderGrant,
      ]),
    ).toBe('AX422/wrong_level');
    expect(
      await asDefiner(t, insert, [
        w.org.id,
        w.peer.id,
        'configuration',
        w.siteA,
        'author',
        w.holder.id,
        'horizontal',
        w.holderGrant,
      ]),
    ).toBe('AX422/wrong_level');
    expect(
      await asDefiner(t, insert, [
        w.org.id,
        w.tech.id,
        'configuration',
        w.siteA,
        'author',
        w.peer.id,
        'vertical',
        w.holderGrant,
      ]),
    ).toBe('AX403/not_source_holder');
  });

  it('refuses self-grants and the agent holding review or granting', async () => {
    const t = db();
    const direct = `insert into core.grants (organization_id, principal_id, domain, facility_id, level, granted_by, reason)
                    values ($1, $2, $3, $4, $5, $6, 'direct')`;
    expect(
      await asDefiner(t, direct, [
        w.org.id,
        w.holder.id,
        'security',
        w.siteA,
        'review',
        w.holder.id,
      ]),
    ).toMatch(/^23514\//);
    expect(
      await asDefiner(t, direct, [
        w.org.id,
        w.org.agentId,
        'security',
        w.siteA,
        'review',
        w.org.admin.id,
      ]),
    ).toBe('AX403/agent_level_forbidden');
    expect(
      await asDefiner(t, direct, [
        w.org.id,
        w.org.agentId,
        'configuration',
        w.siteA,
        'author',
        w.org.admin.id,
      ]),
    ).toBe('AX403/agent_level_forbidden');
    expect(
      await asDefiner(t, direct, [w.org.id, w.tech.id, 'security', w.siteA, 'read', w.org.agentId]),
    ).toBe('AX403/agent_cannot_grant');
  });
});

describe('grant administration', () => {
  it('is authorized and audited: only configuration:review grants, never to oneself', async () => {
    const t = db();
    await refused(
      t.api.call(
        'grant_create',
        w.holder.caller,
        w.holder.id,
        'security',
        w.siteA,
        'review',
        'promote myself',
        null,
      ),
      'forbidden',
    );
    await refused(
      t.api.call(
        'grant_create',
        w.org.admin.caller,
        w.org.admin.id,
        'security',
        w.siteA,
        'review',
        'promote myself',
        null,
      ),
      'forbidden',
      'self_grant',
    );
    await refused(
      t.api.call(
        'grant_create',
        w.tech.caller,
        w.tech.id,
        'security',
        w.siteA,
        'read',
        'please',
        null,
      ),
      'forbidden',
      'missing_grant',
    );
    const g = await t.api.call<{ id: string }>(
      'grant_create',
      w.org.admin.caller,
      w.tech.id,
      'cost',
      w.siteB,
      'operate',
      'runs scans',
      null,
    );
    const events = await t.api.call<Array<{ event_type: string; target_id: string }>>(
      'audit_event_list',
      w.org.admin.caller,
      { target_id: g.id },
    );
    expect(events.map((e) => e.event_type)).toEqual(['grant.created']);
    const denied = await t.api.call<Array<{ event_type: string; details: string }>>(
      'audit_event_list',
      w.org.admin.caller,
      { event_type: 'authz.denied' },
    );
    expect(denied.length).toBeGreaterThan(0);
  });
});
