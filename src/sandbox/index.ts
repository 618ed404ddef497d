// The sandbox cloud: an AWS-compatible emulator on 127.0.0.1 for Axiom's tests and demo.
// See docs/sandbox.md.
import type { AddressInfo } from 'node:net';
import { createClock, type Clock } from './clock.js';
import { Control, handleControlHttp } from './control.js';
import { Engine, type AwsCredentials, type Delays } from './engine.js';
import { FaultEngine } from './faults.js';
import type { ServiceDef } from './framework.js';
import type { GenerateOptions } from './generator.js';
import { createSandboxServer, type CallRecord } from './server.js';
import { stsService } from './services/sts.js';
import { iamService } from './services/iam.js';
import { ec2Service } from './services/ec2.js';
import { s3Service, s3ControlService } from './services/s3.js';
import { rdsService } from './services/rds.js';
import { cloudTrailService } from './services/cloudtrail.js';
import { cloudWatchService } from './services/cloudwatch.js';
import { kmsService } from './services/kms.js';
import { secretsManagerService } from './services/secretsmanager.js';

export type { AwsCredentials, Delays } from './engine.js';
export type { FaultRule, FaultKind } from './faults.js';
export type { AnswerKeyEntry, ProblemId, GenerateOptions, GeneratedAccount } from './generator.js';
export { PROBLEMS, generateAccount } from './generator.js';
export type { StateDump, StateDiff } from './dump.js';
export { diffStates } from './dump.js';
export type { CallRecord } from './server.js';
export type { ScanRoleOptions, AccountInfo } from './control.js';
export { Control, DENY_CONTENT_READS } from './control.js';
export { KNOWN_REGIONS } from './engine.js';
export { REQUIRED_TAGS } from './generator.js';

export const DEFAULT_PLATFORM_ACCOUNT_ID = '111111111111';

export interface SandboxOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Host to bind; default 127.0.0.1. */
  host?: string;
  /** Axiom's own account id; default 111111111111. */
  platformAccountId?: string;
  /** Customer accounts to generate at start. */
  accounts?: GenerateOptions[];
  /** Start time of the sandbox clock (epoch ms); default now. */
  now?: number;
  /** Or a clock of your own. */
  clock?: Clock;
  /** Delays of asynchronous state changes (defaults: snapshot 1000 ms, instance 500 ms, volume 1000 ms). */
  delays?: Partial<Delays>;
  /** Seed of the fault-injection PRNG; default 'faults'. */
  faultSeed?: string;
  /** Longest call log kept (control.calls()); default 100,000. */
  maxCallLog?: number;
}

export interface SandboxAccountHandle {
  accountId: string;
  name: string;
  /** Credentials of the customer's administrator (an IAM user with AdministratorAccess). */
  adminCredentials: AwsCredentials;
  regions: string[];
}

export interface Sandbox {
  /** http://127.0.0.1:PORT — use as `endpoint` in every SDK client, or as AWS_ENDPOINT_URL. */
  endpoint: string;
  port: number;
  platform: { accountId: string; userArn: string; credentials: AwsCredentials };
  /** The customer accounts generated at start (more via control.addAccount). */
  accounts: SandboxAccountHandle[];
  control: Control;
  stop(): Promise<void>;
}

/**
 * S3 Control's endpoint rules put the account id in front of the host
 * (`{AccountId}.{endpoint host}`), which cannot work against 127.0.0.1. Spread this into an
 * S3ControlClient's config (with `disableHostPrefix: true`) to send requests to the sandbox as is;
 * the account id still travels in the x-amz-account-id header.
 */
export function s3ControlEndpoint(endpoint: string): { endpointProvider: () => { url: URL } } {
  return { endpointProvider: () => ({ url: new URL(endpoint) }) };
}

export const ALL_SERVICES: ServiceDef[] = [
  stsService,
  iamService,
  ec2Service,
  s3Service,
  s3ControlService,
  rdsService,
  cloudTrailService,
  cloudWatchService,
  kmsService,
  secretsManagerService,
];

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const clock = opts.clock ?? createClock(opts.now);
  const engine = new Engine(clock, {
    snapshotMs: opts.delays?.snapshotMs ?? 1000,
    instanceTransitionMs: opts.delays?.instanceTransitionMs ?? 500,
    volumeModificationMs: opts.delays?.volumeModificationMs ?? 1000,
  });
  const faults = new FaultEngine(opts.faultSeed ?? 'faults');
  const calls: CallRecord[] = [];
  const platformAccountId = opts.platformAccountId ?? DEFAULT_PLATFORM_ACCOUNT_ID;
  const control = new Control(engine, faults, calls, platformAccountId);
  const platform = control.createPlatformAccount();
  const accounts: SandboxAccountHandle[] = [];
  for (const a of opts.accounts ?? []) accounts.push(control.addAccount(a));

  const server = createSandboxServer({
    engine,
    faults,
    services: ALL_SERVICES,
    control: (req, res, body, url) => handleControlHttp(control, req, res, body, url),
    calls,
    maxCallLog: opts.maxCallLog ?? 100_000,
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://${host}:${port}`;
  control.endpoint = endpoint;
  let stopped = false;
  return {
    endpoint,
    port,
    platform,
    accounts,
    control,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
