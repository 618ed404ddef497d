// Shared setup for the sandbox tests: a running sandbox and SDK client configs.
import {
  startSandbox,
  type Sandbox,
  type SandboxOptions,
  type AwsCredentials,
} from '../../src/sandbox/index.js';

export interface ClientConfig {
  endpoint: string;
  region: string;
  credentials: AwsCredentials;
  maxAttempts?: number;
}

export async function sandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  return startSandbox({
    accounts: [{ seed: 'test-account', size: 150, regions: ['us-east-1', 'eu-west-1'] }],
    delays: { snapshotMs: 0, instanceTransitionMs: 0, volumeModificationMs: 0 },
    ...opts,
  });
}

export function cfg(
  sb: Sandbox,
  credentials: AwsCredentials,
  region = 'us-east-1',
  extra: Partial<ClientConfig> = {},
): ClientConfig {
  return { endpoint: sb.endpoint, region, credentials, maxAttempts: 1, ...extra };
}

export async function expectAwsError(
  p: Promise<unknown>,
  name: string,
  status?: number,
): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & {
      name: string;
      Code?: string;
      $metadata: { httpStatusCode?: number };
    };
    // The SDK names a modelled error by its shape (NoSuchEntityException); the wire code
    // (NoSuchEntity) stays in Code. Either may be asserted.
    if (err.name !== name && err.Code !== name)
      throw new Error(`expected ${name}, got ${err.name}: ${err.message}`);
    if (status !== undefined && err.$metadata?.httpStatusCode !== status)
      throw new Error(`expected HTTP ${status} for ${name}, got ${err.$metadata?.httpStatusCode}`);
    return err;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
}
