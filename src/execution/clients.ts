// AWS SDK v3 clients for one execution: one per (service, region), all signed with the execution
// role's temporary credentials (never persisted). `endpoint` points every client at an
// AWS-compatible endpoint instead of AWS (the sandbox cloud in tests and the demo).
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';

export type ExecutionCredentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

export interface AwsEndpointOptions {
  /** An AWS-compatible endpoint for every service (e.g. http://127.0.0.1:4566); default AWS. */
  endpoint?: string;
  /** SDK attempts per call (standard retry strategy); default 3. */
  maxAttempts?: number;
}

/** IAM, STS and S3 Control are global: their calls go to us-east-1. */
export const GLOBAL_REGION = 'us-east-1';

interface Destroyable {
  destroy(): void;
}

export class AwsClients {
  private readonly cache = new Map<string, Destroyable>();

  constructor(
    private readonly credentials: ExecutionCredentials,
    private readonly opts: AwsEndpointOptions = {},
  ) {}

  private base(region: string) {
    return {
      region,
      credentials: this.credentials,
      maxAttempts: this.opts.maxAttempts ?? 3,
      ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}),
    };
  }

  private get<T extends Destroyable>(key: string, make: () => T): T {
    let c = this.cache.get(key) as T | undefined;
    if (!c) {
      c = make();
      this.cache.set(key, c);
    }
    return c;
  }

  ec2(region: string): EC2Client {
    return this.get(`ec2/${region}`, () => new EC2Client(this.base(region)));
  }

  s3(region: string): S3Client {
    return this.get(
      `s3/${region}`,
      () =>
        new S3Client({
          ...this.base(region),
          ...(this.opts.endpoint ? { forcePathStyle: true } : {}),
        }),
    );
  }

  s3control(): S3ControlClient {
    const endpoint = this.opts.endpoint;
    return this.get(
      's3control',
      () =>
        new S3ControlClient({
          ...this.base(GLOBAL_REGION),
          // S3 Control's endpoint rules put the account id in front of the host; against a
          // custom endpoint the request must go to that endpoint as is (the account id still
          // travels in x-amz-account-id).
          ...(endpoint
            ? { disableHostPrefix: true, endpointProvider: () => ({ url: new URL(endpoint) }) }
            : {}),
        }),
    );
  }

  rds(region: string): RDSClient {
    return this.get(`rds/${region}`, () => new RDSClient(this.base(region)));
  }

  cloudtrail(region: string): CloudTrailClient {
    return this.get(`cloudtrail/${region}`, () => new CloudTrailClient(this.base(region)));
  }

  kms(region: string): KMSClient {
    return this.get(`kms/${region}`, () => new KMSClient(this.base(region)));
  }

  iam(): IAMClient {
    return this.get('iam', () => new IAMClient(this.base(GLOBAL_REGION)));
  }

  sts(): STSClient {
    return this.get('sts', () => new STSClient(this.base(GLOBAL_REGION)));
  }

  /** Close every client's sockets. */
  destroy(): void {
    for (const c of this.cache.values()) c.destroy();
    this.cache.clear();
  }
}

/** The AWS error code of an SDK exception (its name, or the wire Code). */
export function awsErrorCode(e: unknown): string | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const x = e as { name?: unknown; Code?: unknown };
  if (typeof x.Code === 'string') return x.Code;
  return typeof x.name === 'string' ? x.name : undefined;
}

/** Is this SDK exception one of these AWS error codes? */
export function isAwsError(e: unknown, ...codes: string[]): boolean {
  if (!e || typeof e !== 'object') return false;
  const x = e as { name?: unknown; Code?: unknown };
  return codes.some((c) => x.name === c || x.Code === c);
}
