// Sandbox cloud throughput. The servers (the sandbox, and a baseline bare Node http server that
// answers a fixed valid XML body) run in a child process on their own core; the real AWS SDK v3
// clients run here. Reported: achieved calls/s (bounded by the SDK client on the other core) and
// the server's CPU time per call, i.e. its capacity on one core. Also the generation time for
// 20,000 resources. Run: npx tsx bench/sandbox.ts   (BENCH_MS, BENCH_CLIENTS to tune)
import { spawn } from 'node:child_process';
import os from 'node:os';
import http from 'node:http';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import {
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { startSandbox, generateAccount } from '../src/sandbox/index.js';
import { table, writeSection, type Row } from './report.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 4000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const FIXED = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?>\n<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>00000000-0000-0000-0000-000000000000</requestId><volumeSet/></DescribeVolumesResponse>',
);

/** Child mode: start both servers, report where they are, answer "cpu" with process.cpuUsage(). */
async function serve(): Promise<void> {
  const bare = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'text/xml;charset=UTF-8',
        'content-length': FIXED.length,
      });
      res.end(FIXED);
    });
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const sb = await startSandbox({
    accounts: [{ seed: 'bench', size: 400, regions: ['us-east-1'] }],
    maxCallLog: 1000,
  });
  process.stdout.write(
    JSON.stringify({
      sandbox: sb.endpoint,
      bare: `http://127.0.0.1:${(bare.address() as AddressInfo).port}`,
      credentials: sb.accounts[0]!.adminCredentials,
    }) + '\n',
  );
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line === 'cpu') {
      const u = process.cpuUsage();
      process.stdout.write(JSON.stringify({ cpuMs: (u.user + u.system) / 1000 }) + '\n');
    } else if (line === 'quit') break;
  }
  await sb.stop();
  bare.closeAllConnections();
  bare.close();
  process.exit(0);
}

async function parent(): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => JSON.parse(String((await lines.next()).value)) as T;
  const info = await next<{
    sandbox: string;
    bare: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  }>();
  const cpu = async (): Promise<number> => {
    child.stdin.write('cpu\n');
    return (await next<{ cpuMs: number }>()).cpuMs;
  };
  async function measure(
    label: string,
    endpoint: string,
    call: (c: EC2Client) => Promise<unknown>,
  ): Promise<Row> {
    const clients = Array.from(
      { length: CLIENTS },
      () => new EC2Client({ endpoint, region: 'us-east-1', credentials: info.credentials }),
    );
    for (const c of clients) await call(c);
    let done = 0;
    const lat: number[] = [];
    const cpu0 = await cpu();
    const t0 = performance.now();
    const end = t0 + DURATION_MS;
    await Promise.all(
      clients.map(async (c) => {
        while (performance.now() < end) {
          const s = performance.now();
          await call(c);
          lat.push(performance.now() - s);
          done++;
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const serverMs = (await cpu()) - cpu0;
    for (const c of clients) c.destroy();
    lat.sort((a, b) => a - b);
    const perCall = serverMs / done;
    return {
      workload: label,
      'calls/s': Math.round(done / secs),
      'p50 ms': lat[Math.floor(lat.length / 2)] ?? 0,
      'p99 ms': lat[Math.floor(lat.length * 0.99)] ?? 0,
      'server CPU ms/call': perCall,
      'server capacity, calls/s on one core': Math.round(1000 / perCall),
    };
  }
  const rows: Row[] = [];
  try {
    rows.push(
      await measure('baseline: bare http server, fixed body (DescribeVolumes)', info.bare, (c) =>
        c.send(new DescribeVolumesCommand({})),
      ),
    );
    rows.push(
      await measure('sandbox: DescribeVolumes MaxResults=5', info.sandbox, (c) =>
        c.send(new DescribeVolumesCommand({ MaxResults: 5 })),
      ),
    );
    rows.push(
      await measure('sandbox: DescribeSecurityGroups (all groups of a region)', info.sandbox, (c) =>
        c.send(new DescribeSecurityGroupsCommand({})),
      ),
    );
  } finally {
    child.stdin.write('quit\n');
    await new Promise((r) => child.once('exit', r));
  }
  const load = os.loadavg()[0]!.toFixed(2);
  const gen: Row[] = [];
  for (const size of [1000, 20_000]) {
    const t0 = performance.now();
    const g = generateAccount({
      seed: 'bench-gen',
      size,
      regions: ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1'],
    });
    gen.push({
      resources: size,
      'generation ms': Math.round(performance.now() - t0),
      'answer-key entries': g.answerKey.length,
    });
  }
  const body = [
    `Real AWS SDK v3 EC2 clients (${CLIENTS} concurrent, ${DURATION_MS / 1000} s per workload) in the bench process; the servers in a child process, so each side has one of the two cores. The achieved calls/s are bounded by the SDK client (signing and XML parsing), as the baseline shows; the server's CPU time per call gives its capacity on one core (target: ≥ 2,000 simple Describe calls/s).`,
    '',
    `1-minute load average at the end of the run: ${load} (other work on the machine skews wall-clock figures; the CPU-per-call column is the steadier one).`,
    '',
    table(rows),
    'Account generation (deterministic, four regions):',
    '',
    table(gen),
  ].join('\n');
  writeSection('sandbox', 'Sandbox cloud', body);
}

if (process.argv.includes('--serve')) await serve();
else await parent();
