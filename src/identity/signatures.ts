// E-signatures from the application's side: ask for a challenge bound to the record, answer it with the
// factors the signing policy requires. The database decides what is required and verifies the password
// itself; WebAuthn and OpenID re-authentication are verified by the server (src/identity/webauthn.ts,
// src/identity/oidc.ts) before it reports them with the service secret.
import type { Api, Caller } from '../db/api.js';

export type Meaning = 'authored' | 'reviewed' | 'approved' | 'rejected' | 'responsibility';
export type SignatureTarget =
  { type: 'change_request'; id: string } | { type: 'record'; id: string; kind: string };

export interface SignatureChallenge {
  id: string;
  record_id: string;
  record_hash: string;
  meaning: Meaning;
  risk_tier: 'low' | 'medium' | 'high';
  required_factors: string[][];
  identification_required: boolean;
  satisfied_factors: string[];
  expires_at: string;
  printed_name?: string;
}

export async function requestSignature(
  api: Api,
  caller: Caller,
  target: SignatureTarget,
  meaning: Meaning,
): Promise<SignatureChallenge> {
  return await api.call<SignatureChallenge>('signature_challenge_create', caller, target, meaning);
}

/** Does the password alone satisfy this challenge? */
export function passwordSuffices(ch: Pick<SignatureChallenge, 'required_factors'>): boolean {
  return ch.required_factors.some((set) => set.length === 1 && set[0] === 'password');
}

/** Answer with the password (and the e-mail address when §11.200 asks for every component). */
export async function answerWithPassword(
  api: Api,
  caller: Caller,
  ch: SignatureChallenge,
  credentials: { email: string; password: string },
): Promise<SignatureChallenge> {
  return await api.call<SignatureChallenge>(
    'signature_factor_password',
    caller,
    ch.id,
    ch.identification_required ? credentials.email : null,
    credentials.password,
  );
}
