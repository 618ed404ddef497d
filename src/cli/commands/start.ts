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
      // The job worker (scans, schedules) runs in this process too (src/jobs/worker.ts).
      const { startInstallationWorker } = await import('../../jobs/worker.js');
      const worker = await startInstallationWorker({ config, logger, db });
      onShutdown(() => worker.stop());
      ctx.io.out(`Job worker running (${config.cloud.workerConcurrency} scans at a time).`);
      ctx.io.out('Press Ctrl-C to stop.');
      await new Promise<void>(() => {
        // Runs until SIGINT/SIGTERM: src/lifecycle.ts stops everything and exits.
      });
    });
}
