// SAML 2.0 sign-in with @node-saml/node-saml: signed assertions required, audience, recipient and time
// checked by the library against the provider's certificate; the database refuses a replayed
// assertion id and decides who signs in. Sign-ins start at Axiom (the RelayState is a single-use
// request recorded in the database); IdP-initiated responses are refused.
import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import {
  refuseSsoResponse,
  type CliSignIn,
  type IdentityDeps,
  type SsoProvider,
} from './context.js';

export function samlAcsUrl(deps: Pick<IdentityDeps, 'publicUrl'>, providerId: string): string {
  return new URL(`/api/v1/auth/saml/${providerId}/acs`, deps.publicUrl).toString();
}

function samlFor(deps: IdentityDeps, p: SsoProvider): SAML {
  if (!p.idp_certificate || !p.idp_sso_url || !p.sp_entity_id)
    throw new AppError('invalid_input', 'the provider is not a SAML provider');
  return new SAML({
    callbackUrl: samlAcsUrl(deps, p.id),
    entryPoint: p.idp_sso_url,
    issuer: p.sp_entity_id,
    audience: p.sp_entity_id,
    idpCert: p.idp_certificate,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: 60_000,
    signatureAlgorithm: 'sha256',
    validateInResponseTo: ValidateInResponseTo.never,
  });
}

export async function samlStart(
  deps: IdentityDeps,
  p: SsoProvider,
  cli: CliSignIn = {},
): Promise<string> {
  const relayState = `${p.id}.${randomBytes(24).toString('base64url')}`;
  await deps.api.raw('sso_request_begin', [
    deps.serviceSecret,
    p.id,
    { purpose: 'login', state: relayState, nonce: randomBytes(24).toString('base64url'), ...cli },
  ]);
  return await samlFor(deps, p).getAuthorizeUrlAsync(relayState, undefined, {});
}

export function samlMetadata(deps: IdentityDeps, p: SsoProvider): string {
  return samlFor(deps, p).generateServiceProviderMetadata(null, null);
}

export interface SamlIdentity {
  subject: string;
  email?: string;
  email_verified: boolean;
  name?: string;
  assertion_id: string;
  not_on_or_after: string;
}

/** Why node-saml refused a response, as a stable reason. */
function samlFailureReason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  if (/signature/i.test(m)) return 'saml_unsigned_or_bad_signature';
  if (/expired|not yet valid|too old/i.test(m)) return 'saml_expired';
  if (/audience/i.test(m)) return 'saml_wrong_audience';
  if (/issuer/i.test(m)) return 'saml_wrong_issuer';
  return 'saml_invalid';
}

type Parsed = { $?: Record<string, string> } & Record<string, unknown>;

/** The Recipient of every bearer SubjectConfirmationData of the (signed, parsed) assertion. */
function recipients(assertion: unknown): string[] {
  const a = (assertion as { Assertion?: Parsed } | undefined)?.Assertion;
  const subject = (a?.Subject as Parsed[] | undefined)?.[0];
  const out: string[] = [];
  for (const sc of (subject?.SubjectConfirmation as Parsed[] | undefined) ?? []) {
    for (const d of (sc.SubjectConfirmationData as Parsed[] | undefined) ?? []) {
      out.push(d.$?.Recipient ?? '');
    }
  }
  return out;
}

/**
 * Verify a posted SAMLResponse for the provider of the (single-use) RelayState. node-saml checks the
 * signature against the provider's certificate, the audience and the validity window; the recipient
 * (the assertion must name this ACS URL) is checked here. Every refusal after the RelayState was
 * consumed is recorded by the database (sso.login_failed), which also answers with it.
 */
export async function samlAcs(
  deps: IdentityDeps,
  providerId: string,
  body: { SAMLResponse?: string; RelayState?: string },
): Promise<{
  provider: SsoProvider;
  request: { id: string; cli_port: number | null };
  identity: SamlIdentity;
}> {
  if (!body.SAMLResponse || !body.RelayState) {
    throw new AppError(
      'unauthenticated',
      'a SAML response must answer a sign-in started at Axiom',
      { reason: 'state_mismatch' },
    );
  }
  const request = await deps.api.raw<{
    id: string;
    cli_port: number | null;
    provider: SsoProvider;
  }>('sso_request_consume', [deps.serviceSecret, providerId, body.RelayState]);
  let profile: Profile | null;
  try {
    ({ profile } = await samlFor(deps, request.provider).validatePostResponseAsync({
      SAMLResponse: body.SAMLResponse,
    }));
  } catch (e) {
    return await refuseSsoResponse(deps, providerId, request.id, samlFailureReason(e));
  }
  if (!profile) return await refuseSsoResponse(deps, providerId, request.id, 'saml_invalid');
  const acs = samlAcsUrl(deps, providerId);
  const to = recipients(profile.getAssertion?.());
  if (to.length === 0 || to.some((r) => r !== acs))
    return await refuseSsoResponse(deps, providerId, request.id, 'saml_wrong_recipient');
  const xml = profile.getAssertionXml?.() ?? '';
  const assertionId = /<(?:\w+:)?Assertion\b[^>]*\bID="([^"]+)"/.exec(xml)?.[1];
  const notOnOrAfter = /<(?:\w+:)?Conditions\b[^>]*\bNotOnOrAfter="([^"]+)"/.exec(xml)?.[1];
  if (!assertionId || !notOnOrAfter)
    return await refuseSsoResponse(deps, providerId, request.id, 'saml_invalid');
  const email = (profile.email ?? profile.mail ?? profile['urn:oid:0.9.2342.19200300.100.1.3']) as
    string | undefined;
  return {
    provider: request.provider,
    request: { id: request.id, cli_port: request.cli_port },
    identity: {
      subject: profile.nameID,
      ...(email ? { email } : /@/.test(profile.nameID) ? { email: profile.nameID } : {}),
      // The identity provider vouches for the address it signs.
      email_verified: true,
      ...(typeof profile.displayName === 'string' ? { name: profile.displayName } : {}),
      assertion_id: assertionId,
      not_on_or_after: notOnOrAfter,
    },
  };
}
