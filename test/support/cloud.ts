// Cloud test helpers: the sandbox cloud in-process, Axiom's cloud dependencies on the per-file test
// database, and customer roles created through the real IAM API with the customer's admin key.
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, inject } from 'vitest';
import type { CloudDeps } from '../../src/cloud/connections.js';
import type { PolicyDocument } from '../../src/cloud/inventory.js';
import { scanPermissionsPolicy, trustPolicy } from '../../src/cloud/policies.js';
import type { Api } from '../../src/db/api.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { DataKeys } from '../../src/security/datakeys.js';
import { LocalKeyFile } from '../../src/security/kek.js';
import { KekRing } from '../../src/security/kms.js';
import type { TestDatabase } from './db.js';

export function useSandbox(opts: SandboxOptions = {}): () => Sandbox {
  let sb: Sandbox | undefined;
  beforeAll(async () => {
    sb = await startSandbox({
      accounts: [{ seed: 'cloud-test', size: 60, regions: ['us-east-1', 'eu-west-1'] }],
      delays: { snapshotMs: 0, instanceTransitionMs: 0, volumeModificationMs: 0 },
      ...opts,
    });
  });
  afterAll(async () => {
    await sb?.stop();
  });
  return () => {
    if (!sb) throw new Error('the sandbox is not ready');
    return sb;
  };
}

export function cloudDeps(api: Api, sb: Sandbox): CloudDeps {
  return {
    api,
    dataKeys: new DataKeys(api, new KekRing(LocalKeyFile.open(inject('cluster').kekFile))),
    settings: {
      endpointUrl: sb.endpoint,
      platformAccountId: sb.platform.accountId,
      platformCredentials: sb.platform.credentials,
    },
  };
}

function adminIam(sb: Sandbox, accountId: string): IAMClient {
  const acct = sb.accounts.find((a) => a.accountId === accountId)!;
  return new IAMClient({
    endpoint: sb.endpoint,
    region: 'us-east-1',
    credentials: acct.adminCredentials,
  });
}

/** Create a role as the customer would, with Axiom's generated policies unless told otherwise. */
export async function customerRole(
  sb: Sandbox,
  accountId: string,
  opts: {
    name: string;
    externalIds: string[];
    trust?: PolicyDocument;
    permissions?: PolicyDocument;
    managed?: string[];
  },
): Promise<string> {
  const iam = adminIam(sb, accountId);
  try {
    const out = await iam.send(
      new CreateRoleCommand({
        RoleName: opts.name,
        AssumeRolePolicyDocument: JSON.stringify(
          opts.trust ?? trustPolicy(sb.platform.accountId, opts.externalIds),
        ),
        MaxSessionDuration: 3600,
      }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: opts.name,
        PolicyName: 'axiom',
        PolicyDocument: JSON.stringify(opts.permissions ?? scanPermissionsPolicy()),
      }),
    );
    if (opts.managed?.length) {
      const { AttachRolePolicyCommand } = await import('@aws-sdk/client-iam');
      for (const arn of opts.managed)
        await iam.send(new AttachRolePolicyCommand({ RoleName: opts.name, PolicyArn: arn }));
    }
    return out.Role!.Arn!;
  } finally {
    iam.destroy();
  }
}

export async function deleteCustomerRole(
  sb: Sandbox,
  accountId: string,
  name: string,
): Promise<void> {
  const iam = adminIam(sb, accountId);
  try {
    await iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: 'axiom' }));
    await iam.send(new DeleteRoleCommand({ RoleName: name }));
  } finally {
    iam.destroy();
  }
}

/**
 * Search every table of the database as the superuser (RLS does not apply) for any of the needles,
 * as text and as the hex of their UTF-8 bytes (bytea columns). Returns "schema.table" per hit.
 */
export async function searchEveryTable(t: TestDatabase, needles: string[]): Promise<string[]> {
  const { rows } = await t.superuser.query<{ s: string; n: string }>(
    `select n.nspname as s, c.relname as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`,
  );
  const patterns = needles.flatMap((x) => [
    `%${x}%`,
    `%${Buffer.from(x, 'utf8').toString('hex')}%`,
  ]);
  const hits: string[] = [];
  for (const r of rows) {
    const q = await t.superuser.query<{ n: number }>(
      `select count(*)::int as n from ${JSON.stringify(r.s)}.${JSON.stringify(r.n)} x where x::text like any($1)`,
      [patterns],
    );
    if ((q.rows[0]?.n ?? 0) > 0) hits.push(`${r.s}.${r.n}`);
  }
  return hits;
}
