// `axiom login --sso`, run in-process (main()) against the real HTTPS server and a real OpenID
// provider in this process: the CLI listens on a loopback port, the "browser" (an HTTP client that
// follows what a browser would) signs in at the provider, Axiom hands a single-use code to the CLI's
// port, and the CLI exchanges it with its verifier for a session. No browser is opened (--no-browser);
// the test plays the person who opens the printed URL.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printedOnStderr, startInProcess, type RunningCli } from '../support/cli.js';
import { createOrg, uniq, type TestOrg } from '../support/fixtures.js';
import { useTestServer, type HttpClient } from '../support/http.js';
import { useOidcProvider } from '../support/oidc-idp.js';

const s = useTestServer();
const idp = useOidcProvider(() => `${s().server.publicUrl}/api/v1/auth/oidc/callback`);
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-cli-sso-'));
  dirs.push(d);
  fs.mkdirSync(path.join(d, 'tls'));
  fs.writeFileSync(path.join(d, 'tls', 'cert.pem'), s().server.tls.cert);
  return d;
}

/** Start `axiom <args>` in this process without waiting for it. */
const axiom = (args: string[], env: Record<string, string>): RunningCli =>
  startInProcess(args, env);

/** The start URL the CLI printed, once it has. */
const printedUrl = async (r: RunningCli): Promise<URL> =>
  new URL((await printedOnStderr(r, /https:\/\/\S+\/start\?\S+/))[0]);

/** What a browser does with the start URL: Axiom, the provider, Axiom's callback; returns where Axiom sends it. */
async function browse(browser: HttpClient, start: URL, sub: string) {
  const toIdp = await browser.get(start.pathname + start.search);
  expect(toIdp.status).toBe(302);
  idp().nextLogin = { sub };
  const back = await idp().authorize(String(toIdp.headers.location));
  expect(back.pathname).toBe('/api/v1/auth/oidc/callback');
  return await browser.get(back.pathname + back.search);
}

let org: TestOrg;
let adm: HttpClient;
let domain: string;
let env: Record<string, string>;

beforeAll(async () => {
  org = await createOrg(s().db, { tier: 'growth' });
  adm = s().client();
  expect((await adm.login(org.slug, org.admin.email, org.admin.password)).status).toBe(200);
  domain = `cli-${uniq()}.example`;
  expect((await adm.post('/api/v1/domains', { domain, reason: 'DNS TXT checked' })).status).toBe(
    201,
  );
  const configured = await adm.post<{ id: string }>('/api/v1/sso-providers', {
    kind: 'oidc',
    name: 'Test OpenID provider',
    issuer: idp().issuer,
    client_id: idp().clientId,
    client_secret: idp().clientSecret,
    default_grants: [{ domain: 'audit', level: 'read', facility_id: null }],
  });
  expect(configured.status).toBe(201);
  idp().accounts.set('dana', {
    sub: 'dana',
    email: `dana@${domain}`,
    email_verified: true,
    name: 'Dana Dev',
  });
  env = { AXIOM_DATA_DIR: dataDir(), AXIOM_URL: s().server.url };
});

async function failedSignIns(): Promise<Array<{ reason: string | null; details: string | null }>> {
  const r = await adm.get<Array<{ reason: string | null; details: string | null }>>(
    '/api/v1/audit/events?limit=50&event_type=sso.login_failed',
  );
  expect(r.status).toBe(200);
  return r.body;
}

/** Start a CLI sign-in by hand (as the CLI does) and bring the browser to the handoff. */
async function handoff(verifier: string): Promise<string> {
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const start = new URL(`${s().server.url}/api/v1/auth/sso/${org.slug}/start`);
  start.searchParams.set('cli_port', '45678');
  start.searchParams.set('cli_challenge', challenge);
  const landed = await browse(s().client(), start, 'dana');
  expect(landed.status).toBe(302);
  const to = new URL(String(landed.headers.location));
  expect(`${to.origin}${to.pathname}`).toBe('http://127.0.0.1:45678/callback');
  return String(to.searchParams.get('code'));
}

describe('axiom login --sso', () => {
  it('signs in through the browser and the loopback port, and keeps the session like a password sign-in', async () => {
    const run = axiom(
      ['login', '--sso', '--organization', org.slug, '--no-browser', '--json'],
      env,
    );
    const start = await printedUrl(run);
    expect(start.pathname).toBe(`/api/v1/auth/sso/${org.slug}/start`);
    const port = Number(start.searchParams.get('cli_port'));
    expect(port).toBeGreaterThanOrEqual(1024);
    expect(start.searchParams.get('cli_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const browser = s().client();
    const landed = await browse(browser, start, 'dana');
    // No session in the browser: a redirect to the CLI's port with a single-use code.
    expect(landed.status).toBe(302);
    expect(browser.cookies.has('__Host-axiom_session')).toBe(false);
    const to = new URL(String(landed.headers.location));
    expect(`${to.origin}${to.pathname}`).toBe(`http://127.0.0.1:${port}/callback`);
    const code = String(to.searchParams.get('code'));
    expect(code).toMatch(/^[0-9a-f-]{36}\.axc_[A-Za-z0-9_-]{43}$/);

    // The browser follows the redirect to the CLI, which answers with a page and finishes.
    const page = await request(to);
    expect(page.statusCode).toBe(200);
    expect(await page.body.text()).toContain('Return to your terminal');
    const r = await run.done;
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { principal: { email: string }; url: string };
    expect(out.principal.email).toBe(`dana@${domain}`);
    expect(out.url).toBe(s().server.url);

    const stored = JSON.parse(
      fs.readFileSync(path.join(env.AXIOM_DATA_DIR!, 'cli-session'), 'utf8'),
    ) as {
      token: string;
    };
    expect(fs.statSync(path.join(env.AXIOM_DATA_DIR!, 'cli-session')).mode & 0o777).toBe(0o600);
    const who = axiom(['whoami', '--json'], env);
    const w = await who.done;
    expect(w.code).toBe(0);
    expect(JSON.parse(w.stdout)).toMatchObject({
      principal: { email: `dana@${domain}` },
      session: { auth_method: 'oidc' },
    });
    // Nothing secret in what the CLI printed: not the token, the code or the verifier.
    expect(r.stdout + r.stderr).not.toContain(stored.token);
    expect(r.stdout + r.stderr).not.toContain(code);

    // The code was spent: presented again (even with any verifier), it is refused and recorded.
    const again = await s()
      .client()
      .post('/api/v1/auth/sso/cli/exchange', {
        code,
        code_verifier: randomBytes(32).toString('base64url'),
      });
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ reason: 'cli_code_invalid' });
    expect((await failedSignIns())[0]).toMatchObject({ reason: 'cli_code_invalid' });
    // The loopback port is closed once the CLI is done.
    await expect(request(to)).rejects.toThrow();
  });

  it('refuses a code presented with the wrong verifier, and the code is spent by the attempt', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const code = await handoff(verifier);
    const wrong = await s()
      .client()
      .post('/api/v1/auth/sso/cli/exchange', {
        code,
        code_verifier: randomBytes(32).toString('base64url'),
      });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ reason: 'cli_verifier_mismatch' });
    expect(JSON.stringify(wrong.body)).not.toContain(code);
    expect((await failedSignIns())[0]).toMatchObject({ reason: 'cli_verifier_mismatch' });
    const right = await s().client().post('/api/v1/auth/sso/cli/exchange', {
      code,
      code_verifier: verifier,
    });
    expect(right.status).toBe(401);
    expect(right.body).toMatchObject({ reason: 'cli_code_invalid' });
  });

  it('refuses a code after its two minutes', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const code = await handoff(verifier);
    // Time passes (the superuser moves the expiry: the only way to age a row here).
    await s().db.superuser.query(
      `update core.sso_cli_handoffs set expires_at = now() - interval '1 second'
        where code_hash = sha256(convert_to($1, 'UTF8'))`,
      [code],
    );
    const late = await s().client().post('/api/v1/auth/sso/cli/exchange', {
      code,
      code_verifier: verifier,
    });
    expect(late.status).toBe(401);
    expect(late.body).toMatchObject({ reason: 'cli_code_invalid' });
  });

  it('exchanges a fresh code with its verifier exactly once', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const code = await handoff(verifier);
    const r = await s().client().post<{ token: string }>('/api/v1/auth/sso/cli/exchange', {
      code,
      code_verifier: verifier,
    });
    expect(r.status).toBe(200);
    expect(r.body.token).toMatch(/^axs_/);
    expect(r.headers['set-cookie']).toBeUndefined();
    // The table keeps the code hashed only.
    const rows = await s().db.superuser.query<{ t: string }>(
      `select row_to_json(h)::text as t from core.sso_cli_handoffs h`,
    );
    expect(rows.rows.length).toBeGreaterThan(0);
    for (const row of rows.rows) {
      expect(row.t).not.toContain(code);
      expect(row.t).not.toContain(code.split('.')[1]!);
      expect(row.t).not.toContain(verifier);
    }
    // Nor, once spent or expired, the identity it carried (099): every earlier handoff of this file
    // was spent by its exchange or expired before this one.
    const kept = await s().db.superuser.query<{ n: number }>(
      `select count(*)::int as n from core.sso_cli_handoffs where identity <> '{}'::jsonb`,
    );
    expect(kept.rows[0]!.n).toBe(0);
  });

  it('forgets the identity of a handoff that expired unused at the next exchange', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const unused = await handoff(verifier);
    const identityOf = async (code: string): Promise<unknown> =>
      (
        await s().db.superuser.query<{ identity: unknown }>(
          `select identity from core.sso_cli_handoffs where code_hash = sha256(convert_to($1, 'UTF8'))`,
          [code],
        )
      ).rows[0]!.identity;
    expect(await identityOf(unused)).toMatchObject({ subject: expect.any(String) });
    await s().db.superuser.query(
      `update core.sso_cli_handoffs set expires_at = now() - interval '1 second'
        where code_hash = sha256(convert_to($1, 'UTF8'))`,
      [unused],
    );
    const next = randomBytes(32).toString('base64url');
    const code = await handoff(next);
    expect(await identityOf(code)).toMatchObject({ subject: expect.any(String) });
    const r = await s().client().post('/api/v1/auth/sso/cli/exchange', {
      code,
      code_verifier: next,
    });
    expect(r.status).toBe(200);
    expect(await identityOf(unused)).toEqual({});
    expect(await identityOf(code)).toEqual({});
  });

  it('answers malformed exchanges and start parameters with a clear error, and records nothing', async () => {
    const count = async () =>
      Number(
        (await s().db.superuser.query<{ n: string }>(`select count(*) as n from core.sso_requests`))
          .rows[0]!.n,
      );
    const before = await count();
    for (const q of [
      'cli_port=80&cli_challenge=' + 'a'.repeat(43),
      'cli_port=99999&cli_challenge=' + 'a'.repeat(43),
      'cli_port=45678',
      'cli_challenge=' + 'a'.repeat(43),
      'cli_port=45678&cli_challenge=short',
      'cli_port=45678&cli_challenge=' + '%3Cscript%3E'.repeat(5),
    ]) {
      const r = await s().client().get(`/api/v1/auth/sso/${org.slug}/start?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.headers.location, q).toBeUndefined();
    }
    expect(await count()).toBe(before);

    for (const body of [
      {},
      { code: 'x', code_verifier: 'short' },
      { code: 'x'.repeat(201), code_verifier: 'v'.repeat(43) },
      { code: 'not-a-code', code_verifier: 'v'.repeat(43) },
      {
        code: `${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}.axc_${'a'.repeat(43)}`,
        code_verifier: 'v'.repeat(43),
      },
    ]) {
      const r = await s().client().post('/api/v1/auth/sso/cli/exchange', body);
      expect([400, 401], JSON.stringify(body)).toContain(r.status);
      expect(r.body).toMatchObject({ code: expect.any(String) });
      expect(r.headers['set-cookie']).toBeUndefined();
    }
  });

  it('the database refuses to hand off a browser sign-in to a CLI, and a caller without the service secret', async () => {
    // A browser sign-in (no cli_port), consumed: handing it off is refused.
    const browser = s().client();
    const toIdp = await browser.get(`/api/v1/auth/sso/${org.slug}/start`);
    const state = String(new URL(String(toIdp.headers.location)).searchParams.get('state'));
    const providerId = state.split('.')[0]!;
    const request = await s().db.superuser.query<{ id: string }>(
      `select id from core.sso_requests where state_hash = sha256(convert_to($1, 'UTF8'))`,
      [state],
    );
    const r = await s().db.user.query<{ r: { ok: boolean; error?: { reason: string } } }>(
      `select api.sso_cli_handoff_create($1, $2, $3, '{"subject": "dana"}') as r`,
      [s().db.workerSecret, providerId, request.rows[0]!.id],
    );
    expect(r.rows[0]!.r).toMatchObject({ ok: false, error: { reason: 'state_mismatch' } });
    const noSecret = await s().db.user.query<{ r: { ok: boolean } }>(
      `select api.session_login_sso_cli('wrong-secret', $1, $2) as r`,
      [`${providerId}.axc_${'a'.repeat(43)}`, 'v'.repeat(43)],
    );
    expect(noSecret.rows[0]!.r.ok).toBe(false);
    // axiom_user cannot read or write the handoffs table directly.
    await expect(s().db.user.query('select * from core.sso_cli_handoffs')).rejects.toThrow(
      /permission denied/,
    );
  });

  it('gives up when no sign-in comes back in time, and closes its port', async () => {
    const run = axiom(
      ['login', '--sso', '--organization', org.slug, '--no-browser', '--timeout', '1'],
      { ...env, AXIOM_DATA_DIR: dataDir() },
    );
    const start = await printedUrl(run);
    const r = await run.done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no sign-in came back from the browser within 1 s');
    await expect(
      request(`http://127.0.0.1:${start.searchParams.get('cli_port')}/callback?code=x`),
    ).rejects.toThrow();
  });

  it('refuses options that do not go together', async () => {
    for (const args of [
      ['login', '--sso', '--organization', org.slug, '--email', 'a@b.c'],
      ['login', '--sso', '--organization', org.slug, '--password-stdin'],
      ['login', '--provider', randomBytesUuid(), '--organization', org.slug],
      ['login', '--sso', '--organization', org.slug, '--provider', 'nope'],
      ['login', '--sso', '--organization', org.slug, '--timeout', '0'],
      ['login', '--sso', '--organization', 'Not A Slug'],
    ]) {
      const r = await axiom(args, env).done;
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).not.toContain('/start?');
    }
  });
});

function randomBytesUuid(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
