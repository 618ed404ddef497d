import type { Command } from 'commander';
import { withLocalApi } from '../local.js';
import { ExitCode, type CliContext, type Lazy } from '../main.js';

interface Verified {
  intact: boolean;
  problems: Array<{
    table: string;
    organization_id: string;
    record_id: string;
    position: number;
    problem: string;
  }>;
  counts: Record<string, number>;
}

export function registerVerifyCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  program
    .command('verify')
    .description('verify every hash chain in the database (exit 0 intact, 1 broken, 2 error)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { json?: boolean }) => {
      const result = await withLocalApi(lazy, { migrate: false }, (api, db) =>
        api.raw<Verified>('installation_verify', [db.secrets.bootstrapSecret]),
      );
      const total = Object.values(result.counts).reduce((a, b) => a + Number(b), 0);
      if (opts.json) ctx.io.json(result);
      else if (result.intact)
        ctx.io.out(
          `intact: ${total} records in ${Object.keys(result.counts).length} chains verified`,
        );
      else {
        const first = result.problems[0]!;
        ctx.io.out(
          `BROKEN: ${first.table} record_id ${first.record_id} (${first.problem}, position ${first.position})`,
        );
        ctx.io.out(
          `${result.problems.length} problem(s) found; first broken record: ${first.table} ${first.record_id}`,
        );
      }
      if (!result.intact) throw new ExitCode(1);
    });
}
