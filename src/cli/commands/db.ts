import type { Command } from 'commander';
import { openDatabase } from '../../db/database.js';
import type { CliContext, Lazy } from '../main.js';

export function registerDbCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  const db = program.command('db').description('database administration');
  db.command('migrate')
    .description(
      'bootstrap the roles (with a superuser DATABASE_URL, or the embedded server) and migrate',
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const config = lazy.config();
      const logger = lazy.logger(true);
      const database = await openDatabase(config, logger);
      try {
        const result = {
          version: database.migration.version,
          applied: database.migration.applied,
          database: database.targets.owner.database,
          embedded: database.server !== undefined,
        };
        if (opts.json) ctx.io.json(result);
        else
          ctx.io.out(
            result.applied.length
              ? `migrated to schema version ${result.version} (${result.applied.length} applied)`
              : `schema is up to date (version ${result.version})`,
          );
      } finally {
        await database.stop();
      }
    });
}
