// Composition of the cloud capability from the configuration: the key ring (the local key file, or
// the installation's KMS key with the local file kept for unwrapping), data keys, and the settings of
// Axiom's platform identity.
import type { Config } from '../config/index.js';
import type { Api } from '../db/api.js';
import { DataKeys } from '../security/datakeys.js';
import type { KekProvider } from '../security/kek.js';
import { KekRing, KmsKek } from '../security/kms.js';
import type { CloudSettings } from './aws.js';
import type { CloudDeps } from './connections.js';

export function cloudSettings(
  config: Config,
  overrides: Partial<CloudSettings> = {},
): CloudSettings {
  return {
    endpointUrl: config.cloud.endpointUrl,
    platformAccountId: config.cloud.platformAccountId,
    ...overrides,
  };
}

export function keyRing(config: Config, local: KekProvider): KekRing {
  const kms = { ...(config.cloud.endpointUrl ? { endpoint: config.cloud.endpointUrl } : {}) };
  if (config.cloud.kmsKeyArn)
    return new KekRing(new KmsKek(config.cloud.kmsKeyArn, kms), [local], kms);
  return new KekRing(local, [], kms);
}

export function cloudDeps(
  config: Config,
  api: Api,
  local: KekProvider,
  overrides: Partial<CloudSettings> = {},
): CloudDeps {
  return {
    api,
    dataKeys: new DataKeys(api, keyRing(config, local)),
    settings: cloudSettings(config, overrides),
  };
}

export function scanLimits(config: Config): {
  concurrency: number;
  ratePerSecond: number;
  serviceBudgetMs: number;
} {
  return {
    concurrency: config.cloud.scanConcurrency,
    ratePerSecond: config.cloud.scanRatePerSecond,
    serviceBudgetMs: config.cloud.serviceBudgetMs,
  };
}
