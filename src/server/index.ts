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
  // Whatever opens below is closed again, in reverse order, if a later step fails (a bad TLS file, an
  // unreachable queue, a port in use): a failed start leaves no pool, queue, timer or bucket client.
  const opened: Array<() => Promise<void> | void> = [() => checkpointStore.close?.()];
  // Each part is closed once, even when another fails to close; the first failure is reported.
  const undo = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const close of opened.splice(0).reverse()) {
      try {
        await close();
      } catch (e) {
        failures.push(e);
      }
    }
    if (failures.length > 0) throw failures[0];
  };
  let started: Omit<RunningServer, 'close' | 'url' | 'publicUrl'> & {
    stop: () => Promise<void>;
    identity: IdentityDeps;
  };
  try {
    const pool = createPool(connectionString(db.targets.user), config.dbPoolSize);
    opened.push(() => pool.end());
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
    if (!queue && db.targets.worker !== undefined) {
      const own = await openQueue(connectionString(db.targets.worker), logger);
      opened.push(() => own.close());
      queue = own;
    }
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
    const tls = await loadOrCreateTls({
      dataDir: config.dataDir,
      certFile: config.http.tlsCertFile,
      keyFile: config.http.tlsKeyFile,
      hostnames: [...new Set(hostnames)],
    });
    const app = await buildServer(
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
    opened.push(() => app.close());
    await app.listen({ host: config.http.host, port: config.http.port });
    // The audit tasks start once the server is up (and stop first when it closes).
    const timer = new AuditTimer(logger.child({ component: 'audit' }))
      .every(retentionTask(api, db.secrets.workerSecret), config.audit.retentionIntervalSeconds)
      .every(checkpointTask(checkpoints), config.audit.checkpointIntervalSeconds);
    opened.push(() => timer.stop());
    started = { app, api, tls, identity, stop: undo };
  } catch (e) {
    // The start's own failure is what the caller needs to see, not a failure to close.
    await undo().catch(() => undefined);
    throw e;
  }
  const { app, api, tls, identity } = started;
  const port = (app.server.address() as AddressInfo).port;
  if (!config.http.publicUrl) identity.publicUrl = `https://localhost:${port}`;
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  return {
    app,
    api,
    url: `https://${host}:${port}`,
    publicUrl: identity.publicUrl,
    tls,
    // The timer first, then the HTTP server, the queue, the pool and the bucket client.
    close: started.stop,
  };
}
