// `axiom domain list|add` and `axiom sso list|add-oidc|add-saml|disable` in-process against the real
// HTTPS server and database: an administrator records a verified domain and configures an OpenID
// provider whose client secret comes from standard input and is stored only sealed (searched for in
// the provider row, the audit trail and the CLI's output), and a SAML provider from a PEM file; the
// database refuses a starter organization and a person without configuration:review; malformed
// arguments are refused before any request. (Signing in through them: test/cli/sso.test.ts,
// test/http/sso.test.ts.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, createUser, type TestOrg, type TestUser } from '../support/fixtures.js';
import { useCli } from '../support/cli.js';
import { useTestServer } from '../support/http.js';
import { createSamlIdp } from '../support/saml-idp.js';

const s = useTestServer();
const axiom = useCli(s);
let org: TestOrg;
let starter: TestOrg;
let reader: TestUser;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-cli-sso-setup-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const secret = `cs-${Math.random().toString(36).slice(2)}-do-not-print`;

beforeAll(async () => {
  org = await createOrg(s().db, { tier: 'growth' });
  starter = await createOrg(s().db, { tier: 'starter' });
  reader = await createUser(s().db, org, [
    { domain: 'configuration', level: 'read', facility: null },
  ]);
});

async function providers(o: TestOrg): Promise<number> {
  return (
    await s().db.superuser.query<{ n: number }>(
      'select count(*)::int as n from core.sso_providers where organization_id = $1',
      [o.id],
    )
  ).rows[0]!.n;
}

describe('axiom domain', () => {
  it('records a verified domain for an administrator only, and lists it', async () => {
    const refused = await axiom(reader, [
      'domain',
      'add',
      'corp.example.com',
      '--reason',
      'DNS TXT',
    ]);
    expect(refused.stderr).toMatch(/forbidden\/missing_grant/);
    for (const bad of [
      'not a domain',
      'corp.example.com; drop table core.organization_domains',
      'x',
    ])
      expect((await axiom(org.admin, ['domain', 'add', bad, '--reason', 'r'])).stderr).toMatch(
        /is not a domain name.*invalid_input\/usage/,
      );
    const ok = await axiom(org.admin, [
      'domain',
      'add',
      'corp.example.com',
      '--reason',
      'DNS TXT record',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const list = await axiom(reader, ['domains', 'list']);
    expect(list.stdout).toMatch(/^corp\.example\.com {2}\S+$/m);
  });
});

describe('axiom sso', () => {
  it('configures an OpenID provider with its secret from standard input, stored only sealed', async () => {
    const args = [
      'sso',
      'add-oidc',
      '--name',
      'Corp SSO',
      '--issuer',
      'https://login.corp.example.com',
      '--client-id',
      'axiom-client',
      '--client-secret-stdin',
      '--grant',
      'security:read',
    ];
    const r = await axiom(org.admin, args, `${secret}\n`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      /^[0-9a-f-]{36} {2}oidc {2}active {2}Corp SSO {2}https:\/\/login\.corp\.example\.com client axiom-client \(secret stored sealed\)$/,
    );
    const listed = await axiom(reader, ['sso', 'list', '--json']);
    const [p] = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    expect(p).toMatchObject({
      kind: 'oidc',
      has_client_secret: true,
      default_grants: [{ domain: 'security', level: 'read', facility_id: null }],
    });
    // The secret is nowhere in plain: not in the provider's row, the audit trail or any output.
    for (const out of [r.stdout, r.stderr, listed.stdout]) expect(out).not.toContain(secret);
    const found = await s().db.superuser.query<{ n: number }>(
      `select (select count(*) from core.sso_providers p where p::text like '%' || $1 || '%')
            + (select count(*) from audit.audit_events e where e::text like '%' || $1 || '%')
            + (select count(*) from audit.session_events e where e::text like '%' || $1 || '%') as n`,
      [secret],
    );
    expect(Number(found.rows[0]!.n)).toBe(0);

    // A starter organization cannot, and a reader cannot; neither leaves a provider behind.
    expect((await axiom(starter.admin, args, `${secret}\n`)).code).toBe(2);
    expect((await axiom(reader, args, `${secret}\n`)).stderr).toMatch(/forbidden\/missing_grant/);
    expect(await providers(starter)).toBe(0);
    expect(await providers(org)).toBe(1);
  });

  it('configures a SAML provider from its certificate file, and disables it', async () => {
    const idp = await createSamlIdp();
    const cert = path.join(dir, 'idp.pem');
    fs.writeFileSync(cert, idp.certificate);
    const r = await axiom(org.admin, [
      'sso',
      'add-saml',
      '--name',
      'Corp SAML',
      '--idp-entity-id',
      idp.entityId,
      '--idp-sso-url',
      idp.ssoUrl,
      '--idp-certificate-file',
      cert,
      '--sp-entity-id',
      'https://axiom.corp.example.com/saml',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as { id: string; kind: string; idp_entity_id: string };
    expect(p).toMatchObject({ kind: 'saml', idp_entity_id: idp.entityId });
    const off = await axiom(org.admin, ['sso', 'disable', p.id, '--reason', 'moved to OIDC']);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(new RegExp(`^${p.id} {2}saml {2}disabled \\S+ {2}Corp SAML`));
  });

  it('accepts a provider on this machine over plain HTTP, as the server does', async () => {
    // The same rule as the API and sign-in (src/identity/urls.ts): a development provider on a
    // loopback address needs no TLS; a provider anywhere else does (next test).
    const r = await axiom(org.admin, [
      'sso',
      'add-oidc',
      '--name',
      'Local IdP',
      '--issuer',
      'http://127.0.0.1:5556/dex',
      '--client-id',
      'local',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ {2}Local IdP {2}http:\/\/127\.0\.0\.1:5556\/dex client local$/);
    const stored = await s().db.superuser.query<{ issuer: string }>(
      `select issuer from core.sso_providers where organization_id = $1 and name = 'Local IdP'`,
      [org.id],
    );
    expect(stored.rows).toEqual([{ issuer: 'http://127.0.0.1:5556/dex' }]);
  });

  it('refuses malformed arguments before any request', async () => {
    const before = await providers(org);
    const notPem = path.join(dir, 'not.pem');
    fs.writeFileSync(notPem, 'hello');
    for (const [args, message] of [
      [
        ['add-oidc', '--name', 'x', '--issuer', 'http://plain.example.com', '--client-id', 'c'],
        /--issuer is an https:\/\/ URL \(plain http only on this machine/,
      ],
      [
        [
          'add-oidc',
          '--name',
          'x',
          '--issuer',
          'https://a.example.com',
          '--client-id',
          'c',
          '--grant',
          'everything',
        ],
        /--grant everything/,
      ],
      [
        [
          'add-saml',
          '--name',
          'x',
          '--idp-entity-id',
          'e',
          '--idp-sso-url',
          'https://a.example.com/sso',
          '--idp-certificate-file',
          path.join(dir, 'missing.pem'),
          '--sp-entity-id',
          'sp',
        ],
        /cannot be read/,
      ],
      [
        [
          'add-saml',
          '--name',
          'x',
          '--idp-entity-id',
          'e',
          '--idp-sso-url',
          'https://a.example.com/sso',
          '--idp-certificate-file',
          notPem,
          '--sp-entity-id',
          'sp',
        ],
        /not a PEM certificate/,
      ],
      [['disable', "x' or '1'='1", '--reason', 'r'], /not an id/],
    ] as Array<[string[], RegExp]>) {
      const r = await axiom(org.admin, ['sso', ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
    // A secret on standard input is read up to a limit, not for as long as it keeps coming.
    const flood = await axiom(
      org.admin,
      [
        'sso',
        'add-oidc',
        '--name',
        'x',
        '--issuer',
        'https://a.example.com',
        '--client-id',
        'c',
        '--client-secret-stdin',
      ],
      'x'.repeat(200 * 1024),
    );
    expect(flood.code).toBe(2);
    expect(flood.stderr).toMatch(/standard input is larger than 64 KiB/);
    expect(await providers(org)).toBe(before);
  });
});
