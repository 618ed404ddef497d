// The demo organization, created through the api functions exactly as a customer's administrators
// would: two facilities, people with different grants, a delegation, and controlled records with
// several versions and change requests in every state.
import { randomBytes } from 'node:crypto';
import type { Api, Caller } from '../db/api.js';
import type { KekProvider } from '../security/kek.js';
import { generateOrgKeyPair, wrapOrgKey, type OrgKeyPair } from '../security/orgkeys.js';
import { answerWithPassword, requestSignature } from '../identity/signatures.js';

export interface DemoPerson {
  email: string;
  password: string;
  name: string;
  id: string;
}

export interface DemoSeed {
  organization: { id: string; slug: string; name: string };
  facilities: Record<'prod' | 'staging', { id: string; slug: string }>;
  admin: DemoPerson;
  people: DemoPerson[];
  agentPrincipalId: string;
  apiToken: string;
  changeRequests: Array<{ id: string; state: string; title: string }>;
}

const password = (): string => `demo-${randomBytes(12).toString('base64url')}`;

export async function seedDemo(
  api: Api,
  opts: {
    bootstrapSecret: string;
    kek: KekProvider;
    slug: string;
    keyPair?: OrgKeyPair;
    keyBits?: 2048 | 3072 | 4096;
  },
): Promise<DemoSeed> {
  const pair = opts.keyPair ?? (await generateOrgKeyPair(opts.keyBits ?? 3072));
  const adminPassword = password();
  const adminEmail = `admin@${opts.slug}.example.com`;
  const created = await api.raw<{
    organization_id: string;
    admin_principal_id: string;
    agent_principal_id: string;
  }>('organization_bootstrap', [
    opts.bootstrapSecret,
    {
      slug: opts.slug,
      name: 'Acme Cloud (demo)',
      plan_tier: 'growth',
      admin: { email: adminEmail, display_name: 'Avery Admin', password: adminPassword },
      key: await wrapOrgKey(opts.kek, pair, `org:${opts.slug}`),
    },
  ]);
  const signIn = async (email: string, pw: string): Promise<Caller> => ({
    token: (
      await api.raw<{ token: string }>('session_login_password', [
        opts.slug,
        email,
        pw,
        { user_agent: 'axiom demo seed' },
      ])
    ).token,
  });
  // Approving or rejecting is signing: a challenge bound to the proposed version, answered with the password.
  const signature = async (
    who: { session: Caller; email: string; password: string },
    crId: string,
    meaning: 'approved' | 'rejected',
  ): Promise<{ challenge_id: string }> => {
    const ch = await requestSignature(
      api,
      who.session,
      { type: 'change_request', id: crId },
      meaning,
    );
    await answerWithPassword(api, who.session, ch, { email: who.email, password: who.password });
    return { challenge_id: ch.id };
  };
  const admin = await signIn(adminEmail, adminPassword);

  const prod = await api.call<{ id: string; slug: string }>(
    'facility_create',
    admin,
    'prod-eu',
    'Production (eu-west-1)',
    'production',
  );
  const staging = await api.call<{ id: string; slug: string }>(
    'facility_create',
    admin,
    'staging',
    'Staging',
    'staging',
  );

  const people: DemoPerson[] = [];
  const person = async (
    handle: string,
    name: string,
    grants: Array<[string, string, string | null]>,
  ): Promise<DemoPerson> => {
    const pw = password();
    const email = `${handle}@${opts.slug}.example.com`;
    // The administrator gives an initial password; a password someone else set must be replaced by
    // its owner before it signs in (§11.200(a)(3)). For the demo, the seed plays each person's first
    // sign-in and chooses the password it prints.
    const initial = password();
    const p = await api.call<{ id: string }>('principal_create', admin, email, name, initial);
    const first = await api.raw<{ token: string }>('session_login_password_change', [
      opts.slug,
      email,
      initial,
      pw,
      '{}',
    ]);
    await api.call('session_logout', { token: first.token });
    for (const [domain, level, facility] of grants) {
      await api.call(
        'grant_create',
        admin,
        p.id,
        domain,
        facility,
        level,
        `demo: ${name} works in ${domain}`,
        null,
      );
    }
    const d = { email, password: pw, name, id: p.id };
    people.push(d);
    return d;
  };
  const alice = await person('alice', 'Alice Reviewer', [
    ['security', 'review', prod.id],
    ['cost', 'review', prod.id],
    ['security', 'review', staging.id],
    ['configuration', 'review', staging.id],
  ]);
  const bob = await person('bob', 'Bob Author', [
    ['security', 'author', prod.id],
    ['cost', 'author', staging.id],
    ['configuration', 'author', prod.id],
    ['configuration', 'author', staging.id],
  ]);
  const carol = await person('carol', 'Carol Approver', [
    ['configuration', 'review', prod.id],
    ['drift', 'review', prod.id],
  ]);
  // Olivia runs the demo's cloud account end to end: she connects it, opts in the execution roles,
  // starts scans and approves plans in every domain at both facilities (the agent authors the plans,
  // so she is never approving her own work).
  await person('olivia', 'Olivia Operator', [
    ['configuration', 'review', prod.id],
    ['configuration', 'review', staging.id],
    ['security', 'review', prod.id],
    ['security', 'review', staging.id],
    ['cost', 'review', prod.id],
    ['cost', 'review', staging.id],
    ['drift', 'review', prod.id],
    ['drift', 'review', staging.id],
  ]);
  await person('dave', 'Dave Auditor', [
    ['audit', 'read', null],
    ['cost', 'operate', staging.id],
  ]);

  // Alice covers Carol's configuration reviews at prod-eu while Carol is away (horizontal delegation).
  const carolSession = await signIn(carol.email, carol.password);
  const carolGrants = await api.call<
    Array<{ id: string; domain: string; facility_id: string | null }>
  >('grant_list', carolSession);
  const carolConfig = carolGrants.find(
    (g) => g.domain === 'configuration' && g.facility_id === prod.id,
  )!;
  await api.call(
    'delegation_create',
    carolSession,
    carolConfig.id,
    alice.id,
    'horizontal',
    new Date(Date.now() + 7 * 86_400_000).toISOString(),
    'Carol is on leave; Alice covers the prod-eu configuration reviews',
  );

  // Controlled records: a blast-radius policy with three approved versions, one change in review,
  // one rejected, and a facility configuration change.
  const bobSession = await signIn(bob.email, bob.password);
  const aliceSession = await signIn(alice.email, alice.password);
  type Cr = {
    id: string;
    state: string;
    title: string;
    proposed_record_hash: string;
    target_item_id: string;
  };
  const changeRequests: Cr[] = [];
  const propose = async (
    kind: string,
    facility: string,
    item: string | null,
    key: string | null,
    content: object,
    title: string,
    reason: string,
  ): Promise<Cr> => {
    const cr = await api.call<Cr>(
      'record_propose',
      bobSession,
      kind,
      facility,
      item,
      key,
      content,
      title,
      reason,
    );
    await api.call('change_request_submit', bobSession, cr.id);
    changeRequests.push(cr);
    return cr;
  };
  let item: string | null = null;
  for (const [cap, title] of [
    [10, 'Initial blast-radius limit for production'],
    [5, 'Lower the production blast radius to 5'],
    [2, 'Production changes touch at most 2 resources'],
  ] as const) {
    const cr = await propose(
      'policy',
      prod.id,
      item,
      item ? null : 'blast_radius',
      { type: 'blast_radius', max_resources: cap },
      title,
      'change advisory board',
    );
    item = cr.target_item_id;
    // Alice approves under her delegation.
    const approver =
      cap === 5 ? { session: aliceSession, ...alice } : { session: carolSession, ...carol };
    const done = await api.call<Cr>(
      'change_request_approve',
      approver.session,
      cr.id,
      cr.proposed_record_hash,
      await signature(approver, cr.id, 'approved'),
      'approved in the weekly CAB',
    );
    changeRequests[changeRequests.length - 1] = done;
  }
  const pending = await propose(
    'policy',
    prod.id,
    item,
    null,
    { type: 'blast_radius', max_resources: 1 },
    'One resource at a time',
    'after the October incident',
  );
  await api.call(
    'change_request_review',
    aliceSession,
    pending.id,
    pending.proposed_record_hash,
    'Reasonable; needs Carol’s sign-off',
  );
  const tags = await propose(
    'policy',
    staging.id,
    null,
    'required_tags',
    { type: 'required_tags', tags: ['Owner', 'CostCenter'] },
    'Require Owner and CostCenter tags',
    'cost allocation',
  );
  const rejected = await api.call<Cr>(
    'change_request_reject',
    aliceSession,
    tags.id,
    tags.proposed_record_hash,
    'Add Environment to the list first',
    await signature({ session: aliceSession, ...alice }, tags.id, 'rejected'),
  );
  changeRequests[changeRequests.length - 1] = rejected;

  const token = await api.call<{ token: string }>(
    'api_token_create',
    admin,
    'demo CLI token',
    30,
    null,
  );
  const states = await Promise.all(
    changeRequests.map(async (c) =>
      api
        .call<Cr>('change_request_get', admin, c.id)
        .then((x) => ({ id: x.id, state: x.state, title: x.title })),
    ),
  );
  return {
    organization: { id: created.organization_id, slug: opts.slug, name: 'Acme Cloud (demo)' },
    facilities: {
      prod: { id: prod.id, slug: prod.slug },
      staging: { id: staging.id, slug: staging.slug },
    },
    admin: {
      email: adminEmail,
      password: adminPassword,
      name: 'Avery Admin',
      id: created.admin_principal_id,
    },
    people,
    agentPrincipalId: created.agent_principal_id,
    apiToken: token.token,
    changeRequests: states,
  };
}
