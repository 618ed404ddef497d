// A worker in its own process, for the crash test: the real startWorker as axiom_worker against the
// sandbox, configured from the environment; it runs until it is killed.
import pg from 'pg';
import { Api } from '../../src/db/api.js';
import { startWorker } from '../../src/jobs/worker.js';
import { createLogger } from '../../src/logger.js';
import { DataKeys } from '../../src/security/datakeys.js';
import { LocalKeyFile } from '../../src/security/kek.js';
import { KekRing } from '../../src/security/kms.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const connectionString = env('CHILD_WORKER_DB');
const pool = new pg.Pool({ connectionString, max: 4 });
const api = new Api(pool);
await startWorker({
  connectionString,
  api,
  workerSecret: env('CHILD_WORKER_SECRET'),
  dataKeys: new DataKeys(api, new KekRing(LocalKeyFile.open(env('CHILD_WORKER_KEK')))),
  settings: JSON.parse(env('CHILD_WORKER_CLOUD')) as never,
  limits: { concurrency: 4, ratePerSecond: 1000, serviceBudgetMs: 60_000 },
  logger: createLogger({ level: 'silent' }),
  concurrency: 1,
  pollIntervalMs: 100,
  executionWait: { pollMs: 5, timeoutMs: 10_000 },
});
process.stdout.write('ready\n');
