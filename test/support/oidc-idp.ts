// A real OpenID provider (the `oidc-provider` package) in the test process, on a free loopback port
// over plain HTTP (openid-client is allowed plain HTTP only for a loopback issuer; see
// src/identity/oidc.ts). Its sign-in page is replaced by a handler that signs in whichever account
// the test names in `nextLogin` (and at the auth_time it names), so a test drives the whole
// authorization-code flow with an HTTP client: no browser, no mocked tokens.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type InteractionResults } from 'oidc-provider';
import { request } from 'undici';
import { afterAll, beforeAll } from 'vitest';

export interface IdpAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

/** A browser's cookies at the identity provider (one origin). */
export type IdpCookieJar = Map<string, string>;

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, IdpAccount>;
  /** Who the next sign-in page signs in, and when (auth_time, seconds since the epoch; default now). */
  nextLogin: { sub: string; authTime?: number } | undefined;
  /** How many times the sign-in page was shown (prompt=login must make it show). */
  logins: number;
  /**
   * Act as a browser at the provider: start at an authorization URL, follow redirects (and the
   * sign-in and consent pages) until the provider sends the browser elsewhere; return that URL.
   */
  authorize(url: string, jar?: IdpCookieJar): Promise<URL>;
  close(): Promise<void>;
}

export async function startOidcProvider(opts: {
  redirectUri: string;
  clientId?: string;
}): Promise<TestIdp> {
  const route: { handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void } = {};
  const server = http.createServer((req, res) => route.handler?.(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = opts.clientId ?? `axiom-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const accounts = new Map<string, IdpAccount>();
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    format: 'jwk',
  });

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [opts.redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [{ ...jwk, kid: 'test-key', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The ID token carries the scope's claims (Axiom reads them from the ID token).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) => {
      const a = accounts.get(sub);
      return a ? { accountId: sub, claims: () => ({ ...a }) } : undefined;
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider:', err));

  const idp: TestIdp = {
    issuer,
    clientId,
    clientSecret,
    accounts,
    nextLogin: undefined,
    logins: 0,
    authorize: async (url, jar = new Map()) => {
      let next = new URL(url);
      for (let hop = 0; hop < 20; hop++) {
        if (next.origin !== issuer) return next;
        const res = await request(next, {
          method: 'GET',
          headers: jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {},
        });
        const body = await res.body.text();
        const set = res.headers['set-cookie'];
        for (const line of Array.isArray(set) ? set : set ? [set] : []) {
          const pair = line.split(';')[0] ?? '';
          const eq = pair.indexOf('=');
          const name = pair.slice(0, eq).trim();
          const value = pair.slice(eq + 1).trim();
          if (!value || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
          else jar.set(name, value);
        }
        const location = res.headers.location;
        if (res.statusCode < 300 || res.statusCode >= 400 || typeof location !== 'string') {
          throw new Error(
            `the identity provider answered ${res.statusCode}: ${body.slice(0, 500)}`,
          );
        }
        next = new URL(location, next);
      }
      throw new Error('too many redirects at the identity provider');
    },
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const callback = provider.callback();
  route.handler = (req, res) => {
    if (!req.url?.startsWith('/interaction/')) {
      callback(req, res);
      return;
    }
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        let result: InteractionResults;
        if (details.prompt.name === 'login') {
          const who = idp.nextLogin;
          if (!who) throw new Error('the test did not say who signs in at the identity provider');
          idp.logins++;
          result = {
            login: { accountId: who.sub, ts: who.authTime ?? Math.floor(Date.now() / 1000) },
          };
        } else {
          const grant = new provider.Grant({
            accountId: details.session?.accountId ?? '',
            clientId: String(details.params.client_id),
          });
          grant.addOIDCScope(String(details.params.scope ?? 'openid'));
          result = { consent: { grantId: await grant.save() } };
        }
        const to = await provider.interactionResult(req, res, result, {
          mergeWithLastSubmission: false,
        });
        res.writeHead(303, { location: to }).end();
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
      }
    })();
  };
  return idp;
}

/** beforeAll/afterAll: a provider whose client redirects to the given Axiom callback URL. */
export function useOidcProvider(redirectUri: () => string): () => TestIdp {
  let idp: TestIdp | undefined;
  beforeAll(async () => {
    idp = await startOidcProvider({ redirectUri: redirectUri() });
  });
  afterAll(async () => {
    await idp?.close();
  });
  return () => {
    if (!idp) throw new Error('the identity provider is not ready');
    return idp;
  };
}
