// A start that fails part-way (here: a TLS certificate file that cannot be read, found after the pool
// and the job queue are open) closes what it opened: no database connections stay behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { LocalKeyFile } from '../../src/security/kek.js';
import { startServer } from '../../src/server/index.js';
import { useTestDatabase } from '../support/db.js';

const db = useTestDatabase();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-start-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function connections(): Promise<number> {
  const r = await db().superuser.query<{ n: string }>(
    `select count(*) as n from pg_stat_activity
      where datname = $1 and usename in ('axiom_user', 'axiom_worker')`,
    [db().name],
  );
  return Number(r.rows[0]!.n);
}

describe('startServer', () => {
  it('closes the pool and the job queue it opened when a later step fails', async () => {
    const t = db();
    const config = loadConfig({
      AXIOM_DATA_DIR: dir,
      AXIOM_HTTP_HOST: '127.0.0.1',
      AXIOM_HTTP_PORT: '0',
      AXIOM_TLS_CERT_FILE: path.join(dir, 'missing-cert.pem'),
      AXIOM_TLS_KEY_FILE: path.join(dir, 'missing-key.pem'),
    });
    expect(await connections()).toBe(0);
    await expect(
      startServer({
        config,
        logger: createLogger({ level: 'silent' }),
        db: {
          targets: { user: t.target('axiom_user'), worker: t.target('axiom_worker') } as never,
          secrets: { workerSecret: t.workerSecret } as never,
        },
        kek: LocalKeyFile.open(inject('cluster').kekFile),
      }),
    ).rejects.toThrow(/missing-cert\.pem|ENOENT/);
    // Backends end a moment after their client disconnects.
    let left = await connections();
    for (let i = 0; i < 40 && left > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = await connections();
    }
    expect(left).toBe(0);
  });
});
