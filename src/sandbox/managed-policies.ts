// A few AWS managed policies, as documents the sandbox evaluates. Abridged: the action lists
// cover the services the sandbox emulates (see docs/sandbox.md), not all of AWS.

const doc = (statements: object[]): string =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements });

export const MANAGED_POLICIES: Record<
  string,
  { name: string; document: string; description: string }
> = {
  'arn:aws:iam::aws:policy/AdministratorAccess': {
    name: 'AdministratorAccess',
    description: 'Provides full access to AWS services and resources.',
    document: doc([{ Effect: 'Allow', Action: '*', Resource: '*' }]),
  },
  'arn:aws:iam::aws:policy/ReadOnlyAccess': {
    name: 'ReadOnlyAccess',
    description: 'Provides read-only access to AWS services and resources.',
    document: doc([
      {
        Effect: 'Allow',
        Action: [
          'cloudtrail:Describe*',
          'cloudtrail:Get*',
          'cloudtrail:List*',
          'cloudtrail:LookupEvents',
          'cloudwatch:Describe*',
          'cloudwatch:Get*',
          'cloudwatch:List*',
          'ec2:Describe*',
          'ec2:Get*',
          'iam:Generate*',
          'iam:Get*',
          'iam:List*',
          'kms:Describe*',
          'kms:Get*',
          'kms:List*',
          'rds:Describe*',
          'rds:List*',
          's3:Get*',
          's3:List*',
          'secretsmanager:Describe*',
          'secretsmanager:GetResourcePolicy',
          'secretsmanager:List*',
          'sts:GetCallerIdentity',
        ],
        Resource: '*',
      },
    ]),
  },
  'arn:aws:iam::aws:policy/SecurityAudit': {
    name: 'SecurityAudit',
    description:
      'The security audit template grants access to read security configuration metadata.',
    document: doc([
      {
        Effect: 'Allow',
        Action: [
          'cloudtrail:DescribeTrails',
          'cloudtrail:GetEventSelectors',
          'cloudtrail:GetTrail',
          'cloudtrail:GetTrailStatus',
          'cloudtrail:ListTrails',
          'cloudwatch:Describe*',
          'ec2:Describe*',
          'ec2:GetEbsEncryptionByDefault',
          'iam:GenerateCredentialReport',
          'iam:Get*',
          'iam:List*',
          'kms:Describe*',
          'kms:Get*',
          'kms:List*',
          'rds:Describe*',
          's3:GetAccountPublicAccessBlock',
          's3:GetBucket*',
          's3:GetEncryptionConfiguration',
          's3:GetLifecycleConfiguration',
          's3:ListAllMyBuckets',
          'secretsmanager:DescribeSecret',
          'secretsmanager:ListSecrets',
        ],
        Resource: '*',
      },
    ]),
  },
  'arn:aws:iam::aws:policy/job-function/ViewOnlyAccess': {
    name: 'ViewOnlyAccess',
    description:
      'This policy grants permissions to view resources and basic metadata across all AWS services.',
    document: doc([
      {
        Effect: 'Allow',
        Action: [
          'cloudtrail:DescribeTrails',
          'cloudtrail:GetTrailStatus',
          'cloudtrail:ListTrails',
          'cloudtrail:LookupEvents',
          'cloudwatch:DescribeAlarms',
          'cloudwatch:GetMetricData',
          'cloudwatch:GetMetricStatistics',
          'cloudwatch:ListMetrics',
          'ec2:DescribeAddresses',
          'ec2:DescribeImages',
          'ec2:DescribeInstances',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeRegions',
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeSecurityGroupRules',
          'ec2:DescribeSnapshots',
          'ec2:DescribeVolumes',
          'iam:GetAccountSummary',
          'iam:ListAccessKeys',
          'iam:ListMFADevices',
          'iam:ListRoles',
          'iam:ListUsers',
          'kms:ListKeys',
          'rds:DescribeDBInstances',
          'rds:DescribeDBSnapshots',
          's3:GetBucketLocation',
          's3:ListAllMyBuckets',
          'secretsmanager:ListSecrets',
        ],
        Resource: '*',
      },
    ]),
  },
};

export function managedPolicyByArn(arn: string): { name: string; document: string } | undefined {
  return MANAGED_POLICIES[arn];
}
