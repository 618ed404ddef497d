// `axiom change-request approve|reject --sso` and `axiom plan approve --sso`: an e-signature whose
// policy asks for a security key or a fresh sign-in, answered from the terminal by signing in again
// at the organization's OpenID provider. Run in-process (main()) against the real HTTPS server and a
// real OpenID provider in this process; no browser is opened (--no-browser): the test plays the person
// who opens the printed URL, signs in at the provider, and lands back on Axiom.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printedOnStderr, startInProcess, type RunningCli } from '../support/cli.js';
import { createFacility, createOrg, uniq, type TestOrg } from '../support/fixtures.js';
import { useTestServer, type HttpClient } from '../support/http.js';
import { useOidcProvider } from '../support/oidc-idp.js';

const s = useTestServer();
const idp = useOidcProvider(() => `${s().server.publicUrl}/api/v1/auth/oidc/callback`);
let dir = '';
let org: TestOrg;
let adm: HttpClient;
let facility: string;
/** Dana: signs in with single sign-on only (no password), holds review in configuration. */
let danaToken = '';

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Start `axiom <args>` as Dana in this process without waiting for it. */
const axiom = (args: string[], token = danaToken): RunningCli =>
  startInProcess(args, { AXIOM_DATA_DIR: dir, AXIOM_URL: s().server.url, AXIOM_TOKEN: token });

/** The provider URL the CLI printed, once it has. */
const printedUrl = async (r: RunningCli): Promise<string> =>
  (await printedOnStderr(r, /^ {2}(http\S+)$/m))[1]!;

/** A high-risk change (the facility's configuration) proposed by the administrator, in review. */
async function proposeChange(
  cap: number,
): Promise<{ id: string; proposed_record_id: string; proposed_record_hash: string }> {
  const current = await adm.get<{
    records: Array<{ id: string; content: Record<string, unknown> }>;
  }>(`/api/v1/records/facility_configuration?facility_id=${facility}`);
  const cfg = current.body.records[0]!;
  const cr = await adm.post<{
    id: string;
    proposed_record_id: string;
    proposed_record_hash: string;
  }>('/api/v1/records/facility_configuration', {
    facility_id: facility,
    item_id: cfg.id,
    content: { ...cfg.content, blast_radius_cap: cap },
    title: `Cap the blast radius at ${cap}`,
    reason: 'incident review',
  });
  expect(cr.status, JSON.stringify(cr.body)).toBe(201);
  const submitted = await adm.post(`/api/v1/change-requests/${cr.body.id}/submit`, {});
  expect(submitted.status).toBe(200);
  return cr.body;
}

async function state(id: string): Promise<{ state: string; decisions: unknown[] }> {
  return (await adm.get<{ state: string; decisions: unknown[] }>(`/api/v1/change-requests/${id}`))
    .body;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-cli-sign-sso-'));
  fs.mkdirSync(path.join(dir, 'tls'));
  fs.writeFileSync(path.join(dir, 'tls', 'cert.pem'), s().server.tls.cert);
  org = await createOrg(s().db, { tier: 'growth' });
  facility = await createFacility(s().db, org, `prod-${uniq()}`, 'production');
  adm = s().client();
  expect((await adm.login(org.slug, org.admin.email, org.admin.password)).status).toBe(200);
  const domain = `sign-${uniq()}.example`;
  expect((await adm.post('/api/v1/domains', { domain, reason: 'DNS TXT checked' })).status).toBe(
    201,
  );
  const provider = await adm.post<{ id: string }>('/api/v1/sso-providers', {
    kind: 'oidc',
    name: 'Test OpenID provider',
    issuer: idp().issuer,
    client_id: idp().clientId,
    client_secret: idp().clientSecret,
    default_grants: [{ domain: 'configuration', level: 'read', facility_id: null }],
  });
  expect(provider.status).toBe(201);
  idp().accounts.set('dana', { sub: 'dana', email: `dana@${domain}`, email_verified: true });
  // Dana signs in once through the provider as `axiom login --sso` does (a session, not an API
  // token: API tokens never sign), then gets review to sign.
  const verifier = randomBytes(32).toString('base64url');
  const start = new URL(`${s().server.url}/api/v1/auth/sso/${org.slug}/start`);
  start.searchParams.set('cli_port', '45679');
  start.searchParams.set(
    'cli_challenge',
    createHash('sha256').update(verifier).digest('base64url'),
  );
  const browser = s().client();
  const toIdp = await browser.get(start.pathname + start.search);
  expect(toIdp.status).toBe(302);
  idp().nextLogin = { sub: 'dana' };
  const back = await idp().authorize(String(toIdp.headers.location));
  const handoff = await browser.get(back.pathname + back.search);
  expect(handoff.status).toBe(302);
  const code = new URL(String(handoff.headers.location)).searchParams.get('code');
  const session = await s().client().post<{ token: string }>('/api/v1/auth/sso/cli/exchange', {
    code,
    code_verifier: verifier,
  });
  expect(session.status, JSON.stringify(session.body)).toBe(200);
  danaToken = session.body.token;
  const dana = s().client();
  dana.bearer = danaToken;
  const me = await dana.get<{ principal: { id: string } }>('/api/v1/auth/session');
  expect(me.status).toBe(200);
  const granted = await adm.post('/api/v1/grants', {
    principal_id: me.body.principal.id,
    domain: 'configuration',
    level: 'review',
    facility_id: null,
    reason: 'reviews facility configurations',
  });
  expect(granted.status, JSON.stringify(granted.body)).toBe(201);
});

describe('signing with --sso', () => {
  it('approves a high-risk change after a fresh sign-in at the provider, and records that factor', async () => {
    const cr = await proposeChange(3);
    // A password does not satisfy this policy: the CLI says what does, and signs nothing.
    const refused = await axiom(['cr', 'approve', cr.id, '--password-stdin']).done;
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /a security key or a fresh sign-in at your identity provider \(--sso\)/,
    );

    const run = axiom(['cr', 'approve', cr.id, '--sso', '--no-browser']);
    const url = await printedUrl(run);
    expect(new URL(url).origin).toBe(new URL(idp().issuer).origin);
    expect(new URL(url).searchParams.get('prompt')).toBe('login');
    // The person signs in again at the provider; the provider returns the browser to Axiom.
    idp().nextLogin = { sub: 'dana' };
    const back = await idp().authorize(url);
    const landed = await s()
      .client()
      .get<string>(back.pathname + back.search);
    expect(landed.status).toBe(200);
    expect(landed.text).toContain('Identity confirmed');
    const r = await run.done;
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${cr.id}  approved `));
    expect((await state(cr.id)).state).toBe('approved');
    const sigs = await adm.get<{ signatures: Array<{ factors: string[]; meaning: string }> }>(
      `/api/v1/signatures?record_id=${cr.proposed_record_id}`,
    );
    expect(sigs.status).toBe(200);
    expect(sigs.body.signatures).toEqual([
      expect.objectContaining({ meaning: 'approved', factors: ['oidc_reauth'] }),
    ]);
  });

  it('signs nothing when someone else signs in at the provider, or nobody does in time', async () => {
    const cr = await proposeChange(4);
    const run = axiom(['cr', 'approve', cr.id, '--sso', '--no-browser', '--timeout', '3']);
    const url = await printedUrl(run);
    idp().accounts.set('eve', { sub: 'eve', email: `eve-${uniq()}@elsewhere.example` });
    idp().nextLogin = { sub: 'eve' };
    const back = await idp().authorize(url);
    expect(
      (
        await s()
          .client()
          .get(back.pathname + back.search)
      ).status,
    ).toBe(401);
    const r = await run.done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no sign-in at the identity provider came back within 3 s/);
    expect(await state(cr.id)).toMatchObject({ state: 'in_review', decisions: [] });
  });

  it('refuses options that do not go together, before any request', async () => {
    for (const [args, message] of [
      [['--sso', '--password-stdin'], /no --password-stdin/],
      [['--no-browser'], /go with --sso/],
      [['--timeout', '5'], /go with --sso/],
      [['--sso', '--timeout', '0'], /--timeout is a whole number/],
      [['--sso', '--timeout', '1; rm -rf /'], /--timeout is a whole number/],
    ] as const) {
      const r = await axiom(['plan', 'approve', '00000000-0000-4000-8000-000000000000', ...args])
        .done;
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
  });
});
