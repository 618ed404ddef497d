import type { Command } from 'commander';
import { runAxiom } from '../../server/run.js';
import type { CliContext, Lazy } from '../main.js';

export function registerStartCommand(program: Command, ctx: CliContext, lazy: Lazy): void {
  program
    .command('start')
    .description(
      'start Axiom on its embedded defaults (or DATABASE_URL): the database, the HTTPS API and dashboard, and the demo unless AXIOM_DEMO=false; runs until interrupted',
    )
    .action(async () => {
      const config = lazy.config();
      const logger = lazy.logger();
      const axiom = await runAxiom(config, logger);
      const t = axiom.db.targets.user;
      ctx.io.out('');
      ctx.io.out(`Axiom is running at ${axiom.server.publicUrl}`);
      if (axiom.server.tls.selfSigned)
        ctx.io.out(
          `  (a self-signed certificate: ${config.dataDir}/tls/cert.pem — your browser will ask you to accept it)`,
        );
      ctx.io.out(
        `  database: schema version ${axiom.db.migration.version} on ${t.host}:${t.port}/${t.database}`,
      );
      if (axiom.demo && axiom.sandbox) {
        const acct = axiom.sandbox.accounts[0];
        ctx.io.out(
          `  sandbox cloud: ${axiom.sandbox.endpoint} (demo AWS account ${acct?.accountId ?? '?'})`,
        );
        ctx.io.out('');
        ctx.io.out('Sign in to the demo:');
        ctx.io.out(`  organization: ${axiom.demo.organization}`);
        ctx.io.out(`  e-mail:       ${axiom.demo.email}`);
        ctx.io.out(`  password:     ${axiom.demo.password}`);
        const operator = axiom.demo.people?.find((p) => p.email.startsWith('olivia@'));
        if (operator) {
          ctx.io.out('');
          ctx.io.out(
            'The operator who runs the demo cloud account (findings, scans, plans, approvals):',
          );
          ctx.io.out(`  e-mail:       ${operator.email}`);
          ctx.io.out(`  password:     ${operator.password}`);
        }
        const dc = axiom.demoConnection;
        if (dc)
          ctx.io.out(
            dc.scanId
              ? `  the demo account ${dc.accountId} is connected; its first scan is running`
              : `  the demo account ${dc.accountId} is connected but did not pass its connection test`,
          );
        ctx.io.out(`  (kept in ${config.dataDir}/demo.json; AXIOM_DEMO=false turns the demo off)`);
      }
      ctx.io.out('');
      ctx.io.out('Press Ctrl-C to stop.');
      await new Promise<void>(() => {
        // Runs until SIGINT/SIGTERM: src/lifecycle.ts stops everything and exits.
      });
    });
}
