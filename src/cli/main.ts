// `axiom` — the command line. Exit codes: 0 success, 1 a check failed (e.g. a broken chain),
// 2 any other error (bad usage, unreachable database, ...). See docs/cli.md.
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../config/index.js';
import { createLogger } from '../logger.js';
import { isAppError } from '../errors.js';
import { installSignalHandlers, shutdown } from '../lifecycle.js';
import { stdio, type Output } from './output.js';
import { registerDbCommands } from './commands/db.js';
import { registerDemoCommands } from './commands/demo.js';
import { registerVerifyCommands } from './commands/verify.js';
import { registerStartCommand } from './commands/start.js';
import { registerSandboxCommands } from './commands/sandbox.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerAuthCommands } from './commands/auth.js';
import { registerCloudCommands } from './commands/cloud.js';
import { registerScanCommands } from './commands/scans.js';
import { registerCheckCommands } from './commands/checks.js';
import { registerChangeRequestCommands } from './commands/change-requests.js';
import { registerRecordCommands } from './commands/records.js';
import { registerSignatureCommands } from './commands/signatures.js';
import { registerSsoCommands } from './commands/sso-setup.js';
import { registerFindingCommands } from './commands/findings.js';
import { registerOrganizationCommands } from './commands/organization.js';
import { registerOrgSettingsCommands } from './commands/org-settings.js';
import { registerPlanCommands } from './commands/plans.js';

export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export interface CliContext {
  env: Record<string, string | undefined>;
  io: Output;
  /** Where prompts read answers and --password-stdin reads the password (default process.stdin). */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where prompts are written (default process.stderr, so stdout stays clean for scripts). */
  promptOutput?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where progress bars are drawn, when it is a terminal (default process.stderr). */
  progressOutput?: NodeJS.WritableStream & { isTTY?: boolean };
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('axiom')
    .description('Axiom: a governed cloud-operations agent for AWS')
    .showHelpAfterError()
    // A command's options come before its subcommand's name: `axiom scan --connection ID` runs a scan,
    // `axiom scan list --connection ID` lists (the subcommand, not `scan`, takes --connection).
    .enablePositionalOptions()
    .exitOverride()
    // Usage errors and help go through the CLI's output too (tests run main() in-process).
    .configureOutput({
      writeOut: (text) => ctx.io.out(text.replace(/\n$/, '')),
      writeErr: (text) => ctx.io.err(text.replace(/\n$/, '')),
    });
  const lazy = {
    config: () => loadConfig(ctx.env),
    logger: (quiet = false) => {
      const config = loadConfig(ctx.env);
      return createLogger({
        level: quiet ? 'warn' : config.logLevel,
        destination: process.stderr as never,
      });
    },
  };
  registerStartCommand(program, ctx, lazy);
  registerDbCommands(program, ctx, lazy);
  registerDemoCommands(program, ctx, lazy);
  registerVerifyCommands(program, ctx, lazy);
  registerSandboxCommands(program, ctx, lazy);
  registerAuditCommands(program, ctx, lazy);
  registerAuthCommands(program, ctx, lazy);
  registerCloudCommands(program, ctx, lazy);
  registerScanCommands(program, ctx, lazy);
  registerFindingCommands(program, ctx, lazy);
  registerPlanCommands(program, ctx, lazy);
  registerChangeRequestCommands(program, ctx, lazy);
  registerRecordCommands(program, ctx, lazy);
  registerSignatureCommands(program, ctx, lazy);
  registerCheckCommands(program, ctx, lazy);
  registerOrgSettingsCommands(program, ctx, lazy);
  registerSsoCommands(program, ctx, lazy);
  registerOrganizationCommands(program, ctx, lazy);
  return program;
}

/** Whether the command line asks for machine output (--json before any `--`). */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

export type Lazy = {
  config: () => ReturnType<typeof loadConfig>;
  logger: (quiet?: boolean) => ReturnType<typeof createLogger>;
};

export async function main(
  argv: string[],
  ctx: CliContext = { env: process.env, io: stdio },
): Promise<number> {
  const program = buildProgram(ctx);
  installSignalHandlers();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof ExitCode) return e.code;
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : 2;
    }
    // With --json, a script gets the error as one JSON object on stderr (docs/cli.md).
    const json = wantsJson(argv);
    if (e instanceof ConfigError) {
      if (json)
        ctx.io.err(
          JSON.stringify({
            error: { code: 'invalid_input', reason: 'configuration', message: e.message },
          }),
        );
      else ctx.io.err(e.message);
      return 2;
    }
    if (isAppError(e)) {
      // The server no longer knows the session (idle, expired, signed out or revoked).
      const hint =
        e.reason === 'no_session'
          ? 'sign in again with `axiom login`, or set AXIOM_TOKEN to a valid token'
          : undefined;
      if (json) {
        ctx.io.err(
          JSON.stringify({
            error: {
              code: e.code,
              ...(e.reason ? { reason: e.reason } : {}),
              message: e.publicMessage,
              ...(hint ? { hint } : {}),
            },
          }),
        );
        return 2;
      }
      ctx.io.err(`error: ${e.publicMessage} (${e.code}${e.reason ? `/${e.reason}` : ''})`);
      if (hint) ctx.io.err(`hint: ${hint}`);
      return 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    if (json) ctx.io.err(JSON.stringify({ error: { code: 'internal', message } }));
    else ctx.io.err(`error: ${message}`);
    return 2;
  } finally {
    await shutdown();
  }
}
