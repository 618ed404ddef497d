// Organizations, people and grants made through the api functions, as the product makes them.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { Caller } from '../../src/db/api.js';
import { LocalKeyFile } from '../../src/security/kek.js';
import { wrapOrgKey } from '../../src/security/orgkeys.js';
import type { TestDatabase } from './db.js';

export interface TestUser {
  id: string;
  email: string;
  password: string;
  token: string;
  caller: Caller;
}

export interface TestOrg {
  id: string;
  slug: string;
  admin: TestUser;
  agentId: string;
  keyIndex: number;
}

let keyCounter = 0;

export const uniq = (): string => randomBytes(4).toString('hex');

export async function login(
  t: TestDatabase,
  slug: string,
  email: string,
  password: string,
): Promise<string> {
  const r = await t.api.raw<{ token: string }>('session_login_password', [
    slug,
    email,
    password,
    '{}',
  ]);
  return r.token;
}

export async function createOrg(
  t: TestDatabase,
  opts: { slug?: string; tier?: 'starter' | 'growth' | 'enterprise'; keyIndex?: number } = {},
): Promise<TestOrg> {
  const keys = inject('orgKeys');
  const keyIndex = opts.keyIndex ?? keyCounter++ % keys.length;
  const slug = opts.slug ?? `org-${uniq()}`;
  const kek = LocalKeyFile.open(inject('cluster').kekFile);
  const password = `admin-password-${uniq()}`;
  const email = `admin@${slug}.example`;
  const created = await t.api.raw<{
    organization_id: string;
    admin_principal_id: string;
    agent_principal_id: string;
  }>('organization_bootstrap', [
    t.bootstrapSecret,
    {
      slug,
      name: `Org ${slug}`,
      plan_tier: opts.tier ?? 'growth',
      admin: { email, display_name: 'Ada Admin', password },
      key: await wrapOrgKey(kek, keys[keyIndex]!, `org:${slug}`),
    },
  ]);
  const token = await login(t, slug, email, password);
  return {
    id: created.organization_id,
    slug,
    agentId: created.agent_principal_id,
    keyIndex,
    admin: { id: created.admin_principal_id, email, password, token, caller: { token } },
  };
}

export async function createFacility(
  t: TestDatabase,
  org: TestOrg,
  slug = `fac-${uniq()}`,
  env: 'production' | 'staging' | 'development' = 'staging',
): Promise<string> {
  const f = await t.api.call<{ id: string }>(
    'facility_create',
    org.admin.caller,
    slug,
    `Facility ${slug}`,
    env,
  );
  return f.id;
}

export type GrantSpec = { domain: string; level: string; facility: string | null };

export async function createUser(
  t: TestDatabase,
  org: TestOrg,
  grants: GrantSpec[] = [],
  name = `user-${uniq()}`,
): Promise<TestUser> {
  const email = `${name}@${org.slug}.example`;
  // Ends with a letter: the denylist also checks the password without trailing digits and symbols,
  // and "password-12345678-87654321" would reduce to "password".
  const password = `password-${uniq()}-${uniq()}q`;
  // The administrator gives an initial password; the person replaces it at the first sign-in (019).
  const initial = `initial-${uniq()}-${uniq()}q`;
  const p = await t.api.call<{ id: string }>(
    'principal_create',
    org.admin.caller,
    email,
    name,
    initial,
  );
  for (const g of grants) {
    await t.api.call(
      'grant_create',
      org.admin.caller,
      p.id,
      g.domain,
      g.facility,
      g.level,
      'test fixture grant',
      null,
    );
  }
  const { token } = await t.api.raw<{ token: string }>('session_login_password_change', [
    org.slug,
    email,
    initial,
    password,
    '{}',
  ]);
  return { id: p.id, email, password, token, caller: { token } };
}

export async function agentSession(t: TestDatabase, org: TestOrg): Promise<Caller> {
  const r = await t.api.raw<{ token: string }>('agent_session_open', [t.workerSecret, org.id]);
  return { token: r.token };
}

/** Expect a promise to reject with an AppError of this code (and reason, when given). */
export async function refused(
  p: Promise<unknown>,
  code: string,
  reason?: string,
): Promise<{ code: string; reason?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: string; reason?: string; publicMessage?: string };
    if (err.code !== code || (reason !== undefined && err.reason !== reason)) {
      throw new Error(
        `expected ${code}${reason ? '/' + reason : ''}, got ${err.code}/${err.reason}: ${err.publicMessage ?? String(e)}`,
      );
    }
    return {
      code: err.code,
      ...(err.reason ? { reason: err.reason } : {}),
      message: err.publicMessage ?? '',
    };
  }
  throw new Error(
    `expected a refusal (${code}${reason ? '/' + reason : ''}), but the call succeeded`,
  );
}

export interface SignatureChallenge {
  id: string;
  satisfied_factors: string[];
  required_factors: string[][];
  identification_required: boolean;
  record_hash: string;
  record_id: string;
}

let credentialCounter = 0;

/**
 * Answer a signature challenge the way the product does: the password (verified in the database), or
 * an enrolled authenticator. This helper plays the server's part for WebAuthn (it holds the service
 * secret and reports a verified assertion); the WebAuthn cryptography itself is tested in
 * test/identity with a software authenticator.
 */
export async function signFor(
  t: TestDatabase,
  user: TestUser,
  target: { type: 'change_request' | 'record'; id: string; kind?: string },
  meaning: string,
): Promise<{ challenge_id: string }> {
  const ch = await t.api.call<SignatureChallenge>(
    'signature_challenge_create',
    user.caller,
    target,
    meaning,
  );
  if (ch.required_factors.some((set) => set.length === 1 && set[0] === 'password')) {
    await t.api.call(
      'signature_factor_password',
      user.caller,
      ch.id,
      ch.identification_required ? user.email : null,
      user.password,
    );
  } else {
    const creds = await t.api.call<Array<{ credential_id: string; revoked_at: string | null }>>(
      'webauthn_credential_list',
      user.caller,
    );
    let credentialId = creds.find((c) => !c.revoked_at)?.credential_id;
    if (!credentialId) {
      const begin = await t.api.call<{ challenge_id: string; challenge: string }>(
        'webauthn_registration_begin',
        user.caller,
      );
      credentialId = `test-credential-${++credentialCounter}-${uniq()}${uniq()}`;
      await t.api.call(
        'webauthn_registration_finish',
        user.caller,
        t.workerSecret,
        begin.challenge_id,
        {
          challenge: begin.challenge,
          credential_id: credentialId,
          public_key: Buffer.from(`public key ${credentialId}`).toString('base64'),
          sign_count: 0,
          transports: ['usb'],
          name: 'test key',
        },
      );
    }
    const options = await t.api.call<{
      credentials: Array<{ credential_id: string; sign_count: number }>;
    }>('signature_webauthn_options', user.caller, ch.id);
    const cred = options.credentials.find((c) => c.credential_id === credentialId)!;
    await t.api.call(
      'signature_factor_webauthn',
      user.caller,
      t.workerSecret,
      ch.id,
      credentialId,
      Number(cred.sign_count) + 1,
    );
  }
  return { challenge_id: ch.id };
}

/** Approve a change request with an e-signature. */
export async function approveChange<T = { state: string }>(
  t: TestDatabase,
  approver: TestUser,
  cr: { id: string; proposed_record_hash: string },
  comment: string | null = null,
): Promise<T> {
  const signature = await signFor(t, approver, { type: 'change_request', id: cr.id }, 'approved');
  return await t.api.call<T>(
    'change_request_approve',
    approver.caller,
    cr.id,
    cr.proposed_record_hash,
    signature,
    comment,
  );
}

export async function rejectChange<T = { state: string }>(
  t: TestDatabase,
  approver: TestUser,
  cr: { id: string; proposed_record_hash: string },
  reason: string,
): Promise<T> {
  const signature = await signFor(t, approver, { type: 'change_request', id: cr.id }, 'rejected');
  return await t.api.call<T>(
    'change_request_reject',
    approver.caller,
    cr.id,
    cr.proposed_record_hash,
    reason,
    signature,
  );
}
