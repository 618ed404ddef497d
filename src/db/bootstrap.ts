// The bootstrap step: with a superuser connection, create the roles (db/bootstrap.sql), set the
// login roles' passwords, create the database owned by axiom_owner, and close it to everyone else.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { projectRoot } from '../paths.js';
import type { InstallationSecrets } from './secrets.js';

export interface ConnectionTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  ssl?: boolean;
}

export function connectionString(t: ConnectionTarget): string {
  const u = new URL('postgres://localhost');
  u.hostname = t.host;
  u.port = String(t.port);
  u.username = encodeURIComponent(t.user);
  u.password = encodeURIComponent(t.password);
  u.pathname = `/${encodeURIComponent(t.database)}`;
  if (t.ssl) u.searchParams.set('sslmode', 'require');
  return u.toString();
}

export function parseConnectionString(url: string): ConnectionTarget {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 5432),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    ssl: u.searchParams.get('sslmode') === 'require',
  };
}

const quoteLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** Idempotent. `superuser` connects to any existing database of the cluster (e.g. postgres). */
export async function bootstrapCluster(
  superuser: ConnectionTarget,
  dbName: string,
  secrets: Pick<
    InstallationSecrets,
    'ownerPassword' | 'userPassword' | 'workerRolePassword' | 'reportingPassword'
  >,
): Promise<void> {
  const admin = new pg.Client({ connectionString: connectionString(superuser) });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ rolsuper: boolean; version: number }>(
      `select rolsuper, current_setting('server_version_num')::int as version from pg_roles where rolname = current_user`,
    );
    if (!rows[0]?.rolsuper)
      throw new Error('the bootstrap step needs a superuser connection (DATABASE_URL)');
    if ((rows[0]?.version ?? 0) < 150000) throw new Error('Axiom needs PostgreSQL 15 or newer');
    await admin.query(fs.readFileSync(path.join(projectRoot, 'db', 'bootstrap.sql'), 'utf8'));
    await admin.query(`alter role axiom_owner password ${quoteLiteral(secrets.ownerPassword)}`);
    await admin.query(`alter role axiom_user password ${quoteLiteral(secrets.userPassword)}`);
    await admin.query(
      `alter role axiom_worker password ${quoteLiteral(secrets.workerRolePassword)}`,
    );
    await admin.query(
      `alter role axiom_reporting password ${quoteLiteral(secrets.reportingPassword)}`,
    );
    const exists = await admin.query('select 1 from pg_database where datname = $1', [dbName]);
    if (exists.rowCount === 0) {
      await admin.query(
        `create database ${quoteIdent(dbName)} owner axiom_owner encoding 'UTF8' lc_collate 'C' lc_ctype 'C' template template0`,
      );
    }
  } finally {
    await admin.end();
  }
  await lockDownDatabase({ ...superuser, database: dbName }, dbName);
}

/** Only Axiom's login roles may connect; nobody but the owner creates anything. */
export async function lockDownDatabase(superuser: ConnectionTarget, dbName: string): Promise<void> {
  const db = new pg.Client({ connectionString: connectionString(superuser) });
  await db.connect();
  try {
    await db.query(`revoke all on database ${quoteIdent(dbName)} from public`);
    await db.query(
      `grant connect on database ${quoteIdent(dbName)} to axiom_owner, axiom_user, axiom_worker, axiom_reporting`,
    );
    await db.query(`grant create on database ${quoteIdent(dbName)} to axiom_owner`);
    await db.query(fs.readFileSync(path.join(projectRoot, 'db', 'bootstrap-database.sql'), 'utf8'));
  } finally {
    await db.end();
  }
}
