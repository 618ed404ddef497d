// `axiom sandbox`: run the AWS-compatible sandbox cloud in the foreground (docs/sandbox.md).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { KNOWN_REGIONS } from '../../sandbox/engine.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { projectRoot } from '../../paths.js';
import { ExitCode, type CliContext, type Lazy } from '../main.js';

interface SandboxCliOptions {
  port: string;
  host: string;
  seed: string;
  size: string;
  accounts: string;
  regions: string;
  credentialsFile?: string;
  printCredentials?: boolean;
  json?: boolean;
}

/** Resolves when the process is asked to stop (SIGINT/SIGTERM), or when `stop` is signalled. */
export type StopSignal = Promise<void>;

function waitForSignal(): StopSignal {
  // Other modules (the embedded database's exit hook) exit the process on SIGINT/SIGTERM;
  // while the sandbox runs in the foreground it owns those signals, so it can stop cleanly.
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const saved = signals.map((sig) => [sig, process.listeners(sig)] as const);
  for (const sig of signals) process.removeAllListeners(sig);
  return new Promise((resolve) => {
    const done = () => {
      for (const sig of signals) process.off(sig, done);
      for (const [sig, list] of saved) for (const l of list) process.on(sig, l as () => void);
      resolve();
    };
    for (const sig of signals) process.on(sig, done);
  });
}

export function registerSandboxCommands(program: Command, ctx: CliContext, _lazy: Lazy): void {
  program
    .command('sandbox')
    .description('run the sandbox cloud (an AWS-compatible emulator) in the foreground')
    .option('--port <n>', 'TCP port on 127.0.0.1 (0 picks a free one)', '4566')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--seed <s>', 'generator seed', 'axiom-demo')
    .option('--size <k>', 'approximate resources per customer account', '200')
    .option('--accounts <n>', 'number of customer accounts to generate', '1')
    .option('--regions <list>', 'comma-separated regions to populate', 'us-east-1,eu-west-1')
    .option('--credentials-file <path>', 'where to write the credentials (mode 0600)')
    .option('--print-credentials', 'also print secret keys to the terminal')
    .option('--json', 'print the startup summary as JSON')
    .action(async (opts: SandboxCliOptions) => {
      const fail = (msg: string): never => {
        ctx.io.err(`error: ${msg}`);
        throw new ExitCode(2);
      };
      const int = (v: string, name: string, min: number, max: number): number => {
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < min || n > max)
          fail(`--${name} must be an integer between ${min} and ${max}`);
        return n;
      };
      const port = int(opts.port, 'port', 0, 65535);
      const size = int(opts.size, 'size', 1, 200_000);
      const count = int(opts.accounts, 'accounts', 1, 50);
      const regions = opts.regions
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      if (!regions.length) fail('--regions needs at least one region');
      for (const r of regions)
        if (!KNOWN_REGIONS.includes(r))
          fail(`unknown region ${r} (known: ${KNOWN_REGIONS.join(', ')})`);
      if (!opts.seed) fail('--seed must not be empty');

      let sb: Sandbox;
      try {
        sb = await startSandbox({
          port,
          host: opts.host,
          accounts: Array.from({ length: count }, (_, i) => ({
            seed: count === 1 ? opts.seed : `${opts.seed}-${i + 1}`,
            size,
            regions,
          })),
        });
      } catch (e) {
        return fail(`could not start the sandbox: ${e instanceof Error ? e.message : String(e)}`);
      }
      try {
        const file = path.resolve(
          opts.credentialsFile ?? path.join(projectRoot, '.axiom', 'sandbox', 'credentials.json'),
        );
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const secrets = {
          endpoint: sb.endpoint,
          platform: { accountId: sb.platform.accountId, ...sb.platform.credentials },
          accounts: sb.accounts.map((a) => ({
            accountId: a.accountId,
            name: a.name,
            regions: a.regions,
            admin: a.adminCredentials,
          })),
        };
        fs.writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
        fs.chmodSync(file, 0o600);
        const summary = {
          endpoint: sb.endpoint,
          credentialsFile: file,
          platformAccountId: sb.platform.accountId,
          accounts: sb.accounts.map((a) => ({
            accountId: a.accountId,
            name: a.name,
            regions: a.regions,
            plantedProblems: sb.control.answerKey(a.accountId).length,
          })),
          control: `${sb.endpoint}/_sandbox/`,
        };
        if (opts.json)
          ctx.io.json(opts.printCredentials ? { ...summary, credentials: secrets } : summary);
        else {
          ctx.io.out(`sandbox cloud listening on ${sb.endpoint}`);
          ctx.io.out(`  export AWS_ENDPOINT_URL=${sb.endpoint}`);
          ctx.io.out(`  credentials (platform and customer admins): ${file}`);
          ctx.io.out(`  platform account ${sb.platform.accountId}`);
          for (const a of summary.accounts)
            ctx.io.out(
              `  customer account ${a.accountId} (${a.name}) in ${a.regions.join(', ')}: ${a.plantedProblems} planted problems`,
            );
          ctx.io.out(`  control API: ${summary.control}info`);
          if (opts.printCredentials) {
            ctx.io.out(
              `  platform: ${sb.platform.credentials.accessKeyId} ${sb.platform.credentials.secretAccessKey}`,
            );
            for (const a of sb.accounts)
              ctx.io.out(
                `  ${a.accountId} admin: ${a.adminCredentials.accessKeyId} ${a.adminCredentials.secretAccessKey}`,
              );
          }
          ctx.io.out('press Ctrl-C to stop');
        }
        await (sandboxStopSignal ?? waitForSignal)();
      } finally {
        await sb.stop();
      }
      ctx.io.out('sandbox stopped');
    });
}

/** Tests replace the signal wait with their own promise. */
export let sandboxStopSignal: (() => StopSignal) | undefined;
export function setSandboxStopSignal(fn: (() => StopSignal) | undefined): void {
  sandboxStopSignal = fn;
}
