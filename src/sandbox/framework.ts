// How a service is described to the server: its protocol, the SDK's schema for each operation,
// the IAM action and resource that authorise it, and the handler.
import type { OperationSchema } from './protocols/serde.js';
import type { PolicyDocument, RequestContext } from './policy.js';
import type { Account, RegionState, SessionInfo } from './state.js';
import type { Engine } from './engine.js';

export type Protocol = 'ec2' | 'query' | 'json' | 'restxml';

export interface Caller {
  accountId: string;
  /** The caller's ARN as GetCallerIdentity reports it (assumed-role ARN for sessions). */
  arn: string;
  /** The ARN policies name: the IAM user, or the role behind a session. */
  principalArn: string;
  userId: string;
  accessKeyId: string;
  userName?: string;
  session?: SessionInfo;
}

export interface HttpInfo {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface Ctx {
  engine: Engine;
  account: Account;
  region: string;
  regionState: RegionState;
  caller: Caller;
  now: number;
  requestId: string;
  service: ServiceDef;
  operation: string;
  http: HttpInfo;
  /** Throws the service's access-denied error unless the caller may perform action on resource. */
  authorize(action: string, resource: string, extra?: RequestContext): void;
  /** The same decision without throwing. */
  allowed(action: string, resource: string, extra?: RequestContext): boolean;
}

/** Result of a REST handler that needs to set raw bytes or headers itself. */
export interface RawResponse {
  $raw: true;
  status?: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface OpDef<I = Record<string, unknown>, O = unknown> {
  schema: OperationSchema;
  /** The IAM action; default `${service.actionPrefix}:${name}`. */
  action?: string;
  /** The resource ARN the action is authorised against; default "*". */
  resource?: (input: I, ctx: Ctx) => string;
  /** The operation needs no permission (sts:GetCallerIdentity). */
  noAuth?: boolean;
  /** Authorisation is done by the handler itself (EC2 DryRun, STS AssumeRole). */
  selfAuth?: boolean;
  handler: (ctx: Ctx, input: I) => O | Promise<O>;
}

export interface ServiceDef {
  /** The SigV4 signing name that routes here. */
  signingName: string;
  name: string;
  protocol: Protocol;
  actionPrefix: string;
  xmlns?: string;
  /** JSON protocols: the X-Amz-Target prefix. */
  targetPrefix?: string;
  /** Other X-Amz-Target prefixes the service answers to. */
  targetAliases?: string[];
  jsonVersion?: '1.0' | '1.1';
  /** JSON protocols that are "awsQueryCompatible" (CloudWatch). */
  queryCompatible?: boolean;
  ops: Record<string, AnyOp>;
  /** A resource-based policy that also governs the request (S3 bucket policies). */
  resourcePolicy?: (
    ctx: Ctx,
    input: Record<string, unknown>,
    resource: string,
  ) => { doc: PolicyDocument; ownerAccountId: string } | undefined;
  /** Runs before authorisation (S3: bucket existence and region). */
  precheck?: (ctx: Ctx, operation: string, input: Record<string, unknown>) => void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOp = OpDef<any, any>;

export function op<I, O>(def: OpDef<I, O>): OpDef<I, O> {
  return def;
}
