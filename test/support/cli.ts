// Run the real `axiom` command: in a child process (runCli), or in this process through the CLI's
// main() with its output captured (runInProcess: quicker, for commands that talk to a test server),
// and useCli: runInProcess against a test server, for a whole test file.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { projectRoot } from '../../src/paths.js';
import { afterAll, beforeAll } from 'vitest';
import type { TestServer } from './http.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 120_000,
): Promise<CliResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'axiom.js'), ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AXIOM_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`axiom ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** `axiom ARGS` in this process with `env` as its whole environment; `stdin` is its standard input. */
export async function runInProcess(
  args: string[],
  env: Record<string, string>,
  stdin?: string,
  opts: InProcessOptions = {},
): Promise<CliResult> {
  return await startInProcess(args, env, stdin, opts).done;
}

export interface InProcessOptions {
  /** Where progress bars go (drawn only when it says it is a terminal); by default nowhere. */
  progressOutput?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** A stream that says it is a terminal (100 columns), and everything written to it. */
export function fakeTerminal(): {
  stream: NodeJS.WritableStream & { isTTY: boolean; columns: number };
  drawn: () => string;
} {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write: (c: Buffer, _e, cb) => {
        chunks.push(c.toString());
        cb();
      },
    }),
    { isTTY: true, columns: 100 },
  );
  return { stream, drawn: () => chunks.join('') };
}

/** A command started in this process: what it printed on stderr so far, and its end. */
export interface RunningCli {
  stderr: string[];
  done: Promise<CliResult>;
}

/** `axiom ARGS` in this process, without waiting for it (for commands that wait for a browser). */
export function startInProcess(
  args: string[],
  env: Record<string, string>,
  stdin?: string,
  opts: InProcessOptions = {},
): RunningCli {
  const out: string[] = [];
  const err: string[] = [];
  const input = new PassThrough();
  if (stdin !== undefined) input.end(stdin);
  const done = main(args, {
    env: { AXIOM_LOG_LEVEL: 'silent', ...env },
    io: {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      json: (v) => out.push(JSON.stringify(v)),
    },
    stdin: input,
    promptOutput: new Writable({ write: (_c, _e, cb) => cb() }),
    progressOutput: opts.progressOutput ?? new Writable({ write: (_c, _e, cb) => cb() }),
  }).then((code) => ({ code, stdout: out.join('\n'), stderr: err.join('\n') }));
  return { stderr: err, done };
}

/** The first match of `pattern` in what `run` has printed on stderr, once it has (up to 10 s). */
export async function printedOnStderr(run: RunningCli, pattern: RegExp): Promise<RegExpExecArray> {
  for (let i = 0; i < 400; i++) {
    const m = pattern.exec(run.stderr.join('\n'));
    if (m) return m;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the CLI printed nothing like ${String(pattern)}: ${run.stderr.join('\n')}`);
}

/**
 * The `axiom` of a test server, for a test file: a data directory that trusts the server's
 * certificate (made before the file's other hooks when called right after useTestServer, removed
 * after), and `axiom(user, args, stdin)`, which runs the CLI in-process with the user's token (none
 * for null).
 */
export function useCli(
  server: () => TestServer,
): (user: { token: string } | null, args: string[], stdin?: string) => Promise<CliResult> {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-cli-'));
    fs.mkdirSync(path.join(dir, 'tls'));
    fs.writeFileSync(path.join(dir, 'tls', 'cert.pem'), server().server.tls.cert);
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  return async (user, args, stdin) =>
    await runInProcess(
      args,
      {
        AXIOM_DATA_DIR: dir,
        AXIOM_URL: server().server.url,
        ...(user ? { AXIOM_TOKEN: user.token } : {}),
      },
      stdin,
    );
}
