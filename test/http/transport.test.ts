// Transport-level promises of the HTTPS server: TLS 1.2 at the least, security headers on every
// answer, and rate limits per session and per address with the one error shape.
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createOrg } from '../support/fixtures.js';
import { useTestServer } from '../support/http.js';

const s = useTestServer({ AXIOM_RATE_LIMIT_PER_MINUTE: '12' });

function handshake(opts: tls.ConnectionOptions): Promise<string> {
  const { port } = new URL(s().server.url);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: Number(port),
      ca: s().server.tls.cert,
      servername: 'localhost',
      ...opts,
    });
    socket.once('secureConnect', () => {
      const v = socket.getProtocol() ?? 'unknown';
      socket.end();
      resolve(v);
    });
    socket.once('error', (e) =>
      resolve(`refused: ${(e as NodeJS.ErrnoException).code ?? e.message}`),
    );
  });
}

describe('the HTTPS server', () => {
  it('refuses TLS 1.0 and 1.1 and speaks 1.2 and 1.3', async () => {
    // The client is made able to speak TLS 1.1 (security level 0), so the refusal is the server's.
    expect(
      await handshake({
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
    ).toMatch(/^refused: ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION/);
    expect(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toBe('TLSv1.2');
    expect(await handshake({ minVersion: 'TLSv1.3' })).toBe('TLSv1.3');
  });

  it('sends security headers on pages and API answers', async () => {
    const c = s().client();
    for (const url of ['/', '/api/v1/health', '/api/v1/auth/session']) {
      const r = await c.request('GET', url);
      expect(r.headers['strict-transport-security'], url).toMatch(/max-age=\d{7,}/);
      expect(r.headers['x-content-type-options'], url).toBe('nosniff');
      expect(String(r.headers['content-security-policy']), url).toMatch(/frame-ancestors 'none'/);
      expect(String(r.headers['content-security-policy']), url).toMatch(/script-src 'self'/);
      expect(r.headers['x-powered-by'], url).toBeUndefined();
    }
  });

  it('limits requests per address before sign-in and per session after, with the error shape', async () => {
    const c = s().client();
    let limited: Awaited<ReturnType<typeof c.request>> | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const r = await c.request('GET', '/api/v1/health');
      if (r.status === 429) limited = r;
    }
    expect(limited?.status).toBe(429);
    expect(limited?.body).toMatchObject({ code: 'rate_limited' });
    expect(limited?.headers['retry-after']).toBeDefined();
    // A signed-in session has its own budget, not the address's exhausted one.
    const org = await createOrg(s().db);
    const login = await s().db.api.raw<{ token: string }>('session_login_password', [
      org.slug,
      org.admin.email,
      org.admin.password,
      '{}',
    ]);
    const cli = s().client();
    cli.bearer = login.token;
    expect((await cli.get('/api/v1/auth/session')).status).toBe(200);
  });
});
