// Sign-in: password (checked inside the database) or single sign-on at the organization's provider.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, setCsrfToken } from '../api';
import { knownOrganizations, rememberOrganization } from '../session';
import { ErrorBox, Field, Notice } from '../ui';

export function LoginPage(props: { onSignedIn: () => void }): JSX.Element {
  const params = new URLSearchParams(window.location.search);
  const [organization, setOrganization] = useState(
    params.get('organization') ?? knownOrganizations()[0] ?? '',
  );
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [newPassword, setNewPassword] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      const r = await api.post<{ csrf_token: string }>('/api/v1/auth/login', {
        organization,
        email,
        password,
        ...(newPassword ? { new_password: newPassword } : {}),
      });
      setCsrfToken(r.csrf_token);
      rememberOrganization(organization);
      props.onSignedIn();
    } catch (e) {
      if (e instanceof ApiError && e.reason === 'password_expired' && newPassword === undefined) {
        setNewPassword('');
        setError('Your password has expired. Choose a new one to sign in.');
      } else {
        setError(e instanceof ApiError ? e.body.message : String(e));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login">
      <div class="login-card">
        <h1>Axiom</h1>
        <p class="muted">Governed cloud operations. Sign in to your organization.</p>
        {/* The identity provider's re-authentication for a signature lands here (the dashboard's
            signature page); a browser without a session is usually one opened by `axiom … --sso`. */}
        {window.location.hash.startsWith('#/signatures/') && (
          <div data-testid="reauth-notice">
            <Notice>
              Your identity is confirmed. If you are signing from the command line, return to your
              terminal: it completes the signature. To sign here instead, sign in.
            </Notice>
          </div>
        )}
        <form
          class="form"
          data-testid="login-form"
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <Field label="Organization" hint="The short name of your organization, e.g. acme">
            <input
              name="organization"
              autoComplete="organization"
              required
              value={organization}
              onInput={(e) => setOrganization((e.target as HTMLInputElement).value.trim())}
            />
          </Field>
          <Field label="E-mail">
            <input
              name="email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onInput={(e) => setEmail((e.target as HTMLInputElement).value.trim())}
            />
          </Field>
          <Field label="Password">
            <input
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            />
          </Field>
          {newPassword !== undefined && (
            <Field label="New password" hint="At least 12 characters; not a common or reused one.">
              <input
                name="new_password"
                type="password"
                autoComplete="new-password"
                required
                value={newPassword}
                onInput={(e) => setNewPassword((e.target as HTMLInputElement).value)}
              />
            </Field>
          )}
          <ErrorBox error={error} />
          <div class="form-actions">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
            <button
              type="button"
              class="plain"
              disabled={!organization}
              onClick={() => {
                rememberOrganization(organization);
                window.location.href = `/api/v1/auth/sso/${encodeURIComponent(organization)}/start`;
              }}
            >
              Sign in with single sign-on
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
