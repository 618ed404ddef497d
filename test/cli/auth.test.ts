// `axiom login`, `logout`, `whoami` and `token create`, run in-process (main()) against the real HTTPS
// server: TLS verified against the server's certificate, the session kept in a 0600 file, AXIOM_TOKEN
// taking precedence, tokens shown once, and exit 2 for bad arguments and refused requests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { createOrg, createUser, type TestOrg, type TestUser } from '../support/fixtures.js';
import { useTestServer } from '../support/http.js';

const s = useTestServer();
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** What the prompts wrote (the terminal). */
  terminal: string;
}

/**
 * Run `axiom <args>` in this process. `answers` plays the person at the terminal: each answer is
 * typed once its prompt has been shown. `stdin` is piped standard input.
 */
async function axiom(
  args: string[],
  env: Record<string, string | undefined>,
  io: { answers?: Array<[prompt: string, answer: string]>; stdin?: string } = {},
): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  let terminal = '';
  const input = new PassThrough();
  const pending = [...(io.answers ?? [])];
  const promptOutput = new Writable({
    write(chunk: Buffer, _enc, cb) {
      terminal += chunk.toString();
      const next = pending[0];
      if (next && terminal.endsWith(next[0])) {
        pending.shift();
        setImmediate(() => input.write(`${next[1]}\n`));
      }
      cb();
    },
  });
  if (io.stdin !== undefined) input.end(io.stdin);
  const code = await main(args, {
    env: { AXIOM_LOG_LEVEL: 'silent', ...env },
    io: {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      json: (v) => out.push(JSON.stringify(v)),
    },
    stdin: input,
    promptOutput,
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n'), terminal };
}

function dataDir(withCert: boolean): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-cli-auth-'));
  dirs.push(d);
  if (withCert) {
    fs.mkdirSync(path.join(d, 'tls'));
    fs.writeFileSync(path.join(d, 'tls', 'cert.pem'), s().server.tls.cert);
  }
  return d;
}

let org: TestOrg;
let user: TestUser;
let env: Record<string, string>;

beforeAll(async () => {
  org = await createOrg(s().db);
  user = await createUser(s().db, org, [{ domain: 'audit', level: 'read', facility: null }]);
  // The server's self-signed certificate where `axiom start` writes it: trusted without AXIOM_CA_FILE.
  env = { AXIOM_DATA_DIR: dataDir(true), AXIOM_URL: s().server.url };
});

async function whoamiOver(token: string): Promise<number> {
  const c = s().client();
  c.bearer = token;
  return (await c.get('/api/v1/auth/session')).status;
}

describe('axiom login', () => {
  it('signs in with the password on stdin, stores the session 0600 and prints who is signed in', async () => {
    const r = await axiom(
      ['login', '--organization', org.slug, '--email', user.email, '--password-stdin'],
      env,
      { stdin: `${user.password}\n` },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`signed in to ${s().server.url} as`);
    expect(r.stdout).toContain(`<${user.email}> in ${org.slug}`);
    expect(r.stdout).not.toContain(user.password);
    const file = path.join(env.AXIOM_DATA_DIR!, 'cli-session');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as { token: string; url: string };
    expect(stored.url).toBe(s().server.url);
    expect(stored.token).toMatch(/^axs_/);
    expect(await whoamiOver(stored.token)).toBe(200);
    const who = await axiom(['whoami', '--json'], env);
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ principal: { email: user.email } });
  });

  it('asks for what is missing, the password without echo', async () => {
    const d = { ...env, AXIOM_DATA_DIR: dataDir(true) };
    const r = await axiom(['login'], d, {
      answers: [
        ['Organization: ', org.slug],
        ['E-mail: ', user.email],
        ['Password: ', user.password],
      ],
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.terminal).toContain('Organization: ');
    expect(r.terminal).toContain('Password: ');
    expect(r.terminal).not.toContain(user.password);
    expect(r.stdout).toContain(user.email);
    expect(fs.existsSync(path.join(d.AXIOM_DATA_DIR, 'cli-session'))).toBe(true);
  });

  it('asks for a new password when an administrator set the current one', async () => {
    const d = { ...env, AXIOM_DATA_DIR: dataDir(true) };
    const email = `newcomer-${Date.now()}@${org.slug}.example`;
    await s().db.api.call(
      'principal_create',
      org.admin.caller,
      email,
      'Newcomer',
      'initial-from-admin',
    );
    const scripted = await axiom(
      ['login', '--organization', org.slug, '--email', email, '--password-stdin'],
      d,
      { stdin: 'initial-from-admin' },
    );
    expect(scripted.code).toBe(2);
    expect(scripted.stderr).toMatch(/choose a new password/);
    const r = await axiom(['login', '--organization', org.slug, '--email', email], d, {
      answers: [
        ['Password: ', 'initial-from-admin'],
        ['New password: ', 'chosen-by-me-at-last'],
        ['New password again: ', 'chosen-by-me-at-last'],
      ],
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(email);
    expect(r.terminal).not.toContain('chosen-by-me-at-last');
    const again = await axiom(
      ['login', '--organization', org.slug, '--email', email, '--password-stdin'],
      d,
      { stdin: 'chosen-by-me-at-last' },
    );
    expect(again.code).toBe(0);
  });

  it('exits 2 on a wrong password (the server’s refusal), bad arguments, and an untrusted server', async () => {
    const d = { ...env, AXIOM_DATA_DIR: dataDir(true) };
    const wrong = await axiom(
      ['login', '--organization', org.slug, '--email', user.email, '--password-stdin'],
      d,
      { stdin: 'not-the-password' },
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/unauthenticated\/invalid_credentials/);
    expect(fs.existsSync(path.join(d.AXIOM_DATA_DIR, 'cli-session'))).toBe(false);

    const noOrg = await axiom(['login', '--email', user.email, '--password-stdin'], d, {
      stdin: user.password,
    });
    expect(noOrg.code).toBe(2);
    expect(noOrg.stderr).toMatch(/--password-stdin needs --organization and --email/);
    const badSlug = await axiom(
      ['login', '--organization', 'Not A Slug', '--email', user.email, '--password-stdin'],
      d,
      { stdin: user.password },
    );
    expect(badSlug.code).toBe(2);
    const badUrl = await axiom(['login', '--url', 'http://plain.example'], d);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/https/);

    // No AXIOM_CA_FILE and no <data dir>/tls/cert.pem: the self-signed certificate is not trusted.
    const untrusted = await axiom(
      ['login', '--organization', org.slug, '--email', user.email, '--password-stdin'],
      { ...env, AXIOM_DATA_DIR: dataDir(false) },
      { stdin: user.password },
    );
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toMatch(/not trusted|certificate/i);
    // AXIOM_CA_FILE names the certificate to trust.
    const caFile = path.join(dataDir(false), 'server.pem');
    fs.writeFileSync(caFile, s().server.tls.cert);
    const trusted = await axiom(
      ['login', '--organization', org.slug, '--email', user.email, '--password-stdin'],
      { ...env, AXIOM_DATA_DIR: path.dirname(caFile), AXIOM_CA_FILE: caFile },
      { stdin: user.password },
    );
    expect(trusted.code).toBe(0);
  });
});

describe('axiom token create', () => {
  it('prints the token once (AXIOM_TOKEN=… last) and scopes it; --json prints one object', async () => {
    const d = { ...env, AXIOM_DATA_DIR: dataDir(true) };
    expect(
      (
        await axiom(
          ['login', '--organization', org.slug, '--email', user.email, '--password-stdin'],
          d,
          { stdin: user.password },
        )
      ).code,
    ).toBe(0);
    const r = await axiom(
      [
        'token',
        'create',
        '--name',
        'nightly export',
        '--expires-in-days',
        '30',
        '--scope',
        'audit:read',
      ],
      d,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^AXIOM_TOKEN=axt_[A-Za-z0-9_-]{43}$/);
    expect(r.stdout).toContain('scope: audit:read');
    const token = lines.at(-1)!.slice('AXIOM_TOKEN='.length);
    expect(r.stdout.split(token).length).toBe(2); // printed exactly once
    // The token works, within its scope only.
    const api = s().client();
    api.bearer = token;
    expect((await api.get('/api/v1/audit/events?limit=1')).status).toBe(200);
    const listed = await api.get<{ sessions: Array<{ name: string; scope: unknown }> }>(
      '/api/v1/sessions',
    );
    expect(listed.body.sessions.find((x) => x.name === 'nightly export')?.scope).toEqual([
      { domain: 'audit', level: 'read', facility_id: null },
    ]);

    const json = await axiom(
      ['token', 'create', '--name', 'ci', '--expires-in-days', '1', '--json'],
      d,
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      token: expect.stringMatching(/^axt_/),
      name: 'ci',
      expires_at: expect.any(String),
    });

    // AXIOM_TOKEN is used when set: an API token cannot mint tokens, and the refusal exits 2.
    const fromToken = await axiom(
      ['token', 'create', '--name', 'child', '--expires-in-days', '1'],
      { ...d, AXIOM_TOKEN: token },
    );
    expect(fromToken.code).toBe(2);
    expect(fromToken.stderr).toMatch(/forbidden\/token_from_token/);
  });

  it('refuses bad arguments before any request, and a scope beyond the person’s grants', async () => {
    const d = { ...env, AXIOM_DATA_DIR: dataDir(true) };
    await axiom(
      ['login', '--organization', org.slug, '--email', user.email, '--password-stdin'],
      d,
      { stdin: user.password },
    );
    const before = (await s().db.api.call<unknown[]>('session_list', user.caller)).length;
    for (const args of [
      ['--name', 'x', '--expires-in-days', 'soon'],
      ['--name', 'x', '--expires-in-days', '400'],
      ['--name', 'x', '--expires-in-days', '7', '--scope', 'everything'],
      ['--name', 'x'],
    ]) {
      const r = await axiom(['token', 'create', ...args], d);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect((await s().db.api.call<unknown[]>('session_list', user.caller)).length).toBe(before);
    const beyond = await axiom(
      [
        'token',
        'create',
        '--name',
        'x',
        '--expires-in-days',
        '7',
        '--scope',
        'configuration:review',
      ],
      d,
    );
    expect(beyond.code).toBe(2);
    expect(beyond.stderr).toMatch(/scope_exceeds_grants/);
  });
});

describe('axiom token list|revoke and axiom session list|revoke', () => {
  it('lists what is in force without token values, revokes one, and refuses others’ and bad ids', async () => {
    const person = await createUser(s().db, org, [
      { domain: 'audit', level: 'read', facility: null },
    ]);
    const d = { ...env, AXIOM_DATA_DIR: dataDir(true) };
    await axiom(
      ['login', '--organization', org.slug, '--email', person.email, '--password-stdin'],
      d,
      { stdin: person.password },
    );
    const made = await axiom(
      ['token', 'create', '--name', 'backup job', '--expires-in-days', '7', '--json'],
      d,
    );
    const { token, session_id: tokenId } = JSON.parse(made.stdout) as {
      token: string;
      session_id: string;
    };

    const tokens = await axiom(['token', 'list'], d);
    expect(tokens.code, tokens.stderr).toBe(0);
    expect(tokens.stdout).toMatch(new RegExp(`^${tokenId}  active +token "backup job" .*expires `));
    expect(tokens.stdout.split('\n')).toHaveLength(1); // the sign-in is a session, not a token
    expect(tokens.stdout).not.toContain(token);
    const sessions = await axiom(['session', 'list', '--json'], d);
    const rows = JSON.parse(sessions.stdout) as Array<{
      id: string;
      kind: string;
      current: boolean;
    }>;
    expect(sessions.stdout).not.toContain(token);
    // The fixture's sign-in, the CLI's and the token; the CLI's is the current one.
    expect(rows.map((r) => r.kind).sort()).toEqual(['api_token', 'web', 'web']);
    const signIn = rows.find((r) => r.current)!;
    expect(signIn.kind).toBe('web');
    expect((await axiom(['session', 'list'], d)).stdout).toMatch(
      /web \(password\) .*\(this one\)$/m,
    );

    // `token revoke` names tokens only: the sign-in's id is refused, and it still works.
    const notToken = await axiom(['token', 'revoke', signIn.id], d);
    expect(notToken.code).toBe(2);
    expect(notToken.stderr).toMatch(/not an API token.*invalid_input\/not_a_token/);
    expect((await axiom(['whoami'], d)).code).toBe(0);

    // Another person of the organization (no administrator) cannot revoke it.
    const other = await createUser(s().db, org, [
      { domain: 'audit', level: 'read', facility: null },
    ]);
    const refused = await axiom(['session', 'revoke', tokenId], {
      ...env,
      AXIOM_TOKEN: other.token,
    });
    expect(refused.code).toBe(2);
    expect(await whoamiOver(token)).toBe(200);

    for (const bad of ['not-an-id', "1' or '1'='1"]) {
      const r = await axiom(['token', 'revoke', bad], d);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/not an id.*invalid_id/);
    }

    const revoked = await axiom(['token', 'revoke', tokenId, '--reason', 'job retired'], d);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe(`revoked API token ${tokenId}`);
    expect(await whoamiOver(token)).toBe(401);
    expect((await axiom(['token', 'list'], d)).stdout).toBe('no API tokens');
    const all = await axiom(['token', 'list', '--all'], d);
    expect(all.stdout).toMatch(new RegExp(`^${tokenId}  revoked`));
    // The revocation is audited with its reason.
    const events = await s().db.superuser.query<{ reason: string }>(
      `select reason from audit.audit_events where target_id = $1 and event_type = 'session.revoked'`,
      [tokenId],
    );
    expect(events.rows.map((e) => e.reason)).toEqual(['job retired']);

    // `session revoke` ends the CLI's own sign-in too, and forgets the stored session like logout.
    const own = await axiom(['session', 'revoke', signIn.id], d);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toContain('it was this sign-in: signed out');
    expect(fs.existsSync(path.join(d.AXIOM_DATA_DIR, 'cli-session'))).toBe(false);
    const after = await axiom(['whoami'], d);
    expect(after.code).toBe(2);
    expect(after.stderr).toMatch(/not signed in/);
  });
});

describe('axiom logout', () => {
  it('ends the session on the server and forgets it; later commands need a new sign-in', async () => {
    const d = { ...env, AXIOM_DATA_DIR: dataDir(true) };
    await axiom(
      ['login', '--organization', org.slug, '--email', user.email, '--password-stdin'],
      d,
      { stdin: user.password },
    );
    const file = path.join(d.AXIOM_DATA_DIR, 'cli-session');
    const { token, url } = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      token: string;
      url: string;
    };
    // The stored session belongs to one server: another one is told why there is no session.
    const elsewhere = await axiom(['whoami', '--url', 'https://127.0.0.1:9'], d);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain(
      `not signed in: run \`axiom login\` or set AXIOM_TOKEN (the stored session is for ${url}, not https://127.0.0.1:9)`,
    );
    const out = await axiom(['logout'], d);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('signed out');
    expect(fs.existsSync(file)).toBe(false);
    expect(await whoamiOver(token)).toBe(401);
    const after = await axiom(['token', 'create', '--name', 'x', '--expires-in-days', '1'], d);
    expect(after.code).toBe(2);
    // Where the session was looked for: `axiom login` in another directory keeps it elsewhere.
    expect(after.stderr).toContain(
      `not signed in: run \`axiom login\` or set AXIOM_TOKEN (no stored session in ${file};`,
    );
    expect((await axiom(['logout'], d)).stdout).toContain('not signed in');
  });
});
