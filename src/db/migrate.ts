// Migrations with postgrator (plain, numbered SQL files in db/migrations, checksummed so that a
// landed migration cannot be edited), run as axiom_owner. Afterwards the installation row gets the
// hashes of the bootstrap and worker secrets.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import Postgrator from 'postgrator';
import { projectRoot } from '../paths.js';
import { connectionString, type ConnectionTarget } from './bootstrap.js';

export const migrationsDir = path.join(projectRoot, 'db', 'migrations');
export const schemaTable = 'public.axiom_schema_version';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The highest migration this code knows. */
export function knownSchemaVersion(): number {
  return Math.max(
    0,
    ...fs
      .readdirSync(migrationsDir)
      .map((f) => /^(\d+)\.do\./.exec(f)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number),
  );
}

export interface MigrateResult {
  applied: string[];
  version: number;
}

export async function migrate(
  owner: ConnectionTarget,
  installation: { bootstrapSecret: string; workerSecret: string; bcryptCost: number },
): Promise<MigrateResult> {
  const client = new pg.Client({ connectionString: connectionString(owner) });
  await client.connect();
  try {
    await client.query(`set lock_timeout = '30s'`);
    const current = await currentSchemaVersion(client);
    if (current > knownSchemaVersion()) {
      throw new Error(
        `the database is at schema version ${current}, newer than this Axiom (${knownSchemaVersion()}); refusing to run`,
      );
    }
    const postgrator = new Postgrator({
      migrationPattern: path.join(migrationsDir, '*.do.*.sql'),
      driver: 'pg',
      database: owner.database,
      schemaTable,
      execQuery: (query: string) => client.query(query),
    });
    let current_file = '';
    postgrator.on('migration-started', (m: { filename: string }) => {
      current_file = m.filename.split('/').pop() ?? m.filename;
    });
    const applied = await postgrator.migrate().catch((e: unknown) => {
      const err = e as { message?: string; position?: string; where?: string };
      throw new Error(
        `migration ${current_file} failed: ${err.message ?? String(e)}${err.where ? ` (${err.where})` : ''}`,
        {
          cause: e,
        },
      );
    });
    await client.query(
      `insert into internal.installation (bootstrap_secret_hash, worker_secret_hash, bcrypt_cost)
       values ($1, $2, $3)
       on conflict (singleton) do update
         set bootstrap_secret_hash = excluded.bootstrap_secret_hash,
             worker_secret_hash = excluded.worker_secret_hash,
             bcrypt_cost = excluded.bcrypt_cost`,
      [
        sha256(installation.bootstrapSecret),
        sha256(installation.workerSecret),
        installation.bcryptCost,
      ],
    );
    await loadPasswordDenylist(client);
    return {
      applied: applied.map((m) => m.filename.split('/').pop() ?? m.filename),
      version: await currentSchemaVersion(client),
    };
  } finally {
    await client.end();
  }
}

/**
 * The common-password denylist (sha256 of each lowercased password) from the zxcvbn-ts dictionary,
 * loaded once; the database refuses these passwords (internal.hash_password).
 */
async function loadPasswordDenylist(client: pg.Client): Promise<void> {
  const present = await client.query(
    `select to_regclass('internal.password_denylist') is not null as p`,
  );
  if (!present.rows[0]?.p) return;
  const { rows } = await client.query<{ n: number }>(
    `select count(*)::int as n from internal.password_denylist`,
  );
  if ((rows[0]?.n ?? 0) > 0) return;
  const { dictionary } = await import('@zxcvbn-ts/language-common');
  const words = new Set((dictionary['passwords-common'] as string[]).map((w) => w.toLowerCase()));
  const hashes = [...words].map((w) => createHash('sha256').update(w, 'utf8').digest());
  await client.query(
    `insert into internal.password_denylist (sha256) select unnest($1::bytea[]) on conflict do nothing`,
    [hashes],
  );
}

export async function currentSchemaVersion(client: pg.Client | pg.Pool): Promise<number> {
  const exists = await client.query(`select to_regclass($1) is not null as present`, [schemaTable]);
  if (!exists.rows[0]?.present) return 0;
  const { rows } = await client.query<{ v: string | null }>(
    `select max(version)::text as v from ${schemaTable}`,
  );
  return Number(rows[0]?.v ?? 0);
}
