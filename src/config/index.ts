// One typed configuration, parsed once from the environment and frozen. Nothing else in src/ reads
// process.env (the CLI passes overrides in explicitly). Every variable is listed in README.md.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { MEMORY_POLICIES, type MemoryPolicy } from '../heap.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  AXIOM_DATA_DIR: z
    .string()
    .min(1)
    .default('.axiom')
    .describe('Where the embedded database, keys and secrets live.'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional()
    .describe(
      'External PostgreSQL >= 15 instead of the embedded one (a superuser URL for `axiom db migrate`).',
    ),
  AXIOM_DB_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(0)
    .describe('Embedded PostgreSQL port; 0 picks a free one.'),
  AXIOM_DB_NAME: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('axiom')
    .describe('Database name.'),
  AXIOM_DB_POOL_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .optional()
    .describe(
      'Database connections of the HTTPS server (default: 3 per CPU core of this machine, from 4 to 20). More connections than the database server can run at once make every request slower.',
    ),
  AXIOM_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
  AXIOM_KEK_FILE: z
    .string()
    .optional()
    .describe('Local key-encryption key file (default <data dir>/kek.json).'),
  AXIOM_BCRYPT_COST: z.coerce
    .number()
    .int()
    .min(4)
    .max(15)
    .default(12)
    .describe('bcrypt cost for passwords.'),
  AXIOM_ORG_KEY_BITS: z.coerce
    .number()
    .int()
    .refine((n) => n === 2048 || n === 3072 || n === 4096, 'one of 2048, 3072, 4096')
    .default(3072)
    .describe('RSA size of each organization key pair.'),
  AXIOM_HTTP_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('Address the HTTPS server listens on.'),
  AXIOM_HTTP_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8443)
    .describe('HTTPS port; 0 picks a free one.'),
  AXIOM_PUBLIC_URL: z
    .url()
    .regex(/^https?:\/\/[^/]+\/?$/, 'an origin such as https://axiom.example.com')
    .optional()
    .describe(
      'The URL people reach Axiom at (redirects, SAML, WebAuthn origin). Default https://localhost:<port>.',
    ),
  AXIOM_TLS_CERT_FILE: z
    .string()
    .optional()
    .describe('PEM certificate; without it a self-signed one is made in <data dir>/tls.'),
  AXIOM_TLS_KEY_FILE: z.string().optional().describe('PEM private key for AXIOM_TLS_CERT_FILE.'),
  AXIOM_RATE_LIMIT_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(10)
    .max(1_000_000)
    .default(600)
    .describe('HTTP requests per minute per session (or per address before sign-in).'),
  AXIOM_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024)
    .describe('Largest accepted HTTP request body.'),
  AXIOM_URL: z
    .url()
    .regex(/^https:\/\/[^/]+\/?$/, 'an https origin such as https://axiom.example.com:8443')
    .optional()
    .describe('The Axiom server the CLI talks to (default https://localhost:8443).'),
  AXIOM_CA_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'PEM certificate(s) the CLI trusts for the server (default <data dir>/tls/cert.pem when present, else the system CAs).',
    ),
  AXIOM_DB_FAST_UNSAFE: bool
    .default(false)
    .describe('Embedded only: fsync off (tests). Never in production.'),
  AXIOM_CHECKPOINT_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Where signed checkpoints are published, append-only (default <data dir>/checkpoints). Keep it out of the database server’s reach.',
    ),
  AXIOM_CHECKPOINT_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'The Ed25519 checkpoint signing key, mode 0600 (default <data dir>/checkpoint-key.pem; created on first use).',
    ),
  AXIOM_CHECKPOINT_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name')
    .optional()
    .describe(
      'Publish signed checkpoints to this S3 bucket instead of AXIOM_CHECKPOINT_DIR. It must have Object Lock enabled (checked at start); each checkpoint is locked in COMPLIANCE mode. Credentials: the platform identity (the SDK’s default chain).',
    ),
  AXIOM_CHECKPOINT_S3_PREFIX: z
    .string()
    .max(200)
    .regex(/^(|.*\/)$/, 'empty, or ending in /')
    .default('axiom-checkpoints/')
    .describe('Key prefix of the checkpoints in AXIOM_CHECKPOINT_S3_BUCKET.'),
  AXIOM_CHECKPOINT_S3_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
    .default('us-east-1')
    .describe('Region of AXIOM_CHECKPOINT_S3_BUCKET.'),
  AXIOM_CHECKPOINT_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .max(36500)
    .default(2557)
    .describe(
      'How long each checkpoint published to S3 stays locked (COMPLIANCE mode: nobody can delete it or shorten this), in days (default 7 years).',
    ),
  AXIOM_CHECKPOINT_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86400)
    .default(3600)
    .describe('How often the server signs a checkpoint of every organization; 0 turns it off.'),
  AXIOM_RETENTION_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86400)
    .default(3600)
    .describe(
      'How often the server archives audit entries past each plan’s retention; 0 turns it off.',
    ),
  AXIOM_DEMO: bool
    .default(true)
    .describe(
      'Run the demo: the sandbox cloud with a generated account and a demo organization connected to it. Turn off for production.',
    ),
  AXIOM_SANDBOX_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(0)
    .describe('Port of the demo sandbox cloud on 127.0.0.1; 0 picks a free one.'),
  AXIOM_DEMO_SIZE: z.coerce
    .number()
    .int()
    .min(20)
    .max(20_000)
    .default(300)
    .describe('Approximate number of resources in the generated demo account.'),
  AWS_ENDPOINT_URL: z
    .url()
    .regex(/^https?:\/\//, 'an http(s) URL')
    .optional()
    .describe(
      'Send every AWS call to this AWS-compatible endpoint (as the AWS SDK understands it), e.g. the sandbox cloud.',
    ),
  AXIOM_PLATFORM_ACCOUNT_ID: z
    .string()
    .regex(/^[0-9]{12}$/, 'a 12-digit AWS account id')
    .default('111111111111')
    .describe(
      "Axiom's own AWS account: the principal of every scan role's trust policy (the sandbox's default is 111111111111).",
    ),
  AXIOM_KMS_KEY_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]{1,128}$/, 'a KMS key ARN')
    .optional()
    .describe(
      'Wrap data keys with this AWS KMS key instead of the local key file (which keeps unwrapping older wraps).',
    ),
  AXIOM_SCAN_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(32)
    .default(8)
    .describe('Concurrent AWS calls per (account, region, service) during a scan.'),
  AXIOM_SCAN_RATE_PER_SECOND: z.coerce
    .number()
    .min(1)
    .max(10_000)
    .default(400)
    .describe(
      'AWS calls per second per scanned account (one token bucket shared by all its regions).',
    ),
  AXIOM_SCAN_SERVICE_BUDGET_SECONDS: z.coerce
    .number()
    .int()
    .min(5)
    .max(3000)
    .default(600)
    .describe('Time budget of one service in one region; past it the scan is partial.'),
  AXIOM_WORKER_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(16)
    .default(2)
    .describe('Jobs (scans) one worker process runs at once.'),
  AXIOM_MEMORY: z
    .enum(MEMORY_POLICIES)
    .default('lean')
    .describe(
      "lean: the JavaScript heap's young generation keeps its initial size and the heap grows 60% past its live data; v8: V8's own policy.",
    ),
});

export type Config = Readonly<{
  dataDir: string;
  databaseUrl: string | undefined;
  dbPort: number;
  /** Connections of the HTTPS server's pool. */
  dbPoolSize: number;
  dbName: string;
  logLevel: z.infer<typeof schema>['AXIOM_LOG_LEVEL'];
  kekFile: string;
  bcryptCost: number;
  orgKeyBits: 2048 | 3072 | 4096;
  dbFastUnsafe: boolean;
  memory: MemoryPolicy;
  audit: Readonly<{
    checkpointDir: string;
    checkpointKeyFile: string;
    checkpointIntervalSeconds: number;
    retentionIntervalSeconds: number;
    /** Object-locked S3 publishing, when AXIOM_CHECKPOINT_S3_BUCKET is set. */
    checkpointS3:
      | Readonly<{ bucket: string; prefix: string; region: string; retentionDays: number }>
      | undefined;
  }>;
  demo: Readonly<{ enabled: boolean; sandboxPort: number; size: number }>;
  cloud: Readonly<{
    endpointUrl: string | undefined;
    platformAccountId: string;
    kmsKeyArn: string | undefined;
    scanConcurrency: number;
    scanRatePerSecond: number;
    serviceBudgetMs: number;
    workerConcurrency: number;
  }>;
  http: Readonly<{
    host: string;
    port: number;
    publicUrl: string | undefined;
    tlsCertFile: string | undefined;
    tlsKeyFile: string | undefined;
    rateLimitPerMinute: number;
    bodyLimitBytes: number;
  }>;
  cli: Readonly<{
    /** The server the CLI talks to, when configured (AXIOM_URL). */
    url: string | undefined;
    caFile: string | undefined;
  }>;
}>;

/**
 * Three connections per core: enough to overlap each commit's wait for the disk, few enough that the
 * backends do not compete for the same cores (on two cores, 20 connections cost ~25% more PostgreSQL
 * CPU per request than 6 and served fewer requests: bench/REPORT.md).
 */
export function defaultPoolSize(cores = os.availableParallelism()): number {
  return Math.min(20, Math.max(4, 3 * cores));
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parse configuration from an environment-like record (process.env at the composition root). */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (Boolean(e.AXIOM_TLS_CERT_FILE) !== Boolean(e.AXIOM_TLS_KEY_FILE)) {
    throw new ConfigError(
      'invalid configuration:\n  AXIOM_TLS_CERT_FILE and AXIOM_TLS_KEY_FILE go together',
    );
  }
  const dataDir = path.resolve(e.AXIOM_DATA_DIR);
  return Object.freeze({
    dataDir,
    databaseUrl: e.DATABASE_URL,
    dbPort: e.AXIOM_DB_PORT,
    dbPoolSize: e.AXIOM_DB_POOL_SIZE ?? defaultPoolSize(),
    dbName: e.AXIOM_DB_NAME,
    logLevel: e.AXIOM_LOG_LEVEL,
    kekFile: path.resolve(e.AXIOM_KEK_FILE ?? path.join(dataDir, 'kek.json')),
    bcryptCost: e.AXIOM_BCRYPT_COST,
    orgKeyBits: e.AXIOM_ORG_KEY_BITS as 2048 | 3072 | 4096,
    dbFastUnsafe: e.AXIOM_DB_FAST_UNSAFE,
    memory: e.AXIOM_MEMORY,
    audit: Object.freeze({
      checkpointDir: path.resolve(e.AXIOM_CHECKPOINT_DIR ?? path.join(dataDir, 'checkpoints')),
      checkpointKeyFile: path.resolve(
        e.AXIOM_CHECKPOINT_KEY_FILE ?? path.join(dataDir, 'checkpoint-key.pem'),
      ),
      checkpointIntervalSeconds: e.AXIOM_CHECKPOINT_INTERVAL_SECONDS,
      retentionIntervalSeconds: e.AXIOM_RETENTION_INTERVAL_SECONDS,
      checkpointS3: e.AXIOM_CHECKPOINT_S3_BUCKET
        ? Object.freeze({
            bucket: e.AXIOM_CHECKPOINT_S3_BUCKET,
            prefix: e.AXIOM_CHECKPOINT_S3_PREFIX,
            region: e.AXIOM_CHECKPOINT_S3_REGION,
            retentionDays: e.AXIOM_CHECKPOINT_RETENTION_DAYS,
          })
        : undefined,
    }),
    demo: Object.freeze({
      enabled: e.AXIOM_DEMO,
      sandboxPort: e.AXIOM_SANDBOX_PORT,
      size: e.AXIOM_DEMO_SIZE,
    }),
    cloud: Object.freeze({
      endpointUrl: e.AWS_ENDPOINT_URL?.replace(/\/$/, ''),
      platformAccountId: e.AXIOM_PLATFORM_ACCOUNT_ID,
      kmsKeyArn: e.AXIOM_KMS_KEY_ARN,
      scanConcurrency: e.AXIOM_SCAN_CONCURRENCY,
      scanRatePerSecond: e.AXIOM_SCAN_RATE_PER_SECOND,
      serviceBudgetMs: e.AXIOM_SCAN_SERVICE_BUDGET_SECONDS * 1000,
      workerConcurrency: e.AXIOM_WORKER_CONCURRENCY,
    }),
    http: Object.freeze({
      host: e.AXIOM_HTTP_HOST,
      port: e.AXIOM_HTTP_PORT,
      publicUrl: e.AXIOM_PUBLIC_URL?.replace(/\/$/, ''),
      tlsCertFile: e.AXIOM_TLS_CERT_FILE,
      tlsKeyFile: e.AXIOM_TLS_KEY_FILE,
      rateLimitPerMinute: e.AXIOM_RATE_LIMIT_PER_MINUTE,
      bodyLimitBytes: e.AXIOM_BODY_LIMIT_BYTES,
    }),
    cli: Object.freeze({
      url: e.AXIOM_URL?.replace(/\/$/, ''),
      caFile: e.AXIOM_CA_FILE ? path.resolve(e.AXIOM_CA_FILE) : undefined,
    }),
  });
}

/** The documented variables, for the README table and `axiom config`. */
export const configVariables = Object.entries(schema.shape).map(([name, s]) => ({
  name,
  description: s.description ?? '',
}));
