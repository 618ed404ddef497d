// OpenID Connect sign-in and re-authentication (openid-client): authorization code + PKCE, state and
// nonce checked, ID token validated; re-authentication asks for prompt=login and max_age=0 and checks
// auth_time. The database keeps the in-flight request (single use) and decides who signs in.
import * as client from 'openid-client';
import { AppError } from '../errors.js';
import { isProviderUrl } from './urls.js';
import {
  clientSecretContext,
  openClientSecret,
  refuseSsoResponse,
  type CliSignIn,
  type IdentityDeps,
  type SsoProvider,
} from './context.js';

const configs = new Map<string, { at: number; config: client.Configuration }>();

export function oidcRedirectUri(deps: Pick<IdentityDeps, 'publicUrl'>): string {
  return new URL('/api/v1/auth/oidc/callback', deps.publicUrl).toString();
}

async function configFor(deps: IdentityDeps, p: SsoProvider): Promise<client.Configuration> {
  const cached = configs.get(p.id);
  if (cached && Date.now() - cached.at < 10 * 60_000) return cached.config;
  if (!p.issuer || !p.client_id)
    throw new AppError('invalid_input', 'the provider is not an OpenID provider');
  const issuer = new URL(p.issuer);
  // Plain HTTP only for a provider on this machine (tests, development); anything else needs TLS.
  if (!isProviderUrl(issuer))
    throw new AppError('invalid_input', 'an OpenID issuer must use https');
  const insecure = issuer.protocol === 'http:';
  const secret = p.client_secret_sealed
    ? await openClientSecret(deps.kek, p.client_secret_sealed, clientSecretContext(p))
    : undefined;
  const config = await client.discovery(
    issuer,
    p.client_id,
    { redirect_uris: [oidcRedirectUri(deps)], response_types: ['code'] },
    secret ? client.ClientSecretPost(secret) : client.None(),
    insecure ? { execute: [client.allowInsecureRequests] } : undefined,
  );
  configs.set(p.id, { at: Date.now(), config });
  return config;
}

export async function oidcProvider(
  deps: IdentityDeps,
  orgSlug: string,
  providerId?: string,
): Promise<SsoProvider> {
  const p = await deps.api.raw<SsoProvider>('sso_provider_for_login', [
    deps.serviceSecret,
    orgSlug,
    providerId ?? null,
  ]);
  return p;
}

/** The URL to send the browser to, after recording state, nonce and PKCE verifier in the database. */
export async function oidcStart(
  deps: IdentityDeps,
  p: SsoProvider,
  purpose: 'login' | 'reauth',
  extra: { principal_id?: string; signature_challenge_id?: string } & CliSignIn = {},
): Promise<string> {
  const config = await configFor(deps, p);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const codeVerifier = client.randomPKCECodeVerifier();
  await deps.api.raw('sso_request_begin', [
    deps.serviceSecret,
    p.id,
    { purpose, state: `${p.id}.${state}`, nonce, code_verifier: codeVerifier, ...extra },
  ]);
  const params: Record<string, string> = {
    redirect_uri: oidcRedirectUri(deps),
    scope: 'openid email profile',
    state: `${p.id}.${state}`,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  };
  if (purpose === 'reauth') {
    params.prompt = 'login';
    params.max_age = '0';
  }
  return client.buildAuthorizationUrl(config, params).toString();
}

export interface OidcResult {
  purpose: 'login' | 'reauth';
  provider: SsoProvider;
  request: {
    id: string;
    /** The CLI's loopback port when the sign-in was started by `axiom login --sso`. */
    cli_port: number | null;
    principal_id: string | null;
    signature_challenge_id: string | null;
    organization_id: string;
  };
  identity: {
    subject: string;
    email?: string;
    email_verified?: boolean;
    name?: string;
    auth_time?: number;
  };
}

/** Why openid-client refused an answer, as a stable reason. */
function oidcFailureReason(e: unknown): string {
  // openid-client wraps oauth4webapi's error; the specific check is named in the cause.
  const text = (x: unknown): string => (x instanceof Error ? x.message : String(x));
  const m = `${text(e)} ${text((e as { cause?: unknown }).cause ?? '')}`;
  if (/"nonce"/.test(m)) return 'nonce_mismatch';
  if (/"state"/.test(m)) return 'state_mismatch';
  if (/auth_time|End-User authentication/.test(m)) return 'stale_auth_time';
  if (/invalid_grant/.test(m) || (e as { error?: unknown }).error === 'invalid_grant')
    return 'code_rejected';
  return 'oidc_invalid';
}

/** Complete the code exchange; throws unauthenticated on any state, nonce, PKCE or token problem. */
export async function oidcCallback(deps: IdentityDeps, currentUrl: URL): Promise<OidcResult> {
  const state = currentUrl.searchParams.get('state') ?? '';
  const providerId = state.split('.')[0] ?? '';
  if (!/^[0-9a-f-]{36}$/.test(providerId))
    throw new AppError('unauthenticated', 'the sign-in response has no valid state', {
      reason: 'state_mismatch',
    });
  const request = await deps.api.raw<{
    id: string;
    purpose: 'login' | 'reauth';
    nonce: string;
    code_verifier: string;
    principal_id: string | null;
    signature_challenge_id: string | null;
    organization_id: string;
    cli_port: number | null;
    provider: SsoProvider;
  }>('sso_request_consume', [deps.serviceSecret, providerId, state]);
  const provider = request.provider;
  const config = await configFor(deps, provider);
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: request.code_verifier,
      expectedState: state,
      expectedNonce: request.nonce,
      ...(request.purpose === 'reauth' ? { maxAge: 0 } : {}),
    });
  } catch (e) {
    // Recorded in the audit trail (sso.login_failed, or esignature.failed for a re-authentication);
    // the database answers with the refusal, which is thrown here.
    return await refuseSsoResponse(deps, provider.id, request.id, oidcFailureReason(e));
  }
  const claims = tokens.claims();
  if (!claims) return await refuseSsoResponse(deps, provider.id, request.id, 'oidc_invalid');
  return {
    purpose: request.purpose,
    provider,
    request,
    identity: {
      subject: claims.sub,
      ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
      ...(typeof claims.email_verified === 'boolean'
        ? { email_verified: claims.email_verified }
        : {}),
      ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
      ...(typeof claims.auth_time === 'number' ? { auth_time: claims.auth_time } : {}),
    },
  };
}
