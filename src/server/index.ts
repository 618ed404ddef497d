// The composition root of the running product: the HTTPS API on top of an open database. `axiom start`
// and the tests build the server through here, so they run the same thing.
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { CheckpointKey, CheckpointService } from '../audit/checkpoints.js';
import { openCheckpointStore } from '../audit/checkpoint-s3.js';
import { AuditTimer, checkpointTask, retentionTask } from '../audit/maintenance.js';
import type { Config } from '../config/index.js';
import { Api, createPool } from '../db/api.js';
import { connectionString } from '../db/bootstrap.js';
import type { OpenDatabase } from '../db/database.js';
import { buildServer, type HttpDeps } from '../http/server.js';
import { loadOrCreateTls, type TlsMaterial } from '../http/tls.js';
import type { IdentityDeps } from '../identity/context.js';
import type { Logger } from '../logger.js';
import { LocalKeyFile, type KekProvider } from '../security/kek.js';
import type { CloudSettings } from '../cloud/aws.js';
import { cloudDeps, cloudSettings } from '../cloud/index.js';
import { openQueue, type Queue } from '../jobs/queue.js';

export interface RunningServer {
  app: FastifyInstance;
  api: Api;
  /** Where the server listens, e.g. https://127.0.0.1:8443. */
  url: string;
  /** The public URL (cookies, redirects, WebAuthn origin). */
  publicUrl: string;
  tls: TlsMaterial;
  close(): Promise<void>;
}

export interface ServerOptions {
  config: Config;
  logger: Logger;
  db: Pick<OpenDatabase, 'targets' | 'secrets'>;
  kek?: KekProvider;
  extend?: HttpDeps['extend'];
  /**
   * Cloud routes: settings beyond the configuration (the sandbox's platform credentials in the demo
   * and tests), and the job queue (default: opened as axiom_worker when its target is known).
   */
  cloud?: { settings?: Partial<CloudSettings>; queue?: Queue };
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { config, logger, db } = opts;
  // Opened first: an object-locked bucket that is missing or unlocked stops the start (checkpoints in
  // storage that can be emptied would be a false assurance).
  const checkpointStore = await openCheckpointStore(
    config,
    cloudSettings(config, opts.cloud?.settings),
  );
  const pool = createPool(connectionString(db.targets.user), config.dbPoolSize);
  const api = new Api(pool);
  const kek = opts.kek ?? LocalKeyFile.open(config.kekFile, { create: true });
  const identity: IdentityDeps = {
    api,
    serviceSecret: db.secrets.workerSecret,
    publicUrl: config.http.publicUrl ?? `https://localhost:${config.http.port}`,
    kek,
  };
  const cloud = cloudDeps(config, api, kek, opts.cloud?.settings);
  let queue: Queue | undefined = opts.cloud?.queue;
  const ownQueue = !queue && db.targets.worker !== undefined;
  if (ownQueue) queue = await openQueue(connectionString(db.targets.worker), logger);
  const hostnames = ['localhost', config.http.host];
  if (config.http.publicUrl) hostnames.unshift(new URL(config.http.publicUrl).hostname);
  // Signed checkpoints: the key stays in a file (never in the database), the checkpoints go to a
  // directory the database cannot write or to an object-locked bucket; a timer signs every
  // organization's chains and archives what is past each plan's retention (src/audit/maintenance.ts).
  const checkpoints = new CheckpointService({
    api,
    serviceSecret: db.secrets.workerSecret,
    key: CheckpointKey.open(config.audit.checkpointKeyFile, { create: true }),
    store: checkpointStore,
  });
  const timer = new AuditTimer(logger.child({ component: 'audit' }))
    .every(retentionTask(api, db.secrets.workerSecret), config.audit.retentionIntervalSeconds)
    .every(checkpointTask(checkpoints), config.audit.checkpointIntervalSeconds);
  const tls = await loadOrCreateTls({
    dataDir: config.dataDir,
    certFile: config.http.tlsCertFile,
    keyFile: config.http.tlsKeyFile,
    hostnames: [...new Set(hostnames)],
  });
  let app: FastifyInstance;
  try {
    app = await buildServer(
      {
        api,
        logger,
        identity,
        config: {
          publicUrl: identity.publicUrl,
          rateLimitPerMinute: config.http.rateLimitPerMinute,
          bodyLimitBytes: config.http.bodyLimitBytes,
        },
        cloud: { deps: cloud, queue },
        audit: { checkpoints },
        ...(opts.extend ? { extend: opts.extend } : {}),
      },
      tls,
    );
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (e) {
    await timer.stop();
    await pool.end();
    if (ownQueue) await queue?.close();
    checkpointStore.close?.();
    throw e;
  }
  const port = (app.server.address() as AddressInfo).port;
  if (!config.http.publicUrl) identity.publicUrl = `https://localhost:${port}`;
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  return {
    app,
    api,
    url: `https://${host}:${port}`,
    publicUrl: identity.publicUrl,
    tls,
    close: async () => {
      await timer.stop();
      await app.close();
      if (ownQueue) await queue?.close();
      await pool.end();
      checkpointStore.close?.();
    },
  };
}
