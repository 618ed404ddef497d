import type { Command } from 'commander';
import { LocalKeyFile } from '../../security/kek.js';
import { seedDemo } from '../../demo/seed.js';
import { withLocalApi } from '../local.js';
import type { CliContext, Lazy } from '../main.js';

export function registerDemoCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  const demo = program.command('demo').description('the demo organization');
  demo
    .command('seed')
    .description('create a demo organization through the api functions and print how to sign in')
    .option('--slug <slug>', 'organization slug (default: demo, or demo-N if taken)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { slug?: string; json?: boolean }) => {
      const config = lazy.config();
      const kek = LocalKeyFile.open(config.kekFile, { create: true });
      const seed = await withLocalApi(lazy, { migrate: true }, async (api, db) => {
        const slugs = opts.slug
          ? [opts.slug]
          : ['demo', ...Array.from({ length: 50 }, (_, i) => `demo-${i + 2}`)];
        for (const slug of slugs) {
          try {
            return await seedDemo(api, {
              bootstrapSecret: db.secrets.bootstrapSecret,
              kek,
              slug,
              keyBits: config.orgKeyBits,
            });
          } catch (e) {
            const taken =
              (e as { reason?: string; code?: string }).code === 'conflict' ||
              /slug|duplicate|unique/i.test(String((e as Error).message));
            if (!taken || opts.slug) throw e;
          }
        }
        throw new Error('no free demo slug');
      });
      if (opts.json) {
        ctx.io.json({
          organization_id: seed.organization.id,
          organization_slug: seed.organization.slug,
          facilities: Object.fromEntries(Object.values(seed.facilities).map((f) => [f.slug, f.id])),
          facility_ids: [seed.facilities.prod.id, seed.facilities.staging.id],
          admin: {
            email: seed.admin.email,
            password: seed.admin.password,
            principal_id: seed.admin.id,
          },
          people: seed.people.map((p) => ({
            email: p.email,
            password: p.password,
            name: p.name,
            principal_id: p.id,
          })),
          agent_principal_id: seed.agentPrincipalId,
          change_requests: seed.changeRequests,
          token: seed.apiToken,
        });
        return;
      }
      ctx.io.out(
        `Demo organization "${seed.organization.name}" (${seed.organization.slug}) created.`,
      );
      ctx.io.out(`  facilities: ${seed.facilities.prod.slug}, ${seed.facilities.staging.slug}`);
      ctx.io.out(`  sign in as: ${seed.admin.email}`);
      ctx.io.out(`  password:   ${seed.admin.password}`);
      for (const p of seed.people)
        ctx.io.out(`  also:       ${p.email} / ${p.password} (${p.name})`);
      ctx.io.out(`AXIOM_TOKEN=${seed.apiToken}`);
    });
}
