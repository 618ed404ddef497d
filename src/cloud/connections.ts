// Connections: what the HTTP routes and the CLI do with them. Role ARNs are sealed here, before the
// database sees them; "test connection" assumes the role and reads once per service.
import { randomUUID } from 'node:crypto';
import { GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import { GetAccountSummaryCommand } from '@aws-sdk/client-iam';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { GetPublicAccessBlockCommand } from '@aws-sdk/client-s3-control';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Api, Caller } from '../db/api.js';
import { AppError } from '../errors.js';
import type { DataKeys } from '../security/datakeys.js';
import { redactSecrets } from '../security/redact.js';
import { AwsSession, HOME_REGION, assumeRole, platformSts, type CloudSettings } from './aws.js';
import { errorCode } from './limiter.js';
import { ACTION_CLASSES, onboardingMaterial, type ActionClass } from './policies.js';
import { sealContext } from './scanner.js';

export const roleArnPattern = /^arn:aws[a-z-]*:iam::([0-9]{12}):role\/[\w+=,.@/-]{1,512}$/;

export interface CloudDeps {
  api: Api;
  dataKeys: DataKeys;
  settings: CloudSettings;
}

export interface Connection {
  id: string;
  facility_id: string;
  account_id: string;
  name: string;
  status: 'pending' | 'active' | 'revoked' | 'disconnected';
  status_reason: string | null;
  external_ids: Array<{ external_id: string; current: boolean; accepted_until: string | null }>;
  execution_roles: Record<ActionClass, boolean>;
  last_test: unknown;
  [k: string]: unknown;
}

function checkRoleArn(roleArn: string, accountId: string): void {
  const m = roleArnPattern.exec(roleArn);
  if (!m)
    throw new AppError(
      'invalid_input',
      'role_arn must be an IAM role ARN (arn:aws:iam::123456789012:role/Name)',
      {
        reason: 'invalid_role_arn',
      },
    );
  if (m[1] !== accountId)
    throw new AppError('invalid_input', 'the role belongs to another account than account_id', {
      reason: 'role_account_mismatch',
    });
}

/** The connection with its onboarding material (trust policies carry the External IDs Axiom presents). */
export function withOnboarding(
  settings: CloudSettings,
  c: Connection,
): Connection & { onboarding: unknown } {
  const ids = c.external_ids.map((e) => e.external_id);
  return {
    ...c,
    onboarding: onboardingMaterial(settings.platformAccountId, ids.length ? ids : ['(none)']),
  };
}

export async function createConnection(
  deps: CloudDeps,
  caller: Caller,
  input: {
    facilityId: string;
    accountId: string;
    roleArn: string;
    name?: string | undefined;
    regions?: string[] | null | undefined;
    scheduleHours?: number | null | undefined;
  },
): Promise<Connection> {
  checkRoleArn(input.roleArn, input.accountId);
  const org = await deps.dataKeys.organizationOf(caller);
  const id = randomUUID();
  const sealed = await deps.dataKeys.seal(caller, org, input.roleArn, sealContext(org, id, 'scan'));
  return await deps.api.call<Connection>(
    'connection_create',
    caller,
    id,
    input.facilityId,
    input.accountId,
    input.name ?? null,
    sealed.sealed,
    sealed.dataKeyId,
    { regions: input.regions ?? null, schedule_hours: input.scheduleHours ?? null },
  );
}

export interface TestCheck {
  service: string;
  action: string;
  ok: boolean;
  code?: string;
}

export interface TestReport {
  ok: boolean;
  code: string;
  message: string;
  /** When AssumeRole was refused: what it can be, and what to check. */
  possibleCauses?: string[];
  checks: TestCheck[];
  missingPermissions: string[];
  externalIdUsed?: 'current' | 'previous';
}

const PROBES: Array<{
  service: string;
  action: string;
  run: (s: AwsSession, account: string) => Promise<unknown>;
}> = [
  {
    service: 'sts',
    action: 'sts:GetCallerIdentity',
    run: (s) => s.sts().send(new GetCallerIdentityCommand({})),
  },
  {
    service: 'ec2',
    action: 'ec2:DescribeRegions',
    run: (s) => s.ec2(HOME_REGION).send(new DescribeRegionsCommand({})),
  },
  {
    service: 's3',
    action: 's3:ListAllMyBuckets',
    run: (s) => s.s3(HOME_REGION).send(new ListBucketsCommand({ MaxBuckets: 1 })),
  },
  {
    service: 's3control',
    action: 's3:GetAccountPublicAccessBlock',
    run: (s, account) =>
      s
        .s3control()
        .send(new GetPublicAccessBlockCommand({ AccountId: account }))
        .catch((e: unknown) => {
          if (errorCode(e) !== 'NoSuchPublicAccessBlockConfiguration') throw e;
        }),
  },
  {
    service: 'iam',
    action: 'iam:GetAccountSummary',
    run: (s) => s.iam().send(new GetAccountSummaryCommand({})),
  },
  {
    service: 'rds',
    action: 'rds:DescribeDBInstances',
    run: (s) => s.rds(HOME_REGION).send(new DescribeDBInstancesCommand({ MaxRecords: 20 })),
  },
  {
    service: 'cloudtrail',
    action: 'cloudtrail:DescribeTrails',
    run: (s) => s.cloudtrail(HOME_REGION).send(new DescribeTrailsCommand({})),
  },
  {
    service: 'kms',
    action: 'kms:ListKeys',
    run: (s) => s.kms(HOME_REGION).send(new ListKeysCommand({ Limit: 1 })),
  },
  {
    service: 'cloudwatch',
    action: 'cloudwatch:GetMetricStatistics',
    run: (s) =>
      s.cloudwatch(HOME_REGION).send(
        new GetMetricStatisticsCommand({
          Namespace: 'AWS/EC2',
          MetricName: 'CPUUtilization',
          StartTime: new Date(Date.now() - 3_600_000),
          EndTime: new Date(),
          Period: 3600,
          Statistics: ['Average'],
        }),
      ),
  },
];

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthorizationError',
]);

/**
 * Assume the scan role and report exactly what can be known: AWS answers the same AccessDenied for a
 * missing role, a wrong External ID and a wrong trust principal, so a refusal lists those causes; after
 * a successful assume, one cheap read per service names each missing permission; and a role that also
 * trusts Axiom without an External ID is refused as unsafe.
 */
export async function testConnection(
  deps: CloudDeps,
  caller: Caller,
  connectionId: string,
): Promise<{ report: TestReport; connection: Connection }> {
  const org = await deps.dataKeys.organizationOf(caller);
  const creds = await deps.api.call<{
    role_arn_sealed: string;
    external_ids: string[];
    account_id: string;
  }>('connection_credentials', caller, connectionId, 'test');
  const roleArn = await deps.dataKeys.open(
    caller,
    org,
    creds.role_arn_sealed,
    sealContext(org, connectionId, 'scan'),
  );
  const sts = platformSts(deps.settings);
  let report: TestReport;
  try {
    const assumed = await assumeRole(
      sts,
      roleArn,
      creds.external_ids,
      `axiom-test-${connectionId}`,
      900,
    );
    if (!assumed.ok) {
      report =
        assumed.code === 'AccessDenied'
          ? {
              ok: false,
              code: 'assume_role_denied',
              message: 'AssumeRole was refused (AWS gives the same answer for each cause below)',
              possibleCauses: [
                'the role does not exist (deleted, or a typo in the ARN)',
                `the trust policy does not name Axiom's account ${deps.settings.platformAccountId} as principal`,
                `the trust policy's sts:ExternalId condition is not ${creds.external_ids[0]}${creds.external_ids.length > 1 ? ` (or ${creds.external_ids.slice(1).join(', ')} during the rotation grace period)` : ''}`,
                'a permission boundary or SCP blocks sts:AssumeRole',
              ],
              checks: [],
              missingPermissions: [],
            }
          : {
              ok: false,
              code: 'assume_role_failed',
              message: `AssumeRole failed: ${assumed.code}: ${redactSecrets(assumed.message).slice(0, 300)}`,
              checks: [],
              missingPermissions: [],
            };
    } else {
      const unsafe = await assumeRole(sts, roleArn, [null], `axiom-probe-${connectionId}`, 900);
      const session = new AwsSession(deps.settings, assumed.credentials, () => {});
      const checks: TestCheck[] = [];
      let wrongAccount: string | undefined;
      try {
        for (const p of PROBES) {
          try {
            const out = await p.run(session, creds.account_id);
            if (p.service === 'sts') {
              const acct = (out as { Account?: string }).Account;
              if (acct && acct !== creds.account_id) wrongAccount = acct;
            }
            checks.push({ service: p.service, action: p.action, ok: true });
          } catch (e) {
            checks.push({ service: p.service, action: p.action, ok: false, code: errorCode(e) });
          }
        }
      } finally {
        session.close();
      }
      const missing = checks.filter((c) => !c.ok && DENIED.has(c.code ?? '')).map((c) => c.action);
      const failed = checks.filter((c) => !c.ok && !DENIED.has(c.code ?? ''));
      if (unsafe.ok) {
        report = {
          ok: false,
          code: 'trust_without_external_id',
          message:
            'the role also trusts Axiom WITHOUT an External ID: anyone using Axiom could assume it. Add the sts:ExternalId condition to every statement of the trust policy',
          checks,
          missingPermissions: missing,
        };
      } else if (wrongAccount) {
        report = {
          ok: false,
          code: 'wrong_account',
          message: `the role is in account ${wrongAccount}, not ${creds.account_id}`,
          checks,
          missingPermissions: missing,
        };
      } else if (missing.length || failed.length) {
        report = {
          ok: false,
          code: missing.length ? 'missing_permissions' : 'service_errors',
          message: missing.length
            ? `the role is missing ${missing.length} required permission(s): ${missing.join(', ')}`
            : `some services answered with errors: ${failed.map((f) => `${f.service} (${f.code})`).join(', ')}`,
          checks,
          missingPermissions: missing,
        };
      } else {
        report = {
          ok: true,
          code: 'ok',
          message: 'the role was assumed with the External ID and every service answered',
          checks,
          missingPermissions: [],
          externalIdUsed: assumed.externalId === creds.external_ids[0] ? 'current' : 'previous',
        };
      }
    }
  } finally {
    sts.destroy();
  }
  const sealed = await deps.dataKeys.seal(
    caller,
    org,
    JSON.stringify(report),
    sealContext(org, connectionId, 'state'),
  );
  const connection = await deps.api.call<Connection>(
    'connection_test_result',
    caller,
    connectionId,
    report.ok,
    { code: report.code, message: report.message, missing_permissions: report.missingPermissions },
    sealed.sealed,
    sealed.dataKeyId,
  );
  return { report, connection };
}

export async function setExecutionRole(
  deps: CloudDeps,
  caller: Caller,
  connectionId: string,
  cls: string,
  roleArn: string | null,
): Promise<Connection> {
  if (!(ACTION_CLASSES as readonly string[]).includes(cls))
    throw new AppError('invalid_input', 'class is cost, security or drift', {
      reason: 'invalid_class',
    });
  const org = await deps.dataKeys.organizationOf(caller);
  if (roleArn === null)
    return await deps.api.call<Connection>(
      'connection_execution_role_set',
      caller,
      connectionId,
      cls,
      null,
      null,
    );
  const current = await deps.api.call<Connection>('connection_get', caller, connectionId);
  checkRoleArn(roleArn, current.account_id);
  const sealed = await deps.dataKeys.seal(
    caller,
    org,
    roleArn,
    sealContext(org, connectionId, cls),
  );
  return await deps.api.call<Connection>(
    'connection_execution_role_set',
    caller,
    connectionId,
    cls,
    sealed.sealed,
    sealed.dataKeyId,
  );
}
