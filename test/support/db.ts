// A fresh database per test file, cloned from the migrated template, with a pool per role.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { Api } from '../../src/db/api.js';
import {
  connectionString,
  lockDownDatabase,
  type ConnectionTarget,
} from '../../src/db/bootstrap.js';

export interface TestDatabase {
  name: string;
  api: Api;
  /** axiom_user: the application's role. */
  user: pg.Pool;
  /** axiom_owner: table owner (RLS still forced). */
  owner: pg.Pool;
  /** The cluster superuser (for tampering tests: "a superuser with triggers bypassed"). */
  superuser: pg.Pool;
  reporting: pg.Pool;
  target(
    role: 'axiom_user' | 'axiom_owner' | 'axiom_reporting' | 'axiom_worker' | 'superuser',
  ): ConnectionTarget;
  bootstrapSecret: string;
  workerSecret: string;
  close(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const c = inject('cluster');
  const name = `axiom_test_${randomBytes(6).toString('hex')}`;
  const base = { host: c.host, port: c.port };
  const superTarget: ConnectionTarget = {
    ...base,
    database: 'postgres',
    user: c.superuser,
    password: c.superuserPassword,
  };
  const admin = new pg.Client({ connectionString: connectionString(superTarget) });
  await admin.connect();
  await admin.query(`create database ${name} template ${c.template} owner axiom_owner`);
  await admin.end();
  await lockDownDatabase({ ...superTarget, database: name }, name);

  const targets = {
    axiom_user: { ...base, database: name, user: 'axiom_user', password: c.userPassword },
    axiom_owner: { ...base, database: name, user: 'axiom_owner', password: c.ownerPassword },
    axiom_reporting: {
      ...base,
      database: name,
      user: 'axiom_reporting',
      password: c.reportingPassword,
    },
    axiom_worker: { ...base, database: name, user: 'axiom_worker', password: c.workerRolePassword },
    superuser: { ...superTarget, database: name },
  };
  const pool = (t: ConnectionTarget, max = 6): pg.Pool => {
    const p = new pg.Pool({ connectionString: connectionString(t), max });
    p.on('error', () => {});
    return p;
  };
  const user = pool(targets.axiom_user, 10);
  const owner = pool(targets.axiom_owner, 2);
  const superuser = pool(targets.superuser, 2);
  const reporting = pool(targets.axiom_reporting, 2);
  return {
    name,
    api: new Api(user),
    user,
    owner,
    superuser,
    reporting,
    target: (role) => targets[role],
    bootstrapSecret: c.bootstrapSecret,
    workerSecret: c.workerSecret,
    close: async () => {
      await Promise.all([user.end(), owner.end(), superuser.end(), reporting.end()]);
      const drop = new pg.Client({ connectionString: connectionString(superTarget) });
      await drop.connect();
      await drop.query(`drop database if exists ${name} with (force)`);
      await drop.end();
    },
  };
}

/** beforeAll/afterAll wiring: `const db = useTestDatabase();` then `db()` inside tests. */
export function useTestDatabase(): () => TestDatabase {
  let t: TestDatabase | undefined;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.close();
  });
  return () => {
    if (!t) throw new Error('the test database is not ready');
    return t;
  };
}
