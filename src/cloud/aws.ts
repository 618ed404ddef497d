// AWS clients for Axiom: the platform identity (assumes customer roles), and the clients of one
// assumed session, each behind the read-only firewall. AWS_ENDPOINT_URL (config) sends every call to
// an AWS-compatible endpoint; S3 then uses path-style addressing and S3 Control the same endpoint
// (its SDK rules would prefix the account id to the host).
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { installFirewall, type OnRefused } from './firewall.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface CloudSettings {
  /** AWS_ENDPOINT_URL: every call goes there (an emulator such as the sandbox). */
  endpointUrl?: string | undefined;
  /** Axiom's account: the trust policies' principal (AXIOM_PLATFORM_ACCOUNT_ID). */
  platformAccountId: string;
  /**
   * Axiom's platform identity. Absent in production: the SDK's default credential chain (instance
   * role, environment, profile). The sandbox hands its platform user's key to the demo and tests.
   */
  platformCredentials?: AwsCredentials | undefined;
}

export const HOME_REGION = 'us-east-1';

function endpointConfig(settings: Pick<CloudSettings, 'endpointUrl'>): { endpoint?: string } {
  return settings.endpointUrl ? { endpoint: settings.endpointUrl } : {};
}

/** The STS client of the platform identity (no firewall: it only assumes roles). */
export function platformSts(settings: CloudSettings): STSClient {
  return new STSClient({
    region: HOME_REGION,
    ...endpointConfig(settings),
    ...(settings.platformCredentials ? { credentials: settings.platformCredentials } : {}),
    maxAttempts: 3,
  });
}

export type AssumeOutcome =
  | { ok: true; credentials: AwsCredentials; externalId: string | null }
  | { ok: false; code: string; message: string; httpStatus: number | undefined };

/**
 * AssumeRole with each External ID in turn (the current one first; during a rotation's grace period
 * the previous one too), for at most an hour. `externalIds` empty: try without one (the unsafe-trust
 * probe of "test connection").
 */
export async function assumeRole(
  sts: STSClient,
  roleArn: string,
  externalIds: (string | null)[],
  sessionName: string,
  durationSeconds = 3600,
): Promise<AssumeOutcome> {
  let last: AssumeOutcome = {
    ok: false,
    code: 'NoExternalId',
    message: 'nothing to try',
    httpStatus: undefined,
  };
  for (const externalId of externalIds) {
    try {
      const out = await sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: sessionName.slice(0, 64),
          DurationSeconds: Math.min(3600, durationSeconds),
          ...(externalId ? { ExternalId: externalId } : {}),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS returned no credentials');
      return {
        ok: true,
        externalId,
        credentials: {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
          ...(c.Expiration ? { expiration: c.Expiration } : {}),
        },
      };
    } catch (e) {
      const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      last = {
        ok: false,
        code: err.name ?? 'Error',
        message: err.message ?? String(e),
        httpStatus: err.$metadata?.httpStatusCode,
      };
      // Only a refusal is worth retrying with the other External ID.
      if (last.code !== 'AccessDenied') return last;
    }
  }
  return last;
}

/**
 * The clients of one assumed session: created on first use, each behind the firewall, all destroyed
 * (and the credentials dropped) by close().
 */
export class AwsSession {
  private readonly clients = new Map<string, { destroy(): void }>();
  private credentials: AwsCredentials | undefined;

  constructor(
    private readonly settings: Pick<CloudSettings, 'endpointUrl'>,
    credentials: AwsCredentials,
    private readonly onRefused: OnRefused,
  ) {
    this.credentials = credentials;
  }

  private make<C extends { destroy(): void; middlewareStack: unknown }>(
    key: string,
    build: (base: {
      region: string;
      credentials: AwsCredentials;
      maxAttempts: number;
      endpoint?: string;
    }) => C,
    region: string,
  ): C {
    const id = `${key}:${region}`;
    const existing = this.clients.get(id);
    if (existing) return existing as C;
    if (!this.credentials) throw new Error('the session is closed');
    // Retries are Axiom's own (src/cloud/limiter.ts): one attempt per SDK send.
    const client = installFirewall(
      build({
        region,
        credentials: this.credentials,
        maxAttempts: 1,
        ...endpointConfig(this.settings),
      }),
      this.onRefused,
    );
    this.clients.set(id, client);
    return client;
  }

  ec2 = (region: string): EC2Client => this.make('ec2', (b) => new EC2Client(b), region);
  rds = (region: string): RDSClient => this.make('rds', (b) => new RDSClient(b), region);
  kms = (region: string): KMSClient => this.make('kms', (b) => new KMSClient(b), region);
  cloudtrail = (region: string): CloudTrailClient =>
    this.make('cloudtrail', (b) => new CloudTrailClient(b), region);
  cloudwatch = (region: string): CloudWatchClient =>
    this.make('cloudwatch', (b) => new CloudWatchClient(b), region);
  iam = (): IAMClient => this.make('iam', (b) => new IAMClient(b), HOME_REGION);
  sts = (): STSClient => this.make('sts', (b) => new STSClient(b), HOME_REGION);
  s3 = (region: string): S3Client =>
    this.make(
      's3',
      (b) =>
        new S3Client({
          ...b,
          followRegionRedirects: true,
          ...(this.settings.endpointUrl ? { forcePathStyle: true } : {}),
        }),
      region,
    );
  s3control = (): S3ControlClient =>
    this.make(
      's3control',
      (b) =>
        new S3ControlClient({
          ...b,
          ...(this.settings.endpointUrl
            ? {
                disableHostPrefix: true,
                endpointProvider: () => ({ url: new URL(this.settings.endpointUrl!) }),
              }
            : {}),
        }),
      HOME_REGION,
    );

  /** Destroy every client and drop the credentials: the next scan assumes the role again. */
  close(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
    this.credentials = undefined;
  }
}
