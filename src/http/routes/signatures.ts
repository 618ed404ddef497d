// WebAuthn enrollment and 21 CFR Part 11 e-signatures. A signature is made in three steps: ask for a
// challenge bound to the exact record (record_id, record_hash), answer it with the factors the signing
// policy requires (password; WebAuthn; or a fresh sign-in at the identity provider), then sign (or
// approve/reject the change request with the challenge). The database decides what is required,
// verifies the password, keeps the counters and refuses anything out of order.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { oidcProvider, oidcStart } from '../../identity/oidc.js';
import {
  registrationOptions,
  registrationVerify,
  signingOptions,
  signingVerify,
} from '../../identity/webauthn.js';
import type { HttpDeps } from '../server.js';
import { define, idParams, reasonBody, shortText } from './define.js';

// The authenticator's JSON as @simplewebauthn/browser produces it; the library checks the details.
const b64url = z
  .string()
  .max(16_384)
  .regex(/^[A-Za-z0-9_-]*$/, 'base64url');
const registrationResponse = z.object({
  id: b64url,
  rawId: b64url,
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: b64url,
    attestationObject: b64url,
    transports: z.array(z.string().max(20)).max(10).optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});
const authenticationResponse = z.object({
  id: b64url,
  rawId: b64url,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});

const meaning = z.enum(['authored', 'reviewed', 'approved', 'rejected', 'responsibility']);
const target = z.discriminatedUnion('type', [
  z.object({ type: z.literal('change_request'), id: z.uuid() }),
  z.object({ type: z.literal('record'), id: z.uuid(), kind: shortText(60) }),
]);

export function registerSignatureRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { api, identity } = deps;
  const wtags = ['WebAuthn'];
  const tags = ['e-signatures'];

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/webauthn/registration/options',
    summary: 'Begin enrolling a security key or platform authenticator: the creation options.',
    tags: wtags,
    handler: async ({ caller }) => await registrationOptions(identity, caller),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/webauthn/registration/verify',
    summary:
      'Finish enrolling: the authenticator’s attestation is verified and the credential stored.',
    tags: wtags,
    status: 201,
    body: z.object({
      challenge_id: z.uuid(),
      name: shortText(100),
      response: registrationResponse,
    }),
    handler: async ({ body, caller }) =>
      await registrationVerify(identity, caller, {
        challenge_id: body.challenge_id,
        name: body.name,
        response: body.response as never,
      }),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/webauthn/credentials',
    summary: 'Enrolled authenticators: yours, or (administrators) another person’s.',
    tags: wtags,
    query: z.object({ principal_id: z.uuid().optional() }),
    handler: async ({ query, caller }) => ({
      credentials: await api.call('webauthn_credential_list', caller, query.principal_id ?? null),
    }),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/webauthn/credentials/:id/revoke',
    summary: 'Revoke an enrolled authenticator.',
    tags: wtags,
    params: idParams,
    body: reasonBody,
    handler: async ({ params, body, caller }) =>
      await api.call('webauthn_credential_revoke', caller, params.id, body.reason),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/signatures/challenges',
    summary:
      'Ask to sign: a single-use challenge bound to the record’s id and hash, valid for a few minutes, listing the factors the signing policy requires.',
    tags,
    status: 201,
    body: z.object({ target, meaning }),
    handler: async ({ body, caller }) =>
      await api.call('signature_challenge_create', caller, body.target, body.meaning),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/signatures/challenges/:id',
    summary: 'A challenge as it stands: which factors are satisfied and which are still needed.',
    tags,
    params: idParams,
    handler: async ({ params, caller }) =>
      await api.call('signature_challenge_get', caller, params.id),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/signatures/challenges/:id/password',
    summary:
      'Answer with your password; also your e-mail address when the challenge asks for every identification component (§11.200).',
    tags,
    params: idParams,
    body: z.object({
      identification: z.string().min(3).max(320).optional(),
      password: z.string().min(1).max(1024),
    }),
    handler: async ({ params, body, caller }) =>
      await api.call(
        'signature_factor_password',
        caller,
        params.id,
        body.identification ?? null,
        body.password,
      ),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/signatures/challenges/:id/webauthn/options',
    summary:
      'The WebAuthn request options for this challenge (its challenge bytes, your authenticators).',
    tags,
    params: idParams,
    handler: async ({ params, caller }) => await signingOptions(identity, caller, params.id),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/signatures/challenges/:id/webauthn',
    summary: 'Answer with a WebAuthn assertion (signature and sign counter checked).',
    tags,
    params: idParams,
    body: z.object({ response: authenticationResponse }),
    handler: async ({ params, body, caller }) =>
      await signingVerify(identity, caller, params.id, body.response as never),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/signatures/challenges/:id/oidc',
    summary:
      'Answer by signing in again at your identity provider (prompt=login, max_age=0): returns the URL to send the browser to.',
    tags,
    params: idParams,
    body: z.object({ provider_id: z.uuid().optional() }).default({}),
    handler: async ({ params, body, caller }) => {
      // Only the challenge's signer sees it; this also refuses an expired or used challenge early.
      const ch = await api.call<{ id: string; consumed_at: string | null; expires_at: string }>(
        'signature_challenge_get',
        caller,
        params.id,
      );
      if (ch.consumed_at)
        throw new AppError('conflict', 'the challenge was already used by a signature', {
          reason: 'challenge_used',
        });
      if (Date.parse(ch.expires_at) <= Date.now())
        throw new AppError('gone', 'the challenge expired; ask for a new one', {
          reason: 'challenge_expired',
        });
      const who = await api.call<{ principal: { id: string }; organization: { slug: string } }>(
        'session_whoami',
        caller,
      );
      const p = await oidcProvider(identity, who.organization.slug, body.provider_id);
      if (p.kind !== 'oidc') {
        throw new AppError('rule_violation', 're-authentication needs an OpenID provider', {
          reason: 'provider_not_oidc',
        });
      }
      const url = await oidcStart(identity, p, 'reauth', {
        principal_id: who.principal.id,
        signature_challenge_id: ch.id,
      });
      return { redirect_url: url };
    },
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/signatures',
    summary:
      'Sign with an answered challenge (meanings other than approving or rejecting a change request, which sign through the change request).',
    tags,
    status: 201,
    body: z.object({ challenge_id: z.uuid() }),
    handler: async ({ body, caller }) =>
      await api.call('signature_create', caller, body.challenge_id),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/signatures',
    summary: 'Signatures you may see, optionally for one record.',
    tags,
    query: z.object({ record_id: z.uuid().optional() }),
    handler: async ({ query, caller }) => ({
      signatures: await api.call('signature_list', caller, query.record_id ?? null),
    }),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/signatures/:id/verify',
    summary:
      'Verify a signature: its hash, and that the record it covers still hashes to what was signed.',
    tags,
    params: idParams,
    handler: async ({ params, caller }) => await api.call('signature_verify', caller, params.id),
  });
}
