// Operator commands that run on the machine holding the installation (db migrate, demo seed, verify):
// they reach the database as axiom_user and call api.* functions, like the server does.
import { Api, createPool } from '../db/api.js';
import { connectionString } from '../db/bootstrap.js';
import { openDatabase, type OpenDatabase } from '../db/database.js';
import type { Lazy } from './main.js';

export async function withLocalApi<T>(
  lazy: Lazy,
  opts: { migrate: boolean },
  fn: (api: Api, db: OpenDatabase) => Promise<T>,
): Promise<T> {
  const config = lazy.config();
  const db = await openDatabase(config, lazy.logger(true), { migrate: opts.migrate });
  const pool = createPool(connectionString(db.targets.user), 4);
  try {
    return await fn(new Api(pool), db);
  } finally {
    await pool.end();
    await db.stop();
  }
}
