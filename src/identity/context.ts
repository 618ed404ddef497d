// What the identity services need from the rest of the system, in one place.
import type { Api } from '../db/api.js';
import { AppError } from '../errors.js';
import type { KekProvider } from '../security/kek.js';

export interface IdentityDeps {
  api: Api;
  /** The installation's service secret (the worker secret): proves to the database that the server verified a provider's answer. */
  serviceSecret: string;
  /** The public base URL of this server, e.g. https://axiom.example.com (redirects, SAML ACS, WebAuthn origin). */
  publicUrl: string;
  kek: KekProvider;
}

export interface SsoProvider {
  id: string;
  organization_id: string;
  kind: 'oidc' | 'saml';
  name: string;
  issuer: string | null;
  client_id: string | null;
  client_secret_sealed: string | null;
  idp_entity_id: string | null;
  idp_sso_url: string | null;
  idp_certificate: string | null;
  sp_entity_id: string | null;
}

/**
 * Client secrets of OpenID providers are wrapped with the key-encryption key. The context binds the
 * ciphertext to its organization, issuer and client id, so it cannot be moved to another provider row.
 */
export function clientSecretContext(
  p: Pick<SsoProvider, 'organization_id' | 'issuer' | 'client_id'>,
): string {
  return `sso-client-secret:${p.organization_id}:${p.issuer ?? ''}:${p.client_id ?? ''}`;
}

export async function sealClientSecret(
  kek: KekProvider,
  secret: string,
  context: string,
): Promise<string> {
  const { wrapped, kekId } = await kek.wrap(Buffer.from(secret, 'utf8'), context);
  return Buffer.from(`${kekId}\n${wrapped.toString('base64')}`, 'utf8').toString('base64');
}

export async function openClientSecret(
  kek: KekProvider,
  sealedBase64: string,
  context: string,
): Promise<string> {
  const [kekId, wrapped] = Buffer.from(sealedBase64, 'base64').toString('utf8').split('\n');
  if (!kekId || !wrapped) throw new Error('malformed sealed client secret');
  return (await kek.unwrap(Buffer.from(wrapped, 'base64'), kekId, context)).toString('utf8');
}

/**
 * The server refused an identity provider's answer to an in-flight request it had consumed (a bad
 * nonce, signature, audience, recipient, time, ...): the database records it (sso.login_failed, or
 * esignature.failed for a re-authentication) and answers with the refusal, thrown here.
 */
export async function refuseSsoResponse(
  deps: Pick<IdentityDeps, 'api' | 'serviceSecret'>,
  providerId: string,
  requestId: string,
  reason: string,
): Promise<never> {
  await deps.api.raw('sso_response_refused', [deps.serviceSecret, providerId, requestId, reason]);
  throw new AppError('unauthenticated', 'single sign-on was refused', { reason });
}

/** A sign-in for the CLI: its loopback port and the base64url SHA-256 of its verifier. */
export interface CliSignIn {
  cli_port?: number;
  cli_challenge?: string;
}
