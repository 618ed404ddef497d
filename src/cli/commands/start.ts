import type { Command } from 'commander';
import { openDatabase } from '../../db/database.js';
import { onShutdown } from '../../lifecycle.js';
import type { CliContext, Lazy } from '../main.js';

export function registerStartCommand(program: Command, ctx: CliContext, lazy: Lazy): void {
  program
    .command('start')
    .description('start Axiom on its embedded defaults (or DATABASE_URL) and run until interrupted')
    .action(async () => {
      const config = lazy.config();
      const logger = lazy.logger();
      const db = await openDatabase(config, logger);
      onShutdown(() => db.stop());
      ctx.io.out(
        `Axiom database ready: schema version ${db.migration.version} on ${db.targets.user.host}:${db.targets.user.port}/${db.targets.user.database}`,
      );
      // Loaded here so that other commands start without the HTTP server's modules.
      const { startServer } = await import('../../server/index.js');
      const server = await startServer({ config, logger, db });
      onShutdown(() => server.close());
      ctx.io.out(`Axiom API listening on ${server.url} (public URL ${server.publicUrl})`);
      ctx.io.out('Press Ctrl-C to stop.');
      await new Promise<void>(() => {
        // Runs until SIGINT/SIGTERM: src/lifecycle.ts stops everything and exits.
      });
    });
}
