// Issue 5 benchmark: a 10,000-resource sandbox account over 3 regions scanned end to end — assume the
// role, collect every service and region, ingest into PostgreSQL (durable settings) through the api
// functions as the agent — against targets of ≤ 20 s and ≤ 300 MB peak RSS of this (the scanning)
// process. The sandbox runs in a child process so it does not share the event loop. Baseline, in the
// same run: the raw sandbox call rate of simple Describe calls at the same concurrency.
// Run: npm run bench scan   (BENCH_SCAN_SIZE, BENCH_SCAN_CONCURRENCY to tune)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import { AwsSession, assumeRole, platformSts, type AwsCredentials } from '../src/cloud/aws.js';
import { createConnection, testConnection } from '../src/cloud/connections.js';
import { runScan } from '../src/cloud/scanner.js';
import { createLogger } from '../src/logger.js';
import { startSandbox } from '../src/sandbox/index.js';
import { DataKeys } from '../src/security/datakeys.js';
import { LocalKeyFile } from '../src/security/kek.js';
import { KekRing } from '../src/security/kms.js';
import { generateOrgKeyPair, wrapOrgKey } from '../src/security/orgkeys.js';
import { scanPermissionsPolicy, trustPolicy } from '../src/cloud/policies.js';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { startBenchCluster } from './support.js';
import { table, writeSection } from './report.js';

const SIZE = Number(process.env.BENCH_SCAN_SIZE ?? 10_000);
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const CONCURRENCY = Number(process.env.BENCH_SCAN_CONCURRENCY ?? 16);

interface ChildInfo {
  endpoint: string;
  platform: { accountId: string; credentials: AwsCredentials };
  account: { accountId: string; adminCredentials: AwsCredentials };
}

async function serve(): Promise<void> {
  const sb = await startSandbox({
    accounts: [{ seed: 'bench-scan', size: SIZE, regions: REGIONS }],
    maxCallLog: 1000,
  });
  const info: ChildInfo = {
    endpoint: sb.endpoint,
    platform: { accountId: sb.platform.accountId, credentials: sb.platform.credentials },
    account: {
      accountId: sb.accounts[0]!.accountId,
      adminCredentials: sb.accounts[0]!.adminCredentials,
    },
  };
  process.stdout.write(JSON.stringify(info) + '\n');
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) if (line === 'quit') break;
  await sb.stop();
  process.exit(0);
}

async function parent(): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_SCAN_PROFILE=DIR writes a CPU profile of the sandbox process there.
      ...(process.env.BENCH_SCAN_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SCAN_PROFILE}`]
        : []),
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--serve',
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_SCAN_SIZE: String(SIZE) },
    },
  );
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const info = JSON.parse(String((await lines.next()).value)) as ChildInfo;
  const b = await startBenchCluster();
  // Holds the run's key-encryption key: removed at the end, whatever happens.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-bench-scan-'));
  try {
    const kek = LocalKeyFile.open(path.join(dir, 'kek.json'), { create: true });
    const slug = `bench-scan-${process.pid}`;
    const password = 'bench-scan-password-1';
    const org = await b.api.raw<{ organization_id: string }>('organization_bootstrap', [
      b.secrets.bootstrapSecret,
      {
        slug,
        name: slug,
        plan_tier: 'growth',
        admin: { email: `a@${slug}.x`, display_name: 'A', password },
        key: await wrapOrgKey(kek, await generateOrgKeyPair(2048), slug),
      },
    ]);
    const admin = {
      token: (
        await b.api.raw<{ token: string }>('session_login_password', [
          slug,
          `a@${slug}.x`,
          password,
          '{}',
        ])
      ).token,
    };
    const facility = (
      await b.api.call<{ id: string }>('facility_create', admin, 'prod', 'Prod', 'production')
    ).id;
    const settings = {
      endpointUrl: info.endpoint,
      platformAccountId: info.platform.accountId,
      platformCredentials: info.platform.credentials,
    };
    const deps = { api: b.api, dataKeys: new DataKeys(b.api, new KekRing(kek)), settings };
    const acct = info.account.accountId;
    const conn = await createConnection(deps, admin, {
      facilityId: facility,
      accountId: acct,
      roleArn: `arn:aws:iam::${acct}:role/AxiomScanRole`,
    });
    const iam = new IAMClient({
      endpoint: info.endpoint,
      region: 'us-east-1',
      credentials: info.account.adminCredentials,
    });
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'AxiomScanRole',
        AssumeRolePolicyDocument: JSON.stringify(
          trustPolicy(info.platform.accountId, [conn.external_ids[0]!.external_id]),
        ),
      }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'AxiomScanRole',
        PolicyName: 'axiom',
        PolicyDocument: JSON.stringify(scanPermissionsPolicy()),
      }),
    );
    iam.destroy();
    const tested = await testConnection(deps, admin, conn.id);
    if (!tested.report.ok) throw new Error(`connection test failed: ${tested.report.message}`);

    // Baseline: simple Describe calls at the same concurrency, with the same kind of session.
    const assumed = await assumeRole(
      platformSts(settings),
      `arn:aws:iam::${acct}:role/AxiomScanRole`,
      [conn.external_ids[0]!.external_id],
      'axiom-bench-baseline',
    );
    if (!assumed.ok) throw new Error(assumed.code);
    const session = new AwsSession(settings, assumed.credentials, () => {});
    const ec2: EC2Client = session.ec2('us-east-1');
    let baselineCalls = 0;
    const baseEnd = Date.now() + 3000;
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < baseEnd) {
          await ec2.send(new DescribeVolumesCommand({ MaxResults: 5 }));
          baselineCalls++;
        }
      }),
    );
    const baselineRate = baselineCalls / ((Date.now() - t0) / 1000);
    session.close();

    // The scan, end to end.
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let peakHeap = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed + m.external + m.arrayBuffers);
    }, 50);
    const agent = {
      token: (
        await b.api.raw<{ token: string }>('agent_session_open', [
          b.secrets.workerSecret,
          org.organization_id,
        ])
      ).token,
    };
    const scan = await b.api.call<{ id: string }>('scan_start', admin, conn.id, 'manual');
    const started = Date.now();
    const outcome = await runScan(
      {
        ...deps,
        logger: createLogger({
          level: process.env.BENCH_SCAN_LOG_LEVEL ?? 'warn',
          destination: process.stderr as never,
        }),
        limits: { concurrency: CONCURRENCY, ratePerSecond: 5000, serviceBudgetMs: 120_000 },
      },
      agent,
      org.organization_id,
      scan.id,
    );
    const seconds = (Date.now() - started) / 1000;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
    const mb = peakRss / 2 ** 20;
    const stored = await b.api.call<{
      status: string;
      summary: { changes: { resources: number } };
    }>('scan_get', admin, scan.id);
    const load = os.loadavg()[0]!.toFixed(2);
    const rows = [
      {
        measurement: `baseline: DescribeVolumes MaxResults=5, ${CONCURRENCY} concurrent`,
        'calls/s': Math.round(baselineRate),
        seconds: 3,
        resources: '',
        'resources/s': '',
        'peak RSS MB': '',
        target: '',
      },
      {
        measurement: `scan: ${REGIONS.length} regions, ${stored.status}`,
        'calls/s': Math.round(outcome.calls / seconds),
        seconds: Number(seconds.toFixed(2)),
        resources: stored.summary.changes.resources,
        'resources/s': Math.round(stored.summary.changes.resources / seconds),
        'peak RSS MB': `${Math.round(mb)} (${Math.round(rssBefore / 2 ** 20)} before the scan; JS heap + buffers peak ${Math.round(peakHeap / 2 ** 20)})`,
        target: '≤ 20 s, ≤ 300 MB',
      },
    ];
    writeSection(
      'scan',
      'Scanning (issue 5)',
      `A sandbox account generated with size ${SIZE} over ${REGIONS.join(', ')} (the sandbox in a child process), scanned end to end: AssumeRole with the External ID, every service and region collected through the read-only firewall (${CONCURRENCY} concurrent calls per service and region — for S3, per region of the buckets — one rate limiter for the account), ingested as the agent in batches of 500 through api.scan_ingest (durable PostgreSQL settings), final status written last. ${outcome.calls} AWS calls in total; the scan's calls/s against the raw call rate of the same sandbox at the same concurrency, measured first.\n\nTargets ${seconds <= 20 && mb <= 300 ? 'met' : 'NOT met'} in this run (${seconds.toFixed(1)} s, ${Math.round(mb)} MB). The scan runs at about the raw call rate of the sandbox (first row), so its duration follows the machine's load; about 250 MB of the RSS is the process before the scan (Node, tsx, the AWS SDK clients).\n\n1-minute load average at the end of the run: ${load} (the machine is shared; wall-clock figures move with it).\n\n${table(rows)}\n\nWhere the time goes (load branch, \`node --cpu-prof\` of this process, BENCH_SCAN_LOG_LEVEL=debug for the phases): the scanning process is idle about half the time, waiting for the sandbox; its CPU is the AWS SDK (smithy core, XML, SigV4: ~1.3 ms per call) and Node's HTTP. api.scan_ingest keeps up with collection (ingestion ends within milliseconds of the last unit), and the checks plus api.finding_sync take 2–6 s after it. S3 was the critical path: one unit whose ≈4,800 per-bucket calls (of ≈8,500) went through one queue of ${CONCURRENCY} while the regional units finished early; each bucket's calls now take the concurrency of the bucket's region (same account rate limiter, same budget, same firewall), and every unit ends near the end of the scan. The scan's call rate went from 0.83× the raw rate of the sandbox to 1.1–1.5× (runs before and after the change at load averages 7–10). What remains is the sandbox's own call rate on this shared machine (the first row: 50–240 calls/s across runs today, ~1,000/s on a quiet core in the sandbox benchmark), which bounds a scan of ≈8,500 calls, and the memory of the bench process before the scan (≈260 MB: Node, tsx, the AWS SDK clients, the pg pools); the scan itself adds ≈170–200 MB at peak (the inventory it holds for the checks, the SDK's parsed pages in flight).`,
    );
  } finally {
    child.stdin.write('quit\n');
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--serve')) await serve();
else await parent();
