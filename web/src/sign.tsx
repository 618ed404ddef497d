// The e-signature flow (21 CFR Part 11): ask for a challenge bound to the exact record (id + hash),
// answer it with the factors the signing policy requires — password, a security key (WebAuthn), or a
// fresh sign-in at the identity provider — then sign. The database decides what is required and
// refuses anything out of order; this dialog only shows it honestly.
import { startAuthentication } from '@simplewebauthn/browser';
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from './api';
import { useSession } from './session';
import { Dialog, ErrorBox, Field, Loading, Mono, Notice, Time } from './ui';

export type SignTarget =
  | { type: 'change_request'; id: string }
  | { type: 'record'; id: string; kind: string }
  | { type: string; id: string; [k: string]: unknown };

export type Meaning = 'authored' | 'reviewed' | 'approved' | 'rejected' | 'responsibility';

export interface Challenge {
  id: string;
  record_id: string;
  record_hash: string;
  meaning: Meaning;
  risk_tier: string;
  required_factors: string[][];
  identification_required: boolean;
  satisfied_factors: string[];
  expires_at: string;
  printed_name?: string;
  consumed_at?: string | null;
}

export function isSatisfied(ch: Challenge): boolean {
  return ch.required_factors.some((set) => set.every((f) => ch.satisfied_factors.includes(f)));
}

const factorNames: Record<string, string> = {
  password: 'your password',
  webauthn: 'a security key or platform authenticator',
  oidc_reauth: 'a fresh sign-in at your identity provider',
};

/** After an identity-provider round trip the page reloads: what to do with the answered challenge. */
export interface PendingSignature {
  challengeId: string;
  description: string;
  action: { method: 'POST'; url: string; body: Record<string, unknown> };
  returnTo: string;
}

export function savePending(p: PendingSignature): void {
  window.sessionStorage.setItem(`axiom.sign.${p.challengeId}`, JSON.stringify(p));
}

export function loadPending(challengeId: string): PendingSignature | undefined {
  const raw = window.sessionStorage.getItem(`axiom.sign.${challengeId}`);
  return raw ? (JSON.parse(raw) as PendingSignature) : undefined;
}

export function SignDialog(props: {
  target: SignTarget;
  meaning: Meaning;
  description: string;
  /** Completes the signed action with the answered challenge (e.g. approve the change request). */
  complete: (ch: Challenge) => { method: 'POST'; url: string; body: Record<string, unknown> };
  returnTo: string;
  onDone: (result: unknown) => void;
  onClose: () => void;
}): JSX.Element {
  const { session } = useSession();
  const [ch, setCh] = useState<Challenge>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [password, setPassword] = useState('');
  const [identification, setIdentification] = useState(session.principal.email);

  useEffect(() => {
    api
      .post<Challenge>('/api/v1/signatures/challenges', {
        target: props.target,
        meaning: props.meaning,
      })
      .then(setCh, (e: unknown) => setError(describeError(e)));
  }, []);

  const step = async (fn: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const finish = (c: Challenge): Promise<void> =>
    step(async () => {
      const a = props.complete(c);
      const result = await api.post(a.url, a.body);
      props.onDone(result);
    });

  const needed = ch
    ? [...new Set(ch.required_factors.flat())].filter((f) => !ch.satisfied_factors.includes(f))
    : [];

  return (
    <Dialog title={`Sign: ${props.meaning}`} onClose={props.onClose}>
      <div class="sign" data-testid="sign-dialog">
        <p>{props.description}</p>
        {!ch && !error && <Loading what="the signature challenge" />}
        {ch && (
          <>
            <Notice>
              You are signing as{' '}
              <strong>{ch.printed_name ?? session.principal.display_name}</strong> with the meaning{' '}
              <strong>{ch.meaning}</strong>. The signature covers record{' '}
              <Mono title={ch.record_id}>{ch.record_id.slice(0, 8)}</Mono> with hash{' '}
              <Mono title={ch.record_hash}>{ch.record_hash.slice(0, 16)}…</Mono>; if the record
              changes, it no longer covers it. Risk tier: {ch.risk_tier}. This challenge expires at{' '}
              <Time at={ch.expires_at} />.
            </Notice>
            <p>
              Required:{' '}
              {ch.required_factors
                .map((set) => set.map((f) => factorNames[f] ?? f).join(' and '))
                .join(', or ')}
              .
            </p>
            {isSatisfied(ch) ? (
              <div class="form-actions">
                <button
                  type="button"
                  class="primary"
                  data-testid="sign-complete"
                  disabled={busy}
                  onClick={() => void finish(ch)}
                >
                  {busy ? 'Signing…' : `Sign (${ch.meaning})`}
                </button>
              </div>
            ) : (
              <>
                {needed.includes('password') && (
                  <form
                    class="form"
                    data-testid="sign-password"
                    onSubmit={(e) => {
                      e.preventDefault();
                      void step(async () => {
                        const next = await api.post<Challenge>(
                          `/api/v1/signatures/challenges/${ch.id}/password`,
                          {
                            password,
                            ...(ch.identification_required ? { identification } : {}),
                          },
                        );
                        setPassword('');
                        setCh(next);
                      });
                    }}
                  >
                    {ch.identification_required && (
                      <Field
                        label="E-mail"
                        hint="The first signature of a session asks for every identification component (§11.200)."
                      >
                        <input
                          name="identification"
                          autoComplete="username"
                          value={identification}
                          onInput={(e) => setIdentification((e.target as HTMLInputElement).value)}
                        />
                      </Field>
                    )}
                    <Field label="Password">
                      <input
                        name="sign-password"
                        type="password"
                        autoComplete="current-password"
                        required
                        value={password}
                        onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
                      />
                    </Field>
                    <div class="form-actions">
                      <button type="submit" class="primary" disabled={busy}>
                        Confirm with password
                      </button>
                    </div>
                  </form>
                )}
                {needed.includes('webauthn') && (
                  <div class="form-actions">
                    <button
                      type="button"
                      class="primary"
                      data-testid="sign-webauthn"
                      disabled={busy}
                      onClick={() =>
                        void step(async () => {
                          const optionsJSON = await api.post<
                            Parameters<typeof startAuthentication>[0]['optionsJSON']
                          >(`/api/v1/signatures/challenges/${ch.id}/webauthn/options`);
                          const response = await startAuthentication({ optionsJSON });
                          setCh(
                            await api.post<Challenge>(
                              `/api/v1/signatures/challenges/${ch.id}/webauthn`,
                              {
                                response,
                              },
                            ),
                          );
                        })
                      }
                    >
                      Use a security key
                    </button>
                  </div>
                )}
                {needed.includes('oidc_reauth') && (
                  <div class="form-actions">
                    <button
                      type="button"
                      class="plain"
                      disabled={busy}
                      onClick={() =>
                        void step(async () => {
                          const r = await api.post<{ redirect_url: string }>(
                            `/api/v1/signatures/challenges/${ch.id}/oidc`,
                          );
                          const action = props.complete(ch);
                          savePending({
                            challengeId: ch.id,
                            description: props.description,
                            action,
                            returnTo: props.returnTo,
                          });
                          window.location.href = r.redirect_url;
                        })
                      }
                    >
                      Sign in again at your identity provider
                    </button>
                  </div>
                )}
              </>
            )}
          </>
        )}
        <ErrorBox error={error} />
      </div>
    </Dialog>
  );
}
