// 21 CFR Part 11 e-signatures over HTTPS, end to end: WebAuthn enrollment and signing with a software
// authenticator (several keys per person, sign counter, another challenge), the password factor and
// §11.200 continuity, approving and rejecting a change request as signing it, and the refusals (a
// record changed since the challenge, another organization's record, the agent, an API token, a
// disabled person) — each attempt leaving its trace in the audit trail.
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import {
  agentSession,
  createFacility,
  createOrg,
  createUser,
  uniq,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';
import { useTestServer, type HttpClient } from '../support/http.js';
import { SoftwareAuthenticator } from '../support/webauthn-authenticator.js';

const s = useTestServer();

interface Cr {
  id: string;
  proposed_record_id: string;
  proposed_record_hash: string;
}
interface Challenge {
  id: string;
  record_id: string;
  record_hash: string;
  meaning: string;
  risk_tier: string;
  required_factors: string[][];
  identification_required: boolean;
  satisfied_factors: string[];
  expires_at: string;
  printed_name: string;
}
interface Signature {
  id: string;
  signer_id: string;
  signer_name: string;
  signer_email: string;
  meaning: string;
  record_id: string;
  record_hash: string;
  factors: string[];
  continuous: boolean;
  signed_at: string;
}
interface AuditEvent {
  event_type: string;
  reason: string | null;
  target_id: string | null;
  target_record_id: string | null;
  session_id: string | null;
}
interface SessionEvent {
  operation: string;
  outcome: string;
  error_code: string | null;
  session_id: string;
}

let org: TestOrg;
let site: string;
let adm: HttpClient;
let author: HttpClient;
let signerUser: TestUser;
let signerName: string;

async function browserFor(o: TestOrg, u: { email: string; password: string }): Promise<HttpClient> {
  const c = s().client();
  expect((await c.login(o.slug, u.email, u.password)).status).toBe(200);
  return c;
}

async function events(type: string): Promise<AuditEvent[]> {
  return (await adm.get<AuditEvent[]>(`/api/v1/audit/events?limit=200&event_type=${type}`)).body;
}

async function sessionEvents(principalId: string): Promise<SessionEvent[]> {
  return (
    await adm.get<SessionEvent[]>(
      `/api/v1/audit/session-events?limit=200&principal_id=${principalId}`,
    )
  ).body;
}

/** A change request, submitted for review: a facility policy (medium risk) or the signing policy (high). */
async function proposal(kind: 'policy' | 'signing_policy' = 'policy'): Promise<Cr> {
  const body =
    kind === 'policy'
      ? {
          facility_id: site,
          item_key: `p-${uniq()}`,
          content: { type: 'approval_rules', min: 1 },
          title: 'Approval rules',
          reason: 'e-signature test',
        }
      : {
          facility_id: null,
          item_key: `sp-${uniq()}`,
          content: {
            rules: [
              // Taking responsibility for a record now needs the password and a security key.
              {
                domain: '*',
                action: 'record_responsibility',
                risk_tier: '*',
                any_of: [['password', 'webauthn']],
              },
              {
                domain: '*',
                action: '*',
                risk_tier: 'high',
                any_of: [['webauthn'], ['oidc_reauth']],
              },
              { domain: '*', action: '*', risk_tier: '*', any_of: [['password']] },
            ],
          },
          title: 'Signing policy',
          reason: 'e-signature test',
        };
  const r = await author.post<Cr>(`/api/v1/records/${kind}`, body);
  expect(r.status).toBe(201);
  expect((await author.post(`/api/v1/change-requests/${r.body.id}/submit`)).status).toBe(200);
  return r.body;
}

async function challenge(c: HttpClient, cr: Cr, meaning = 'approved') {
  return await c.post<Challenge>('/api/v1/signatures/challenges', {
    target: { type: 'change_request', id: cr.id },
    meaning,
  });
}

beforeAll(async () => {
  const t = s().db;
  org = await createOrg(t);
  site = await createFacility(t, org);
  const authorUser = await createUser(t, org, [
    { domain: 'configuration', level: 'author', facility: null },
  ]);
  signerUser = await createUser(
    t,
    org,
    [{ domain: 'configuration', level: 'review', facility: null }],
    `sam-signer-${uniq()}`,
  );
  signerName = signerUser.email.split('@')[0]!;
  adm = await browserFor(org, org.admin);
  author = await browserFor(org, authorUser);
});

describe('WebAuthn over HTTPS with a software authenticator', () => {
  let signer: HttpClient;
  const key1 = () => new SoftwareAuthenticator(s().server.publicUrl);
  let first: SoftwareAuthenticator;
  let second: SoftwareAuthenticator;
  let approved: { challengeId: string; assertion: unknown };

  beforeAll(async () => {
    signer = await browserFor(org, signerUser);
    first = key1();
    second = key1();
  });

  async function enroll(a: SoftwareAuthenticator, name: string) {
    const o = await signer.post<{
      challenge_id: string;
      options: Parameters<SoftwareAuthenticator['create']>[0];
    }>('/api/v1/webauthn/registration/options');
    expect(o.status).toBe(200);
    return {
      options: o.body.options,
      result: await signer.post<{ id: string; credential_id: string; name: string }>(
        '/api/v1/webauthn/registration/verify',
        { challenge_id: o.body.challenge_id, name, response: a.create(o.body.options) },
      ),
    };
  }

  it('enrolls several authenticators for one person, and refuses an enrollment for another challenge', async () => {
    const one = await enroll(first, 'desk key');
    expect(one.result.status).toBe(201);
    const two = await enroll(second, 'backup key');
    expect(two.result.status).toBe(201);
    // The second enrollment was told not to re-register the first key.
    expect(two.options.excludeCredentials?.map((c) => c.id)).toEqual([
      one.result.body.credential_id,
    ]);
    const list = await signer.get<{ credentials: Array<{ name: string; revoked_at: null }> }>(
      '/api/v1/webauthn/credentials',
    );
    expect(list.body.credentials.map((c) => c.name).sort()).toEqual(['backup key', 'desk key']);

    // An attestation answering another enrollment's challenge.
    const a = await signer.post<{ challenge_id: string; options: { challenge: string } }>(
      '/api/v1/webauthn/registration/options',
    );
    const b = await signer.post<{
      challenge_id: string;
      options: Parameters<SoftwareAuthenticator['create']>[0];
    }>('/api/v1/webauthn/registration/options');
    const third = key1();
    const wrong = await signer.post('/api/v1/webauthn/registration/verify', {
      challenge_id: a.body.challenge_id,
      name: 'stolen',
      response: third.create(b.body.options),
    });
    expect(wrong.status).toBe(409);
    expect(wrong.body).toMatchObject({ reason: 'challenge_mismatch' });
    expect(
      (await signer.get<{ credentials: unknown[] }>('/api/v1/webauthn/credentials')).body
        .credentials,
    ).toHaveLength(2);
  });

  it('signs a high-risk change request (the signing policy) with a security key; the approved policy takes effect', async () => {
    const cr = await proposal('signing_policy');
    const responsibility = async () =>
      (
        await signer.post<Challenge>('/api/v1/signatures/challenges', {
          target: { type: 'record', id: cr.proposed_record_id, kind: 'signing_policy' },
          meaning: 'responsibility',
        })
      ).body;
    // The defaults: low risk needs the password.
    expect(await responsibility()).toMatchObject({
      risk_tier: 'low',
      required_factors: [['password']],
    });
    const ch = await challenge(signer, cr);
    expect(ch.status).toBe(201);
    expect(ch.body).toMatchObject({
      risk_tier: 'high',
      required_factors: [['webauthn'], ['oidc_reauth']],
    });
    // The password alone does not sign it.
    await signer.post(`/api/v1/signatures/challenges/${ch.body.id}/password`, {
      identification: signerUser.email,
      password: signerUser.password,
    });
    const early = await signer.post(`/api/v1/change-requests/${cr.id}/approve`, {
      record_hash: cr.proposed_record_hash,
      challenge_id: ch.body.id,
    });
    expect(early.status).toBe(401);
    expect(early.body).toMatchObject({ reason: 'factors_missing' });

    const options = await signer.post<Parameters<SoftwareAuthenticator['get']>[0]>(
      `/api/v1/signatures/challenges/${ch.body.id}/webauthn/options`,
    );
    expect(options.status).toBe(200);
    expect(options.body.allowCredentials).toHaveLength(2);
    const assertion = second.get(options.body);
    const answered = await signer.post<Challenge>(
      `/api/v1/signatures/challenges/${ch.body.id}/webauthn`,
      { response: assertion },
    );
    expect(answered.status).toBe(200);
    expect(answered.body.satisfied_factors).toEqual(['password', 'webauthn']);
    const approve = await signer.post<{ state: string }>(
      `/api/v1/change-requests/${cr.id}/approve`,
      { record_hash: cr.proposed_record_hash, challenge_id: ch.body.id },
    );
    expect(approve.status).toBe(200);
    expect(approve.body.state).toBe('approved');
    const sigs = await signer.get<{ signatures: Signature[] }>(
      `/api/v1/signatures?record_id=${cr.proposed_record_id}`,
    );
    expect(sigs.body.signatures).toEqual([
      expect.objectContaining({ meaning: 'approved', factors: ['password', 'webauthn'] }),
    ]);
    approved = { challengeId: ch.body.id, assertion };
    // The approved signing policy is in force: its rule for taking responsibility applies now.
    expect(await responsibility()).toMatchObject({ required_factors: [['password', 'webauthn']] });
  });

  it('refuses an assertion made for another challenge (a replayed answer), with an audit event', async () => {
    const cr = await proposal('signing_policy');
    const x = (await challenge(signer, cr)).body;
    const y = (await challenge(signer, cr)).body;
    const optionsX = await signer.post<Parameters<SoftwareAuthenticator['get']>[0]>(
      `/api/v1/signatures/challenges/${x.id}/webauthn/options`,
    );
    const forX = first.get(optionsX.body);
    for (const [assertion, target] of [
      [forX, y.id],
      [approved.assertion, y.id], // the answer that signed the previous approval
    ] as const) {
      const r = await signer.post(`/api/v1/signatures/challenges/${target}/webauthn`, {
        response: assertion,
      });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ reason: 'challenge_mismatch' });
      expect((await events('esignature.failed'))[0]).toMatchObject({
        reason: 'challenge_mismatch',
        target_id: y.id,
        target_record_id: cr.proposed_record_id,
      });
    }
    const yNow = await signer.get<Challenge>(`/api/v1/signatures/challenges/${y.id}`);
    expect(yNow.body.satisfied_factors).toEqual([]);
  });

  it('refuses an assertion whose sign counter did not move forward (a clone) and raises an alert', async () => {
    const cr = await proposal('signing_policy');
    const ch = (await challenge(signer, cr)).body;
    const options = await signer.post<Parameters<SoftwareAuthenticator['get']>[0]>(
      `/api/v1/signatures/challenges/${ch.id}/webauthn/options`,
    );
    const stored = second.credentials.values().next().value!.counter;
    // A copy of the second key, which has already signed with this counter.
    const cloned = second.get(options.body, { counter: stored });
    const r = await signer.post(`/api/v1/signatures/challenges/${ch.id}/webauthn`, {
      response: cloned,
    });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'conflict', reason: 'counter_replayed' });
    const alerts = await adm.get<{ alerts: Array<{ kind: string; severity: string }> }>(
      '/api/v1/alerts',
    );
    expect(alerts.body.alerts[0]).toMatchObject({
      kind: 'webauthn.counter_replayed',
      severity: 'critical',
    });
    expect((await events('webauthn.counter_replayed')).length).toBe(1);
    expect((await events('esignature.failed'))[0]).toMatchObject({ target_id: ch.id });
    // The genuine key, counting on, still signs.
    const genuine = await signer.post<Challenge>(
      `/api/v1/signatures/challenges/${ch.id}/webauthn`,
      {
        response: second.get(options.body),
      },
    );
    expect(genuine.status).toBe(200);
    expect(genuine.body.satisfied_factors).toEqual(['webauthn']);
  });
});

describe('signing with the password over HTTPS', () => {
  it('binds the challenge to the record and asks for every component first, the password later (§11.200)', async () => {
    const signer = await browserFor(org, signerUser);
    const cr1 = await proposal();
    const ch1 = await challenge(signer, cr1);
    expect(ch1.status).toBe(201);
    expect(ch1.body).toMatchObject({
      record_id: cr1.proposed_record_id,
      record_hash: cr1.proposed_record_hash,
      meaning: 'approved',
      risk_tier: 'medium',
      required_factors: [['password']],
      identification_required: true,
      printed_name: signerName,
    });
    const ttl = Date.parse(ch1.body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(4 * 60_000);
    expect(ttl).toBeLessThanOrEqual(5 * 60_000);
    const url = `/api/v1/signatures/challenges/${ch1.body.id}/password`;
    const passwordOnly = await signer.post(url, { password: signerUser.password });
    expect(passwordOnly.status).toBe(401);
    expect(passwordOnly.body).toMatchObject({ reason: 'identification_missing' });
    const someoneElse = await signer.post(url, {
      identification: org.admin.email,
      password: signerUser.password,
    });
    expect(someoneElse.status).toBe(401);
    expect(
      (await signer.post(url, { identification: signerUser.email, password: signerUser.password }))
        .status,
    ).toBe(200);
    const a1 = await signer.post<{ state: string }>(`/api/v1/change-requests/${cr1.id}/approve`, {
      record_hash: cr1.proposed_record_hash,
      challenge_id: ch1.body.id,
    });
    expect(a1.status).toBe(200);
    expect(a1.body.state).toBe('approved');

    // Within the continuous session: the password is enough.
    const cr2 = await proposal();
    const ch2 = await challenge(signer, cr2);
    expect(ch2.body.identification_required).toBe(false);
    expect(
      (
        await signer.post(`/api/v1/signatures/challenges/${ch2.body.id}/password`, {
          password: signerUser.password,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await signer.post(`/api/v1/change-requests/${cr2.id}/approve`, {
          record_hash: cr2.proposed_record_hash,
          challenge_id: ch2.body.id,
        })
      ).status,
    ).toBe(200);
    const [s1] = (
      await signer.get<{ signatures: Signature[] }>(
        `/api/v1/signatures?record_id=${cr1.proposed_record_id}`,
      )
    ).body.signatures;
    const [s2] = (
      await signer.get<{ signatures: Signature[] }>(
        `/api/v1/signatures?record_id=${cr2.proposed_record_id}`,
      )
    ).body.signatures;
    expect(s1).toMatchObject({
      signer_id: signerUser.id,
      signer_name: signerName,
      signer_email: signerUser.email,
      meaning: 'approved',
      record_id: cr1.proposed_record_id,
      record_hash: cr1.proposed_record_hash,
      factors: ['password'],
      continuous: false,
    });
    expect(s2).toMatchObject({ continuous: true, factors: ['password'] });
    expect(Math.abs(Date.parse(s1!.signed_at) - Date.now())).toBeLessThan(60_000);
    const v = await adm.get<{ valid: boolean }>(`/api/v1/signatures/${s1!.id}/verify`);
    expect(v.body.valid).toBe(true);

    // A new session is not continuous: every component again.
    const fresh = await browserFor(org, signerUser);
    const cr3 = await proposal();
    expect((await challenge(fresh, cr3)).body.identification_required).toBe(true);
  });

  it('rejects a change request by signing the rejection', async () => {
    const signer = await browserFor(org, signerUser);
    const cr = await proposal();
    const ch = await challenge(signer, cr, 'rejected');
    await signer.post(`/api/v1/signatures/challenges/${ch.body.id}/password`, {
      identification: signerUser.email,
      password: signerUser.password,
    });
    // A rejection's challenge does not approve.
    const wrongMeaning = await signer.post(`/api/v1/change-requests/${cr.id}/approve`, {
      record_hash: cr.proposed_record_hash,
      challenge_id: ch.body.id,
    });
    expect(wrongMeaning.status).toBe(409);
    expect(wrongMeaning.body).toMatchObject({ reason: 'challenge_mismatch' });
    const noSignature = await signer.post(`/api/v1/change-requests/${cr.id}/reject`, {
      record_hash: cr.proposed_record_hash,
      challenge_id: '00000000-0000-4000-8000-000000000000',
      reason: 'not without a signature',
    });
    expect(noSignature.status).toBe(404);
    const r = await signer.post<{ state: string }>(`/api/v1/change-requests/${cr.id}/reject`, {
      record_hash: cr.proposed_record_hash,
      challenge_id: ch.body.id,
      reason: 'the threshold is too low',
    });
    expect(r.status).toBe(200);
    expect(r.body.state).toBe('rejected');
    const sigs = await signer.get<{ signatures: Signature[] }>(
      `/api/v1/signatures?record_id=${cr.proposed_record_id}`,
    );
    expect(sigs.body.signatures).toEqual([
      expect.objectContaining({ meaning: 'rejected', signer_id: signerUser.id }),
    ]);
    expect((await events('esignature.applied'))[0]).toMatchObject({
      target_record_id: cr.proposed_record_id,
    });
  });

  it('refuses a wrong password (audited, counted toward the lockout) and a challenge used twice', async () => {
    const signer = await browserFor(org, signerUser);
    const cr = await proposal();
    const ch = (await challenge(signer, cr)).body;
    const wrong = await signer.post(`/api/v1/signatures/challenges/${ch.id}/password`, {
      identification: signerUser.email,
      password: 'not-the-password-at-all',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ reason: 'invalid_credentials' });
    expect((await events('esignature.failed'))[0]).toMatchObject({
      reason: 'wrong password',
      target_id: ch.id,
    });
    expect((await events('auth.login_failed'))[0]).toMatchObject({
      reason: 'wrong password at signing',
    });
    await signer.post(`/api/v1/signatures/challenges/${ch.id}/password`, {
      identification: signerUser.email,
      password: signerUser.password,
    });
    const body = { record_hash: cr.proposed_record_hash, challenge_id: ch.id };
    expect((await signer.post(`/api/v1/change-requests/${cr.id}/approve`, body)).status).toBe(200);
    const cr2 = await proposal();
    const again = await signer.post(`/api/v1/change-requests/${cr2.id}/approve`, {
      record_hash: cr2.proposed_record_hash,
      challenge_id: ch.id,
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ reason: 'challenge_used' });
  });

  it('refuses to sign a record that changed after the challenge; the signatures it had no longer verify', async () => {
    const signer = await browserFor(org, signerUser);
    const cr = await proposal();
    // A review signature on the proposed version, made before the change.
    const review = (
      await signer.post<Challenge>('/api/v1/signatures/challenges', {
        target: { type: 'record', id: cr.proposed_record_id, kind: 'policy' },
        meaning: 'reviewed',
      })
    ).body;
    await signer.post(`/api/v1/signatures/challenges/${review.id}/password`, {
      identification: signerUser.email,
      password: signerUser.password,
    });
    const reviewed = await signer.post<Signature>('/api/v1/signatures', {
      challenge_id: review.id,
    });
    expect(reviewed.status).toBe(201);
    expect(reviewed.body).toMatchObject({
      meaning: 'reviewed',
      record_hash: cr.proposed_record_hash,
    });
    expect(
      (await adm.get<{ valid: boolean }>(`/api/v1/signatures/${reviewed.body.id}/verify`)).body
        .valid,
    ).toBe(true);
    const ch = (await challenge(signer, cr)).body;
    await signer.post(`/api/v1/signatures/challenges/${ch.id}/password`, {
      identification: signerUser.email,
      password: signerUser.password,
    });
    // Someone with the superuser's power rewrites the proposed version after the challenge.
    const c = new pg.Client({ connectionString: connectionString(s().db.target('superuser')) });
    await c.connect();
    await c.query('begin');
    await c.query('set local session_replication_role = replica');
    await c.query(`update core.records set record_hash = sha256('changed') where record_id = $1`, [
      cr.proposed_record_id,
    ]);
    const changed = (
      await c.query<{ h: string }>(
        `update core.change_requests set proposed_record_hash = sha256('changed') where id = $1
         returning encode(proposed_record_hash, 'hex') as h`,
        [cr.id],
      )
    ).rows[0]!.h;
    await c.query('commit');
    await c.end();
    const r = await signer.post(`/api/v1/change-requests/${cr.id}/approve`, {
      record_hash: changed,
      challenge_id: ch.id,
    });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ reason: 'record_changed' });
    expect((await sessionEvents(signerUser.id))[0]).toMatchObject({
      operation: 'change_request.approve',
      outcome: 'error',
      error_code: 'record_changed',
    });
    const state = await adm.get<{ state: string }>(`/api/v1/change-requests/${cr.id}`);
    expect(state.body.state).toBe('in_review');
    // The review signature covered the version as it was: it no longer verifies.
    const v = await adm.get<{
      valid: boolean;
      record_unchanged: boolean;
      signature_hash_valid: boolean;
    }>(`/api/v1/signatures/${reviewed.body.id}/verify`);
    expect(v.body).toMatchObject({
      valid: false,
      record_unchanged: false,
      signature_hash_valid: true,
    });
    const chains = await adm.post<{
      intact: boolean;
      problems: Array<{ table: string; record_id: string; problem: string }>;
    }>('/api/v1/audit/verify');
    expect(chains.body.intact).toBe(false);
    expect(chains.body.problems).toContainEqual(
      expect.objectContaining({
        table: 'audit.signatures',
        record_id: reviewed.body.id,
        problem: 'record_missing',
      }),
    );
  });
});

describe('who may not sign', () => {
  it('refuses a person signing another organization’s record', async () => {
    const signer = await browserFor(org, signerUser);
    const other = await createOrg(s().db);
    const theirs = s().client();
    await theirs.login(other.slug, other.admin.email, other.admin.password);
    const cr = await theirs.post<Cr>('/api/v1/records/policy', {
      facility_id: null,
      item_key: `x-${uniq()}`,
      content: { type: 'approval_rules', min: 1 },
      title: 'theirs',
      reason: 'another organization',
    });
    expect(cr.status).toBe(201);
    for (const meaning of ['approved', 'reviewed']) {
      const r = await challenge(signer, cr.body, meaning);
      expect(r.status).toBe(404);
    }
    const record = await signer.post('/api/v1/signatures/challenges', {
      target: { type: 'record', id: cr.body.proposed_record_id, kind: 'policy' },
      meaning: 'responsibility',
    });
    expect(record.status).toBe(404);
    const mine = await sessionEvents(signerUser.id);
    expect(mine.slice(0, 3).every((e) => e.operation === 'esignature.challenge')).toBe(true);
    expect(mine.slice(0, 3).every((e) => e.outcome !== 'ok')).toBe(true);
  });

  it('refuses the agent and API tokens: signatures are made by a person in a signed-in session', async () => {
    const cr = await proposal();
    const agent = s().client();
    agent.bearer = (await agentSession(s().db, org)).token;
    const r = await challenge(agent, cr);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ reason: 'agent_cannot_sign' });
    const denied = (await events('authz.denied'))[0];
    expect(denied).toMatchObject({ reason: 'the agent never signs' });

    const signer = await browserFor(org, signerUser);
    const token = await signer.post<{ token: string }>('/api/v1/tokens', {
      name: 'automation',
      expires_in_days: 1,
    });
    const bot = s().client();
    bot.bearer = token.body.token;
    const t = await challenge(bot, cr);
    expect(t.status).toBe(403);
    expect(t.body).toMatchObject({ reason: 'token_cannot_sign' });
  });

  it('refuses a disabled person, and records the refused attempt', async () => {
    const t = s().db;
    const leaver = await createUser(t, org, [
      { domain: 'configuration', level: 'review', facility: null },
    ]);
    const c = await browserFor(org, leaver);
    const cr = await proposal();
    const ch = (await challenge(c, cr)).body;
    await c.post(`/api/v1/signatures/challenges/${ch.id}/password`, {
      identification: leaver.email,
      password: leaver.password,
    });
    expect(
      (await adm.post(`/api/v1/principals/${leaver.id}/disable`, { reason: 'left the company' }))
        .status,
    ).toBe(200);
    const r = await c.post(`/api/v1/change-requests/${cr.id}/approve`, {
      record_hash: cr.proposed_record_hash,
      challenge_id: ch.id,
    });
    expect(r.status).toBe(401);
    const trace = (await sessionEvents(leaver.id))[0];
    expect(trace).toMatchObject({
      operation: 'session.refused',
      outcome: 'denied',
      error_code: 'principal_disabled',
    });
    const state = await adm.get<{ state: string }>(`/api/v1/change-requests/${cr.id}`);
    expect(state.body.state).toBe('in_review');
    const sigs = await adm.get<{ signatures: Signature[] }>(
      `/api/v1/signatures?record_id=${cr.proposed_record_id}`,
    );
    expect(sigs.body.signatures).toEqual([]);
  });
});
