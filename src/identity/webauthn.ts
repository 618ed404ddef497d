// WebAuthn with @simplewebauthn/server: the server checks the attestation and assertion signatures,
// origin and RP ID; the database issues the challenges, keeps the credentials, and enforces that the
// sign counter moves forward (the library is given counter 0 so that the database is the one place
// that decides about counters, records a replay and raises the alert).
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Caller } from '../db/api.js';
import { AppError } from '../errors.js';
import type { IdentityDeps } from './context.js';

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

export function relyingParty(deps: Pick<IdentityDeps, 'publicUrl'>): {
  rpID: string;
  origin: string;
} {
  const u = new URL(deps.publicUrl);
  return { rpID: u.hostname, origin: u.origin };
}

export async function registrationOptions(
  deps: IdentityDeps,
  caller: Caller,
): Promise<{ challenge_id: string; options: PublicKeyCredentialCreationOptionsJSON }> {
  const begin = await deps.api.call<{
    challenge_id: string;
    challenge: string;
    user: { id: string; name: string; display_name: string };
    exclude: string[];
  }>('webauthn_registration_begin', caller);
  const { rpID } = relyingParty(deps);
  const options = await generateRegistrationOptions({
    rpName: 'Axiom',
    rpID,
    userName: begin.user.name,
    userDisplayName: begin.user.display_name,
    userID: Buffer.from(begin.user.id.replace(/-/g, ''), 'hex'),
    challenge: Buffer.from(begin.challenge, 'base64url'),
    attestationType: 'none',
    excludeCredentials: begin.exclude.map((id) => ({ id })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
  });
  return { challenge_id: begin.challenge_id, options };
}

export async function registrationVerify(
  deps: IdentityDeps,
  caller: Caller,
  input: { challenge_id: string; response: RegistrationResponseJSON; name: string },
): Promise<unknown> {
  const { rpID, origin } = relyingParty(deps);
  let signed = '';
  let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verification = await verifyRegistrationResponse({
      response: input.response,
      // The database checks that this is the challenge it issued for challenge_id.
      expectedChallenge: (c) => {
        signed = c;
        return true;
      },
      expectedOrigin: origin,
      expectedRPID: rpID,
      requireUserVerification: true,
    });
  } catch (e) {
    throw new AppError('unauthenticated', 'the authenticator’s answer did not verify', {
      reason: 'webauthn_invalid',
      cause: e,
    });
  }
  if (!verification.verified || !verification.registrationInfo) {
    throw new AppError('unauthenticated', 'the authenticator’s answer did not verify', {
      reason: 'webauthn_invalid',
    });
  }
  const info = verification.registrationInfo;
  return await deps.api.call(
    'webauthn_registration_finish',
    caller,
    deps.serviceSecret,
    input.challenge_id,
    {
      challenge: signed,
      credential_id: info.credential.id,
      public_key: Buffer.from(info.credential.publicKey).toString('base64'),
      sign_count: info.credential.counter,
      transports: info.credential.transports ?? [],
      aaguid: info.aaguid,
      name: input.name,
    },
  );
}

interface SigningOptions {
  challenge: string;
  credentials: Array<{
    credential_id: string;
    public_key: string;
    sign_count: number;
    transports: string[];
  }>;
}

/** Authentication options for an e-signature challenge. */
export async function signingOptions(
  deps: IdentityDeps,
  caller: Caller,
  challengeId: string,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const o = await deps.api.call<SigningOptions>('signature_webauthn_options', caller, challengeId);
  if (o.credentials.length === 0) {
    throw new AppError('rule_violation', 'enroll a security key or platform authenticator first', {
      reason: 'no_authenticator',
    });
  }
  return await generateAuthenticationOptions({
    rpID: relyingParty(deps).rpID,
    challenge: Buffer.from(o.challenge, 'base64url'),
    allowCredentials: o.credentials.map((c) => ({
      id: c.credential_id,
      transports: c.transports as AuthenticatorTransport[],
    })),
    userVerification: 'required',
  });
}

type AuthenticatorTransport =
  'ble' | 'cable' | 'hybrid' | 'internal' | 'nfc' | 'smart-card' | 'usb';

/** The challenge an assertion's clientDataJSON says it answers ('' when unreadable). */
function signedChallenge(response: AuthenticationResponseJSON): string {
  try {
    const data = JSON.parse(
      Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'),
    ) as {
      challenge?: unknown;
    };
    return typeof data.challenge === 'string' ? data.challenge : '';
  } catch {
    return '';
  }
}

/** Verify an assertion for an e-signature challenge and report it (with the counter) to the database. */
export async function signingVerify(
  deps: IdentityDeps,
  caller: Caller,
  challengeId: string,
  response: AuthenticationResponseJSON,
): Promise<unknown> {
  const o = await deps.api.call<SigningOptions>('signature_webauthn_options', caller, challengeId);
  // Refusals are recorded by the database (esignature.failed), which answers with them.
  const refuse = async (reason: string): Promise<never> => {
    await deps.api.call(
      'signature_factor_webauthn_refused',
      caller,
      deps.serviceSecret,
      challengeId,
      reason,
    );
    throw new AppError('unauthenticated', 'the authenticator’s answer did not verify', { reason });
  };
  const cred = o.credentials.find((c) => c.credential_id === response.id);
  if (!cred) return await refuse('credential_unknown');
  // An assertion made for another challenge (a replayed or misdirected answer) is named as such.
  if (signedChallenge(response) !== o.challenge) return await refuse('challenge_mismatch');
  const { rpID, origin } = relyingParty(deps);
  let newCounter: number;
  try {
    const v = await verifyAuthenticationResponse({
      response,
      expectedChallenge: o.challenge,
      expectedOrigin: origin,
      expectedRPID: rpID,
      credential: {
        id: cred.credential_id,
        publicKey: new Uint8Array(Buffer.from(cred.public_key, 'base64')),
        counter: 0, // the database enforces the counter (see the header)
        transports: cred.transports as AuthenticatorTransport[],
      },
      requireUserVerification: true,
    });
    if (!v.verified) throw new Error('not verified');
    newCounter = v.authenticationInfo.newCounter;
  } catch {
    return await refuse('webauthn_invalid');
  }
  return await deps.api.call(
    'signature_factor_webauthn',
    caller,
    deps.serviceSecret,
    challengeId,
    cred.credential_id,
    newCounter,
  );
}

export const _internal = { b64url };
