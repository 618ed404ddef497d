// One PostgreSQL cluster for the whole run: the embedded server in a temporary directory (fsync off,
// this is a test run), or an external one when TEST_DATABASE_URL (a superuser URL) is set — that is
// how the suite runs against Debian's PostgreSQL 15. Roles are bootstrapped once and a template
// database is migrated once; every test file clones it (test/support/db.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import {
  bootstrapCluster,
  connectionString,
  parseConnectionString,
  type ConnectionTarget,
} from '../../src/db/bootstrap.js';
import { startEmbedded } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { loadOrCreateSecrets } from '../../src/db/secrets.js';
import { LocalKeyFile } from '../../src/security/kek.js';
import { generateOrgKeyPair } from '../../src/security/orgkeys.js';

export const TEMPLATE = 'axiom_template';

export interface ProvidedCluster {
  host: string;
  port: number;
  superuser: string;
  superuserPassword: string;
  ownerPassword: string;
  userPassword: string;
  workerRolePassword: string;
  reportingPassword: string;
  bootstrapSecret: string;
  workerSecret: string;
  template: string;
  kekFile: string;
  workDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ProvidedCluster;
    orgKeys: Array<{ publicKeyArmored: string; privateKeyArmored: string }>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-test-'));
  const secrets = loadOrCreateSecrets(workDir);
  let superuser: ConnectionTarget;
  let stop = async (): Promise<void> => {};
  if (process.env.TEST_DATABASE_URL) {
    superuser = { ...parseConnectionString(process.env.TEST_DATABASE_URL), database: 'postgres' };
  } else {
    const server = await startEmbedded({
      dataDir: workDir,
      port: 0,
      superuserPassword: secrets.superuserPassword,
      fastUnsafe: true,
    });
    superuser = {
      host: server.host,
      port: server.port,
      database: 'postgres',
      user: server.superuser,
      password: secrets.superuserPassword,
    };
    stop = server.stop;
  }

  // A fresh template every run.
  const admin = new pg.Client({ connectionString: connectionString(superuser) });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE} with (force)`);
  for (const { datname } of (
    await admin.query<{ datname: string }>(
      `select datname from pg_database where datname like 'axiom_test_%'`,
    )
  ).rows) {
    await admin.query(`drop database if exists "${datname}" with (force)`);
  }
  await admin.end();
  await bootstrapCluster(superuser, TEMPLATE, secrets);
  await migrate(
    { ...superuser, database: TEMPLATE, user: 'axiom_owner', password: secrets.ownerPassword },
    { bootstrapSecret: secrets.bootstrapSecret, workerSecret: secrets.workerSecret, bcryptCost: 4 },
  );

  const kekFile = path.join(workDir, 'kek.json');
  LocalKeyFile.open(kekFile, { create: true });
  // RSA key generation is slow; the suite shares a handful of organization key pairs.
  const orgKeys = await Promise.all([0, 1, 2, 3].map(() => generateOrgKeyPair(2048)));

  project.provide('cluster', {
    host: superuser.host,
    port: superuser.port,
    superuser: superuser.user,
    superuserPassword: superuser.password,
    ownerPassword: secrets.ownerPassword,
    userPassword: secrets.userPassword,
    workerRolePassword: secrets.workerRolePassword,
    reportingPassword: secrets.reportingPassword,
    bootstrapSecret: secrets.bootstrapSecret,
    workerSecret: secrets.workerSecret,
    template: TEMPLATE,
    kekFile,
    workDir,
  });
  project.provide('orgKeys', orgKeys);

  return async () => {
    await stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  };
}
