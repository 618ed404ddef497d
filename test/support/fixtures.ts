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
  const password = `password-${uniq()}-${uniq()}`;
  const p = await t.api.call<{ id: string }>(
    'principal_create',
    org.admin.caller,
    email,
    name,
    password,
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
  const token = await login(t, org.slug, email, password);
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
