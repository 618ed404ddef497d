// Every route of the API, from the OpenAPI description the server publishes, answered with the one
// error shape for the classic failures: no session, an expired (revoked) session, a cookie without the
// CSRF token, malformed JSON, a body of the wrong type, an oversized body, a path id that is not an id.
// New routes are covered the moment they are registered. Nothing may answer 500 or leak database text.
import { describe, expect, it } from 'vitest';
import { createOrg } from '../support/fixtures.js';
import { useTestServer, type HttpClient, type HttpResponse } from '../support/http.js';

const s = useTestServer();

interface Operation {
  method: string;
  path: string;
  session: boolean;
  hasBody: boolean;
  json: boolean;
}

/** Routes answering HTML or redirects for browsers and identity providers (tested in their own files). */
const browserRoutes = [/\/auth\/sso\//, /\/auth\/oidc\/callback$/, /\/auth\/saml\/.*\/acs$/];

function operations(): Operation[] {
  const spec = s().server.app.swagger() as {
    paths: Record<
      string,
      Record<string, { security?: unknown[]; requestBody?: { content?: Record<string, unknown> } }>
    >;
  };
  const ops: Operation[] = [];
  for (const [p, methods] of Object.entries(spec.paths)) {
    for (const [m, op] of Object.entries(methods)) {
      if (browserRoutes.some((r) => r.test(p))) continue;
      const content = op.requestBody?.content ?? {};
      ops.push({
        method: m.toUpperCase(),
        path: p,
        session: !(Array.isArray(op.security) && op.security.length === 0),
        hasBody: Object.keys(content).length > 0,
        json: 'application/json' in content,
      });
    }
  }
  return ops;
}

/** Fill path parameters: a random (valid, unknown) uuid, or a plausible word. */
function fill(path: string, id = '00000000-0000-4000-8000-000000000000'): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => (/id$/i.test(name) ? id : 'policy'));
}

function expectErrorShape(r: HttpResponse, label: string): void {
  expect(r.status, label).toBeGreaterThanOrEqual(400);
  expect(r.status, `${label}: ${r.text.slice(0, 200)}`).toBeLessThan(500);
  const body = r.body as Record<string, unknown>;
  expect(typeof body.code, label).toBe('string');
  expect(typeof body.message, label).toBe('string');
  expect(body.requestId, label).toBe(r.headers['x-request-id']);
  expect(r.text, label).not.toMatch(/stack|at .*\.js:\d+|syntax error at or near|relation "/i);
}

async function signedIn(): Promise<HttpClient> {
  const org = await createOrg(s().db);
  const c = s().client();
  await c.login(org.slug, org.admin.email, org.admin.password);
  return c;
}

describe('every route', () => {
  it('is described in the OpenAPI document, with a browsable page', async () => {
    expect(operations().length).toBeGreaterThan(40);
    const page = await s().client().request('GET', '/api/docs');
    expect([200, 302]).toContain(page.status);
  });

  it('answers 401 without a session and after the session was revoked', async () => {
    const anonymous = s().client();
    const c = await signedIn();
    const revoked = s().client();
    for (const [name, cookie] of c.cookies) revoked.cookies.set(name, cookie);
    revoked.csrf = c.csrf;
    expect((await c.post('/api/v1/auth/logout')).status).toBe(200);
    for (const op of operations().filter((o) => o.session)) {
      for (const [who, client] of [
        ['anonymous', anonymous],
        ['revoked', revoked],
      ] as const) {
        const r = await client.request(op.method, fill(op.path), op.hasBody ? { json: {} } : {});
        const label = `${op.method} ${op.path} (${who})`;
        expectErrorShape(r, label);
        // A request of the wrong shape may be refused before the session is looked at; never accepted.
        expect([400, 401, 403], label).toContain(r.status);
        // Without any credential the session check comes first, whatever the request looks like.
        if (who === 'anonymous') expect(r.status, label).toBe(401);
      }
    }
  });

  it('refuses a state-changing request with the session cookie but without the CSRF token', async () => {
    const c = await signedIn();
    for (const op of operations().filter((o) => o.session && o.method !== 'GET')) {
      const r = await c.request(op.method, fill(op.path), { json: {}, csrf: false });
      const label = `${op.method} ${op.path}`;
      expectErrorShape(r, label);
      expect(r.status, label).toBe(403);
      expect((r.body as { reason?: string }).reason, label).toBe('csrf');
    }
  });

  it('answers malformed JSON, wrong types, oversized bodies and bad ids with 400/413', async () => {
    const c = await signedIn();
    for (const op of operations().filter((o) => o.json)) {
      const label = `${op.method} ${op.path}`;
      const malformed = await c.request(op.method, fill(op.path), {
        body: '{"x": ',
        headers: { 'content-type': 'application/json' },
      });
      expectErrorShape(malformed, `${label} malformed`);
      expect(malformed.status, `${label} malformed`).toBe(400);
      const wrong = await c.request(op.method, fill(op.path), { json: ['not', 'an', 'object'] });
      expectErrorShape(wrong, `${label} wrong type`);
      expect([400, 404, 422], `${label} wrong type`).toContain(wrong.status);
      const big = await c.request(op.method, fill(op.path), {
        json: { padding: 'x'.repeat(1_100_000) },
      });
      expectErrorShape(big, `${label} oversized`);
      expect(big.status, `${label} oversized`).toBe(413);
    }
    for (const op of operations().filter((o) => o.session && /\{\w*id\}/i.test(o.path))) {
      const label = `${op.method} ${op.path} bad id`;
      const r = await c.request(
        op.method,
        fill(op.path, 'not-an-id'),
        op.hasBody ? { json: {} } : {},
      );
      expectErrorShape(r, label);
      expect(r.status, label).toBe(400);
    }
  });
});
