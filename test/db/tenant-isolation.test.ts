// DESIGN.md invariant 19: every api function, called as a user of organization A with identifiers of
// organization B, is refused or answers with A's data only — never B's. The list of api functions comes
// from the catalog, so a new function without a case here fails this test.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/db/api.js';
import { useTestDatabase } from '../support/db.js';
import {
  agentSession,
  createFacility,
  createOrg,
  createUser,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';

const db = useTestDatabase();

interface Tenant {
  org: TestOrg;
  facility: string;
  user: TestUser;
  grant: string;
  delegation: string;
  cr: {
    id: string;
    proposed_record_hash: string;
    target_item_id: string;
    proposed_record_id: string;
  };
  sessionId: string;
  agent: Caller;
}

let A: Tenant;
let B: Tenant;
const future = (): string => new Date(Date.now() + 86_400_000).toISOString();

async function tenant(t: ReturnType<typeof db>): Promise<Tenant> {
  const org = await createOrg(t);
  const facility = await createFacility(t, org);
  const user = await createUser(t, org, [
    { domain: 'configuration', level: 'review', facility },
    { domain: 'security', level: 'review', facility },
  ]);
  const peer = await createUser(t, org, []);
  const grants = await t.api.call<Array<{ id: string; domain: string }>>('grant_list', user.caller);
  const grant = grants.find((g) => g.domain === 'security')!.id;
  const delegation = (
    await t.api.call<{ id: string }>(
      'delegation_create',
      user.caller,
      grant,
      peer.id,
      'vertical',
      future(),
      'cover',
    )
  ).id;
  const cr = await t.api.call<Tenant['cr']>(
    'record_propose',
    org.admin.caller,
    'policy',
    null,
    null,
    'approval_rules',
    { type: 'approval_rules', min: 1 },
    'approval rules',
    'baseline',
  );
  const sessionId = (await t.api.call<{ session: { id: string } }>('session_whoami', user.caller))
    .session.id;
  return {
    org,
    facility,
    user,
    grant,
    delegation,
    cr,
    sessionId,
    agent: await agentSession(t, org),
  };
}

beforeAll(async () => {
  const t = db();
  // Organization-wide author/review for the admin (configuration) comes from the bootstrap grants.
  A = await tenant(t);
  B = await tenant(t);
});

function identifiersOf(x: Tenant): string[] {
  return [
    x.org.id,
    x.facility,
    x.user.id,
    x.grant,
    x.delegation,
    x.cr.id,
    x.cr.target_item_id,
    x.cr.proposed_record_id,
    x.sessionId,
    x.org.agentId,
    x.org.admin.id,
  ];
}

type Case = (t: ReturnType<typeof db>, a: Caller) => Promise<unknown>;

// One case per api function: A's caller, B's identifiers.
const cases: Record<string, Case> = {
  // Installation-level functions take an installation secret, not a session: a tenant's token is refused.
  organization_bootstrap: (t, a) => t.api.raw('organization_bootstrap', [a.token, { slug: 'x' }]),
  installation_verify: (t, a) => t.api.raw('installation_verify', [a.token]),
  agent_session_open: (t, a) => t.api.raw('agent_session_open', [a.token, B.org.id]),
  session_login_password: async (t) =>
    t.api.raw('session_login_password', [
      B.org.slug,
      A.org.admin.email,
      A.org.admin.password,
      '{}',
    ]),
  session_whoami: (t, a) => t.api.call('session_whoami', a),
  session_logout: async (t) => {
    const throwaway = await createUser(t, A.org);
    return t.api.call('session_logout', throwaway.caller);
  },
  session_revoke: (t, a) => t.api.call('session_revoke', a, B.sessionId, 'cross-tenant attempt'),
  session_list: (t, a) => t.api.call('session_list', a),
  api_token_create: (t, a) =>
    t.api.call('api_token_create', a, 'x', 1, [
      { domain: 'security', level: 'read', facility_id: B.facility },
    ]),
  facility_create: (t, a) => t.api.call('facility_create', a, `f-${Date.now()}`, 'new', 'staging'),
  facility_list: (t, a) => t.api.call('facility_list', a),
  principal_create: (t, a) =>
    t.api.call('principal_create', a, B.user.email, 'Same e-mail as in B', null),
  principal_list: (t, a) => t.api.call('principal_list', a),
  principal_disable: (t, a) =>
    t.api.call('principal_disable', a, B.user.id, 'cross-tenant attempt'),
  grant_create: (t, a) =>
    t.api.call('grant_create', a, B.user.id, 'security', B.facility, 'read', 'cross-tenant', null),
  grant_revoke: (t, a) => t.api.call('grant_revoke', a, B.grant, 'cross-tenant attempt'),
  grant_list: (t, a) => t.api.call('grant_list', a, B.user.id, true),
  grant_history: (t, a) => t.api.call('grant_history', a, B.grant),
  delegation_create: (t, a) =>
    t.api.call('delegation_create', a, B.grant, A.user.id, 'vertical', future(), 'cross-tenant'),
  record_propose: (t, a) =>
    t.api.call(
      'record_propose',
      a,
      'policy',
      B.facility,
      B.cr.target_item_id,
      null,
      { type: 'x' },
      'cross',
      'cross-tenant',
    ),
  record_get: (t, a) => t.api.call('record_get', a, 'policy', B.cr.target_item_id),
  record_list: (t, a) => t.api.call('record_list', a, 'policy', B.facility),
  change_request_submit: (t, a) => t.api.call('change_request_submit', a, B.cr.id),
  change_request_review: (t, a) =>
    t.api.call('change_request_review', a, B.cr.id, B.cr.proposed_record_hash, 'looks fine'),
  change_request_approve: (t, a) =>
    t.api.call('change_request_approve', a, B.cr.id, B.cr.proposed_record_hash, null, null),
  change_request_reject: (t, a) =>
    t.api.call(
      'change_request_reject',
      a,
      B.cr.id,
      B.cr.proposed_record_hash,
      'cross-tenant',
      null,
    ),
  change_request_withdraw: (t, a) =>
    t.api.call('change_request_withdraw', a, B.cr.id, 'cross-tenant'),
  change_request_get: (t, a) => t.api.call('change_request_get', a, B.cr.id),
  change_request_list: (t, a) => t.api.call('change_request_list', a, null, B.facility),
  audit_event_list: (t, a) => t.api.call('audit_event_list', a, { target_id: B.grant }),
  session_event_list: (t, a) => t.api.call('session_event_list', a, { principal_id: B.user.id }),
  chain_verify: (t, a) => t.api.call('chain_verify', a),
  audit_export: (t, a) => t.api.call('audit_export', a, 'audit_events', null, 5000),
  organization_key_get: (t, a) => t.api.call('organization_key_get', a),
};

describe('tenant isolation', () => {
  it('has a case for every api function', async () => {
    const t = db();
    const fns = (
      await t.superuser.query<{ name: string }>(
        `select distinct proname as name from pg_proc where pronamespace = 'api'::regnamespace order by 1`,
      )
    ).rows.map((r) => r.name);
    expect(fns.filter((f) => !(f in cases))).toEqual([]);
    expect(Object.keys(cases).filter((f) => !fns.includes(f))).toEqual([]);
  });

  for (const [fn, c] of Object.entries(cases)) {
    it(`${fn}: refused or A's data only, as A's administrator and as A's agent`, async () => {
      const t = db();
      for (const caller of [A.org.admin.caller, A.user.caller, A.agent]) {
        const outcome = await c(t, caller).then(
          (data) => ({ ok: true as const, data }),
          (e: { code?: string }) => ({ ok: false as const, code: e.code }),
        );
        if (outcome.ok) {
          const text = JSON.stringify(outcome.data);
          for (const id of identifiersOf(B)) expect(text, `${fn} leaked ${id}`).not.toContain(id);
        } else {
          expect([
            'not_found',
            'forbidden',
            'rule_violation',
            'invalid_input',
            'unauthenticated',
            'conflict',
          ]).toContain(outcome.code);
        }
      }
      // And B's state is untouched.
      const bCr = await t.api.call<{ state: string }>(
        'change_request_get',
        B.org.admin.caller,
        B.cr.id,
      );
      expect(bCr.state).toBe('draft');
      const bGrants = await t.api.call<Array<{ id: string }>>('grant_list', B.user.caller);
      expect(bGrants.map((g) => g.id)).toContain(B.grant);
      await t.api.call('session_whoami', B.user.caller);
    });
  }

  it('keeps the audit trail and export of A free of B (and the other way round)', async () => {
    const t = db();
    for (const [me, other] of [
      [A, B],
      [B, A],
    ] as const) {
      const rows = await t.api.call<{ rows: unknown[] }>(
        'audit_export',
        me.org.admin.caller,
        'audit_events',
        null,
        5000,
      );
      const text = JSON.stringify(rows);
      expect(text).toContain(me.org.id);
      for (const id of identifiersOf(other)) expect(text).not.toContain(id);
    }
  });
});
