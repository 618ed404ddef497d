// The scanning process of bench/scan.ts: one scan, run as a worker runs it — the memory policy of
// bin/axiom.js (src/heap.ts), an axiom_user pool, the agent's session — holding only what a scan needs,
// and reporting its time and peak memory (RSS) on stdout. The job arrives as one JSON line on stdin.
// Like bin/axiom.js, the memory policy is applied before the rest of Axiom is loaded.
import readline from 'node:readline';
import type { AwsCredentials } from '../src/cloud/aws.js';
import { loadConfig } from '../src/config/index.js';
import type { ConnectionTarget } from '../src/db/bootstrap.js';
import { applyMemoryPolicy } from '../src/heap.js';

const CONCURRENCY = Number(process.env.BENCH_SCAN_CONCURRENCY ?? 16);

/** What the scanning process is given (on stdin, as one JSON line). */
export interface ScanJob {
  target: ConnectionTarget;
  kekFile: string;
  settings: { endpointUrl: string; platformAccountId: string; platformCredentials: AwsCredentials };
  agentToken: string;
  organizationId: string;
  scanId: string;
}

export interface ScanReport {
  seconds: number;
  rssBefore: number;
  peakRss: number;
  peakHeap: number;
  outcome: { status: string; calls: number; resources: number };
}

async function main(): Promise<void> {
  applyMemoryPolicy(loadConfig(process.env).memory);
  const [
    { default: pg },
    { runScan },
    { Api },
    { connectionString },
    { createLogger },
    { DataKeys },
    { LocalKeyFile },
    { KekRing },
  ] = await Promise.all([
    import('pg'),
    import('../src/cloud/scanner.js'),
    import('../src/db/api.js'),
    import('../src/db/bootstrap.js'),
    import('../src/logger.js'),
    import('../src/security/datakeys.js'),
    import('../src/security/kek.js'),
    import('../src/security/kms.js'),
  ]);
  const rl = readline.createInterface({ input: process.stdin });
  const job = JSON.parse(String((await rl[Symbol.asyncIterator]().next()).value)) as ScanJob;
  const pool = new pg.Pool({ connectionString: connectionString(job.target), max: 4 });
  const api = new Api(pool);
  const rssBefore = process.memoryUsage().rss;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed + m.external + m.arrayBuffers);
  }, 50);
  const started = Date.now();
  const outcome = await runScan(
    {
      api,
      dataKeys: new DataKeys(api, new KekRing(LocalKeyFile.open(job.kekFile))),
      settings: job.settings,
      logger: createLogger({
        level: process.env.BENCH_SCAN_LOG_LEVEL ?? 'warn',
        destination: process.stderr as never,
      }),
      limits: { concurrency: CONCURRENCY, ratePerSecond: 5000, serviceBudgetMs: 120_000 },
    },
    { token: job.agentToken },
    job.organizationId,
    job.scanId,
  );
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  await pool.end();
  const report: ScanReport = {
    seconds,
    rssBefore,
    peakRss: process.resourceUsage().maxRSS * 1024,
    peakHeap,
    outcome: { status: outcome.status, calls: outcome.calls, resources: outcome.resources },
  };
  process.stdout.write(JSON.stringify(report) + '\n');
  process.exit(0);
}

await main();
