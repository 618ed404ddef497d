// Bring up the database Axiom runs on: the embedded server by default, or an external PostgreSQL
// given by DATABASE_URL; bootstrap the roles when a superuser connection is available; migrate as
// axiom_owner. Returns the connection targets of each role; the running system uses axiom_user
// (and axiom_worker for the job queue) only.
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import { bootstrapCluster, parseConnectionString, type ConnectionTarget } from './bootstrap.js';
import { startEmbedded, type RunningServer } from './embedded.js';
import { migrate, type MigrateResult } from './migrate.js';
import { loadOrCreateSecrets, type InstallationSecrets } from './secrets.js';

export interface DatabaseTargets {
  owner: ConnectionTarget;
  user: ConnectionTarget;
  worker: ConnectionTarget;
  reporting: ConnectionTarget;
  superuser?: ConnectionTarget;
}

export interface OpenDatabase {
  targets: DatabaseTargets;
  secrets: InstallationSecrets;
  migration: MigrateResult;
  server?: RunningServer;
  stop(): Promise<void>;
}

export async function openDatabase(
  config: Config,
  logger: Logger,
  opts: { migrate?: boolean } = {},
): Promise<OpenDatabase> {
  const secrets = loadOrCreateSecrets(config.dataDir);
  let server: RunningServer | undefined;
  let host: string;
  let port: number;
  let database: string;
  let superuser: ConnectionTarget | undefined;
  let ssl = false;

  if (config.databaseUrl) {
    const given = parseConnectionString(config.databaseUrl);
    host = given.host;
    port = given.port;
    database = given.database === 'postgres' ? config.dbName : given.database;
    ssl = given.ssl ?? false;
    superuser = { ...given, database: 'postgres' };
  } else {
    server = await startEmbedded({
      dataDir: config.dataDir,
      port: config.dbPort,
      superuserPassword: secrets.superuserPassword,
      fastUnsafe: config.dbFastUnsafe,
      logger,
    });
    host = server.host;
    port = server.port;
    database = config.dbName;
    superuser = {
      host,
      port,
      database: 'postgres',
      user: server.superuser,
      password: secrets.superuserPassword,
    };
  }

  const target = (user: string, password: string): ConnectionTarget => ({
    host,
    port,
    database,
    user,
    password,
    ssl,
  });
  const targets: DatabaseTargets = {
    owner: target('axiom_owner', secrets.ownerPassword),
    user: target('axiom_user', secrets.userPassword),
    worker: target('axiom_worker', secrets.workerRolePassword),
    reporting: target('axiom_reporting', secrets.reportingPassword),
    ...(superuser ? { superuser } : {}),
  };

  let migration: MigrateResult = { applied: [], version: 0 };
  try {
    if (opts.migrate !== false) {
      if (superuser) {
        try {
          await bootstrapCluster(superuser, database, secrets);
        } catch (e) {
          if (config.databaseUrl && /needs a superuser/.test(String(e))) {
            logger.warn(
              'DATABASE_URL is not a superuser: assuming `axiom db migrate` bootstrapped the roles',
            );
          } else {
            throw e;
          }
        }
      }
      migration = await migrate(targets.owner, {
        bootstrapSecret: secrets.bootstrapSecret,
        workerSecret: secrets.workerSecret,
        bcryptCost: config.bcryptCost,
      });
      if (migration.applied.length)
        logger.info({ applied: migration.applied, version: migration.version }, 'migrated');
    }
  } catch (e) {
    await server?.stop();
    throw e;
  }
  return {
    targets,
    secrets,
    migration,
    ...(server ? { server } : {}),
    stop: async () => {
      await server?.stop();
    },
  };
}
