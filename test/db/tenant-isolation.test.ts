// DESIGN.md invariant 19: every api function, called as a user of organization A with identifiers of
// organization B, is refused or answers with A's data only — never B's. The list of api functions comes
// from the catalog, so a new function without a case here fails this test.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { setExecutionRole } from '../../src/cloud/connections.js';
import type { Caller } from '../../src/db/api.js';
import { useTestDatabase } from '../support/db.js';
import { activeConnection, connectionDeps } from '../support/scans.js';
import {
  agentSession,
  createFacility,
  createOrg,
  createUser,
  signFor,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';

const db = useTestDatabase();

interface Tenant {
  providerId: string;
  credentialId: string;
  challengeId: string;
  signatureId: string;
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
  connectionId: string;
  findingId: string;
  externalId: string;
  scanId: string;
  dataKeyId: string;
  planId: string;
  executionId: string;
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
  const provider = await t.api.call<{ id: string }>('sso_provider_configure', org.admin.caller, {
    kind: 'oidc',
    name: 'Corporate IdP',
    issuer: 'https://idp.example.test',
    client_id: `client-${org.slug}`,
  });
  const target = { type: 'record' as const, id: cr.proposed_record_id, kind: 'policy' };
  const signed = await signFor(t, org.admin, target, 'responsibility');
  const signature = await t.api.call<{ id: string }>(
    'signature_create',
    org.admin.caller,
    signed.challenge_id,
  );
  const begin = await t.api.call<{ challenge_id: string; challenge: string }>(
    'webauthn_registration_begin',
    org.admin.caller,
  );
  const credential = await t.api.call<{ id: string }>(
    'webauthn_registration_finish',
    org.admin.caller,
    t.workerSecret,
    begin.challenge_id,
    {
      challenge: begin.challenge,
      credential_id: `cred-${org.slug}-0123456789abcdef`,
      public_key: Buffer.from('public key bytes').toString('base64'),
      sign_count: 0,
      name: 'key',
    },
  );
  const challenge = await t.api.call<{ id: string }>(
    'signature_challenge_create',
    org.admin.caller,
    target,
    'reviewed',
  );
  // A connection (active), a queued scan and the organization's data key.
  const conn = await activeConnection(t, org, facility, {
    accountId: '123456789012',
    roleArn: 'arn:aws:iam::123456789012:role/R',
  });
  // A scan the agent ran and reconciled findings from, then a queued one (B's, for the probes).
  const ran = await t.api.call<{ id: string }>('scan_start', org.admin.caller, conn.id, 'manual');
  const agent = await agentSession(t, org);
  await t.api.call('scan_claim', agent, ran.id);
  await t.api.call(
    'finding_sync',
    agent,
    facility,
    conn.id,
    ran.id,
    ['ec2'],
    [
      {
        check_id: 'sg_open_ssh',
        resource_arn: `arn:aws:ec2:us-east-1:${org.id.slice(0, 12)}:security-group/sg-${org.slug}`,
        resource_type: 'AWS::EC2::SecurityGroup',
        resource_id: `sg-${org.slug}`,
        region: 'us-east-1',
        evidence: { rules: [] },
      },
    ],
  );
  const findingId = (
    await t.api.call<{ items: Array<{ id: string }> }>('finding_list', user.caller, {
      facility_id: facility,
    })
  ).items[0]!.id;
  await t.api.call('scan_finish', agent, ran.id, 'succeeded', [], {}, [], false);
  const scan = await t.api.call<{ id: string }>('scan_start', org.admin.caller, conn.id, 'manual');
  // A plan the agent proposed, approved with a signature, and its execution (queued).
  await setExecutionRole(
    connectionDeps(t),
    user.caller,
    conn.id,
    'security',
    'arn:aws:iam::123456789012:role/AxiomExecutionSecurity',
  );
  const plan = await t.api.call<{
    id: string;
    change_request: { id: string; proposed_record_hash: string };
  }>(
    'plan_propose',
    agent,
    facility,
    planContent(conn.id, org.slug),
    'close a bucket',
    'public bucket',
  );
  const planSig = await signFor(
    t,
    user,
    { type: 'change_request', id: plan.change_request.id },
    'approved',
  );
  await t.api.call(
    'change_request_approve',
    user.caller,
    plan.change_request.id,
    plan.change_request.proposed_record_hash,
    planSig,
    null,
  );
  const execution = await t.api.call<{ id: string }>('execution_start', agent, plan.id);
  return {
    planId: plan.id,
    executionId: execution.id,
    connectionId: conn.id,
    externalId: conn.external_ids[0]!.external_id,
    scanId: scan.id,
    dataKeyId: conn.dataKeyId,
    org,
    facility,
    user,
    findingId,
    grant,
    delegation,
    cr,
    sessionId,
    agent,
    providerId: provider.id,
    credentialId: credential.id,
    challengeId: challenge.id,
    signatureId: signature.id,
  };
}

beforeAll(async () => {
  const t = db();
  // Organization-wide author/review for the admin (configuration) comes from the bootstrap grants.
  A = await tenant(t);
  B = await tenant(t);
});

function planContent(connectionId: string, slug: string): Record<string, unknown> {
  const bucket = `bucket-${slug}`;
  return {
    connection_id: connectionId,
    action_class: 'security',
    steps: [
      {
        actionId: 's3.put_bucket_public_access_block',
        resourceArn: `arn:aws:s3:::${bucket}`,
        params: { bucket, region: 'us-east-1' },
        approvedState: { publicAccessBlock: null },
      },
    ],
    rollback_summary: ['delete the block again'],
  };
}

function identifiersOf(x: Tenant): string[] {
  return [
    x.planId,
    x.executionId,
    x.providerId,
    x.credentialId,
    x.challengeId,
    x.signatureId,
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
    x.connectionId,
    x.findingId,
    x.externalId,
    x.scanId,
    x.dataKeyId,
  ];
}

type Case = (t: ReturnType<typeof db>, a: Caller) => Promise<unknown>;

// One case per api function: A's caller, B's identifiers.
const cases: Record<string, Case> = {
  // Installation-level functions take an installation secret, not a session: a tenant's token is refused.
  organization_bootstrap: (t, a) => t.api.raw('organization_bootstrap', [a.token, { slug: 'x' }]),
  installation_verify: (t, a) => t.api.raw('installation_verify', [a.token]),
  agent_session_open: (t, a) => t.api.raw('agent_session_open', [a.token, B.org.id]),
  session_login_password_change: (t) =>
    t.api.raw('session_login_password_change', [
      B.org.slug,
      A.org.admin.email,
      A.org.admin.password,
      'another-long-password-1',
      '{}',
    ]),
  password_change: (t, a) =>
    t.api.call('password_change', a, 'not-the-current-password', 'a-new-long-password-2'),
  session_revoke_all: async (t) => {
    const throwaway = await createUser(t, A.org);
    return t.api.call('session_revoke_all', throwaway.caller);
  },
  organization_settings_update: (t, a) =>
    t.api.call('organization_settings_update', a, { lockout_threshold: 7 }),
  organization_get: (t, a) => t.api.call('organization_get', a),
  alert_list: (t, a) => t.api.call('alert_list', a, 100),
  domain_verify: (t, a) =>
    t.api.call('domain_verify', a, `d${Date.now()}.example.org`, 'DNS checked'),
  domain_list: (t, a) => t.api.call('domain_list', a),
  sso_provider_configure: (t, a) =>
    t.api.call('sso_provider_configure', a, {
      kind: 'oidc',
      name: 'x',
      issuer: 'https://x.test',
      client_id: 'x',
      default_grants: [{ domain: 'security', level: 'read', facility_id: B.facility }],
    }),
  sso_provider_disable: (t, a) =>
    t.api.call('sso_provider_disable', a, B.providerId, 'cross-tenant'),
  sso_provider_list: (t, a) => t.api.call('sso_provider_list', a),
  // The service-secret functions trust the server; a tenant's token is not that secret.
  sso_provider_for_login: (t, a) =>
    t.api.raw('sso_provider_for_login', [a.token, B.org.slug, B.providerId]),
  sso_request_begin: (t, a) =>
    t.api.raw('sso_request_begin', [
      a.token,
      B.providerId,
      { purpose: 'login', state: 'x'.repeat(32), nonce: 'n'.repeat(32) },
    ]),
  sso_request_consume: (t, a) =>
    t.api.raw('sso_request_consume', [a.token, B.providerId, 'x'.repeat(32)]),
  session_login_sso: (t, a) =>
    t.api.raw('session_login_sso', [
      a.token,
      B.providerId,
      { subject: 's', email: B.user.email, email_verified: true },
      '{}',
    ]),
  sso_cli_handoff_create: (t, a) =>
    t.api.raw('sso_cli_handoff_create', [
      a.token,
      B.providerId,
      B.providerId,
      { subject: 's', email: B.user.email, email_verified: true },
    ]),
  session_login_sso_cli: (t, a) =>
    t.api.raw('session_login_sso_cli', [
      a.token,
      `${B.providerId}.axc_${'a'.repeat(43)}`,
      'v'.repeat(43),
      '{}',
    ]),
  webauthn_registration_begin: (t, a) => t.api.call('webauthn_registration_begin', a),
  webauthn_registration_finish: (t, a) =>
    t.api.call('webauthn_registration_finish', a, t.workerSecret, B.challengeId, {
      credential_id: 'x'.repeat(20),
      public_key: 'AAAAAAAAAAAAAAAAAAAAAA==',
    }),
  webauthn_credential_list: (t, a) => t.api.call('webauthn_credential_list', a, B.org.admin.id),
  webauthn_credential_revoke: (t, a) =>
    t.api.call('webauthn_credential_revoke', a, B.credentialId, 'cross-tenant'),
  signature_challenge_create: (t, a) =>
    t.api.call(
      'signature_challenge_create',
      a,
      { type: 'change_request', id: B.cr.id },
      'approved',
    ),
  signature_factor_password: (t, a) =>
    t.api.call('signature_factor_password', a, B.challengeId, null, 'whatever-password'),
  signature_webauthn_options: (t, a) => t.api.call('signature_webauthn_options', a, B.challengeId),
  signature_factor_webauthn: (t, a) =>
    t.api.call('signature_factor_webauthn', a, t.workerSecret, B.challengeId, 'x'.repeat(20), 5),
  signature_factor_oidc: (t, a) =>
    t.api.raw('signature_factor_oidc', [
      a.token,
      B.challengeId,
      B.org.admin.id,
      B.providerId,
      's',
      new Date().toISOString(),
    ]),
  signature_challenge_get: (t, a) => t.api.call('signature_challenge_get', a, B.challengeId),
  // With the real service secret too: B's challenge is not A's to refuse.
  signature_factor_webauthn_refused: (t, a) =>
    t.api.call('signature_factor_webauthn_refused', a, t.workerSecret, B.challengeId, 'probe'),
  sso_response_refused: async (t, a) => {
    await expect(
      t.api.raw('sso_response_refused', [a.token, B.providerId, B.challengeId, 'probe']),
    ).rejects.toMatchObject({ code: 'unauthenticated' });
    // The secret, A's provider and an id of B: nothing of A's was consumed under that id.
    return await t.api.raw('sso_response_refused', [
      t.workerSecret,
      A.providerId,
      B.challengeId,
      'probe',
    ]);
  },
  signature_create: (t, a) => t.api.call('signature_create', a, B.challengeId),
  signature_verify: (t, a) => t.api.call('signature_verify', a, B.signatureId),
  signature_list: (t, a) => t.api.call('signature_list', a, B.cr.proposed_record_id),
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
  audit_export: (t, a) => t.api.call('audit_export', a, 'signatures', null, 20000, 'jsonl'),
  audit_retention_get: (t, a) => t.api.call('audit_retention_get', a),
  audit_legal_hold_set: (t, a) => t.api.call('audit_legal_hold_set', a, true, 'cross-tenant probe'),
  audit_checkpoint_heads: (t, a) => t.api.call('audit_checkpoint_heads', a),
  // The service-secret functions trust the server; a tenant's token is not that secret.
  maintenance_organizations: (t, a) => t.api.raw('maintenance_organizations', [a.token]),
  retention_archive: (t, a) => t.api.raw('retention_archive', [a.token, B.org.id]),
  checkpoint_heads: (t, a) => t.api.raw('checkpoint_heads', [a.token, B.org.id]),
  checkpoint_record: (t, a) =>
    t.api.raw('checkpoint_record', [
      a.token,
      B.org.id,
      {
        id: B.org.id,
        created_at: '2026-01-01T00:00:00Z',
        root: '0'.repeat(64),
        key_id: '0'.repeat(16),
        heads: 1,
        location: 'forged',
      },
    ]),
  compliance_controls: (t, a) => t.api.call('compliance_controls', a),
  compliance_report: (t, a) =>
    t.api.call(
      'compliance_report',
      a,
      'CC6.1',
      '2000-01-01T00:00:00Z',
      '2100-01-01T00:00:00Z',
      null,
      5000,
    ),
  organization_key_get: (t, a) => t.api.call('organization_key_get', a),
  finding_sync: (t, a) =>
    t.api.call('finding_sync', a, B.facility, B.connectionId, randomUUID(), ['ec2'], []),
  finding_list: (t, a) =>
    t.api.call('finding_list', a, { facility_id: B.facility, connection_id: B.connectionId }),
  finding_get: (t, a) => t.api.call('finding_get', a, B.findingId),
  finding_counts: (t, a) => t.api.call('finding_counts', a, { facility_id: B.facility }),
  finding_acknowledge: (t, a) => t.api.call('finding_acknowledge', a, B.findingId, 'cross-tenant'),
  finding_suppress: (t, a) =>
    t.api.call('finding_suppress', a, B.findingId, 'cross-tenant', future()),
  finding_unsuppress: (t, a) => t.api.call('finding_unsuppress', a, B.findingId, 'cross-tenant'),
  finding_configuration: (t, a) => t.api.call('finding_configuration', a, B.facility),
  // Cloud (issue 5): B's connection, scan and data key, through A's sessions.
  data_key_get: (t, a) => t.api.call('data_key_get', a),
  data_key_create: (t, a) =>
    t.api.call('data_key_create', a, sealedDummy, 'local:0123456789abcdef', '0'.repeat(32)),
  data_key_rewrap: (t, a) =>
    t.api.call(
      'data_key_rewrap',
      a,
      B.dataKeyId,
      sealedDummy,
      'local:0123456789abcdef',
      '0'.repeat(32),
    ),
  organization_kms_key_set: (t, a) =>
    t.api.call(
      'organization_kms_key_set',
      a,
      'arn:aws:kms:us-east-1:123456789012:key/abc',
      B.dataKeyId,
      sealedDummy,
      '0'.repeat(32),
    ),
  connection_create: (t, a) =>
    t.api.call(
      'connection_create',
      a,
      crypto.randomUUID(),
      B.facility,
      '123456789012',
      'x',
      sealedDummy,
      B.dataKeyId,
      {},
    ),
  connection_get: (t, a) => t.api.call('connection_get', a, B.connectionId),
  connection_list: (t, a) => t.api.call('connection_list', a, B.facility),
  connection_credentials: (t, a) => t.api.call('connection_credentials', a, B.connectionId, 'test'),
  connection_test_result: (t, a) =>
    t.api.call(
      'connection_test_result',
      a,
      B.connectionId,
      false,
      { code: 'x' },
      sealedDummy,
      B.dataKeyId,
    ),
  connection_rotate_external_id: (t, a) =>
    t.api.call('connection_rotate_external_id', a, B.connectionId, 0),
  connection_disconnect: (t, a) =>
    t.api.call('connection_disconnect', a, B.connectionId, 'cross-tenant'),
  connection_execution_role_set: (t, a) =>
    t.api.call(
      'connection_execution_role_set',
      a,
      B.connectionId,
      'cost',
      sealedDummy,
      B.dataKeyId,
    ),
  scan_start: (t, a) => t.api.call('scan_start', a, B.connectionId, 'manual'),
  scan_claim: (t, a) => t.api.call('scan_claim', a, B.scanId),
  scan_progress: (t, a) => t.api.call('scan_progress', a, B.scanId, { units_done: 1 }),
  scan_ingest: (t, a) => t.api.call('scan_ingest', a, B.scanId, []),
  scan_finish: (t, a) => t.api.call('scan_finish', a, B.scanId, 'failed', [], {}, [], true),
  scan_get: (t, a) => t.api.call('scan_get', a, B.scanId),
  scan_list: (t, a) => t.api.call('scan_list', a, B.connectionId, 10),
  scan_changes: (t, a) => t.api.call('scan_changes', a, B.scanId, null, 10),
  inventory_list: (t, a) => t.api.call('inventory_list', a, B.connectionId, {}, null, 10),
  cloud_call_refused: (t, a) =>
    t.api.call('cloud_call_refused', a, B.connectionId, B.scanId, 's3', 'GetObject'),
  // Plans, executions and memory (issue 7): B's plan and execution through A's sessions.
  plan_propose: (t, a) =>
    t.api.call(
      'plan_propose',
      a,
      B.facility,
      planContent(B.connectionId, 'x'),
      'cross',
      'cross-tenant',
    ),
  plan_revise: (t, a) =>
    t.api.call('plan_revise', a, B.planId, planContent(B.connectionId, 'y'), 'cross-tenant'),
  plan_get: (t, a) => t.api.call('plan_get', a, B.planId),
  plan_list: (t, a) => t.api.call('plan_list', a, B.facility, null),
  plan_approval_revoke: (t, a) => t.api.call('plan_approval_revoke', a, B.planId, 'cross-tenant'),
  execution_start: (t, a) => t.api.call('execution_start', a, B.planId),
  execution_progress: (t, a) =>
    t.api.call(
      'execution_progress',
      a,
      B.executionId,
      { version: 1, executionId: B.executionId, status: 'running', steps: [{}] },
      null,
    ),
  execution_finish: (t, a) =>
    t.api.call('execution_finish', a, B.executionId, 'failed', {
      version: 1,
      executionId: B.executionId,
      status: 'failed',
      steps: [{}],
    }),
  execution_get: (t, a) => t.api.call('execution_get', a, B.executionId),
  execution_list: (t, a) => t.api.call('execution_list', a, B.facility, B.planId),
  execution_rollback_request: (t, a) =>
    t.api.call('execution_rollback_request', a, B.executionId, 'cross-tenant'),
  memory_get: (t, a) => t.api.call('memory_get', a, null),
};

const sealedDummy = Buffer.alloc(48, 7).toString('base64');

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
      const bFinding = await t.api.call<{ status: string; version: number }>(
        'finding_get',
        B.user.caller,
        B.findingId,
      );
      expect(bFinding).toMatchObject({ status: 'open', version: 1 });
      const bConn = await t.api.call<{ status: string; external_ids: unknown[] }>(
        'connection_get',
        B.org.admin.caller,
        B.connectionId,
      );
      expect(bConn.status).toBe('active');
      expect(bConn.external_ids).toHaveLength(1);
      expect(
        (await t.api.call<{ status: string }>('scan_get', B.org.admin.caller, B.scanId)).status,
      ).toBe('queued');
      expect(
        await t.api.call<{ status: string; progress: unknown }>(
          'execution_get',
          B.user.caller,
          B.executionId,
        ),
      ).toMatchObject({ status: 'queued', progress: null });
      expect(
        await t.api.call<{ version: number; state: string }>('plan_get', B.user.caller, B.planId),
      ).toMatchObject({ version: 1, state: 'effective' });
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
