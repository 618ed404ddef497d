// The read-only firewall (DESIGN.md invariant 14): an SDK middleware on every client a scan uses. Only
// the (service, operation) pairs below may leave the process; anything else is refused before the
// request is built or signed, whatever the customer's role would allow, and reported (audit event).
// Object contents, secret values, KMS decryption, CloudTrail event lookups and RDS data are not here.

export const READ_ALLOWLIST: Readonly<Record<string, readonly string[]>> = {
  sts: ['GetCallerIdentity'],
  ec2: [
    'DescribeRegions',
    'DescribeInstances',
    'DescribeVolumes',
    'DescribeSnapshots',
    'DescribeSnapshotAttribute',
    'DescribeSecurityGroups',
    'DescribeSecurityGroupRules',
    'DescribeNetworkInterfaces',
    'DescribeAddresses',
    'DescribeImages',
    'DescribeImageAttribute',
    'GetEbsEncryptionByDefault',
  ],
  s3: [
    'ListBuckets',
    'GetBucketLocation',
    'GetBucketAcl',
    'GetBucketPolicy',
    'GetBucketPolicyStatus',
    'GetPublicAccessBlock',
    'GetBucketEncryption',
    'GetBucketVersioning',
    'GetBucketLogging',
    'GetBucketOwnershipControls',
    'GetBucketLifecycleConfiguration',
    'GetBucketTagging',
  ],
  s3control: ['GetPublicAccessBlock'],
  rds: ['DescribeDBInstances', 'DescribeDBSnapshots', 'DescribeDBSnapshotAttributes'],
  cloudtrail: ['DescribeTrails', 'GetTrailStatus'],
  iam: [
    'GetAccountSummary',
    'GetAccountPasswordPolicy',
    'ListUsers',
    'GetLoginProfile',
    'ListMFADevices',
    'ListAccessKeys',
    'GetAccessKeyLastUsed',
    'ListRoles',
    'ListAttachedRolePolicies',
  ],
  kms: ['ListKeys', 'DescribeKey', 'GetKeyRotationStatus', 'ListAliases'],
  cloudwatch: ['GetMetricData', 'GetMetricStatistics'],
};

/** SDK client class name → service key of the allowlist. */
const SERVICE_OF_CLIENT: Record<string, string> = {
  STSClient: 'sts',
  EC2Client: 'ec2',
  S3Client: 's3',
  S3ControlClient: 's3control',
  RDSClient: 'rds',
  CloudTrailClient: 'cloudtrail',
  IAMClient: 'iam',
  KMSClient: 'kms',
  CloudWatchClient: 'cloudwatch',
  SecretsManagerClient: 'secretsmanager',
};

export function isAllowed(service: string, operation: string): boolean {
  return READ_ALLOWLIST[service]?.includes(operation) ?? false;
}

/** Thrown before anything is sent. */
export class FirewallRefusal extends Error {
  override readonly name = 'FirewallRefusal';
  constructor(
    readonly service: string,
    readonly operation: string,
  ) {
    super(
      `the read-only firewall refused ${service}:${operation}: it is not on Axiom's read allowlist`,
    );
  }
}

export type OnRefused = (service: string, operation: string) => void;

/** Install the firewall on a client (first thing in its stack). */
export function installFirewall<C extends { middlewareStack: unknown }>(
  client: C,
  onRefused: OnRefused,
): C {
  (
    client.middlewareStack as unknown as {
      add: (mw: unknown, opts: Record<string, unknown>) => void;
    }
  ).add(
    (
      next: (args: unknown) => Promise<unknown>,
      context: { clientName?: string; commandName?: string },
    ) =>
      async (args: unknown) => {
        const service =
          SERVICE_OF_CLIENT[context.clientName ?? ''] ?? context.clientName ?? 'unknown';
        const operation = (context.commandName ?? '').replace(/Command$/, '');
        if (!isAllowed(service, operation)) {
          onRefused(service, operation);
          throw new FirewallRefusal(service, operation);
        }
        return await next(args);
      },
    { step: 'initialize', name: 'axiomReadOnlyFirewall', priority: 'high', override: true },
  );
  return client;
}
