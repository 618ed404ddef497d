// Your account: sessions (sign out everywhere), personal API tokens (shown once), security keys for
// signing (WebAuthn), and your password.
import { startRegistration } from '@simplewebauthn/browser';
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import type { Route } from '../router';
import { navigate } from '../router';
import { useSession } from '../session';
import {
  Async,
  Badge,
  Button,
  CopyBlock,
  Field,
  Form,
  Mono,
  Notice,
  Page,
  Table,
  Tabs,
  Time,
  short,
  useAsync,
} from '../ui';

interface SessionRow {
  id: string;
  kind: string;
  name?: string | null;
  created_at: string;
  last_seen_at: string | null;
  expires_at: string;
  revoked_at: string | null;
  auth_method?: string;
  current?: boolean;
  [k: string]: unknown;
}

function Sessions(): JSX.Element {
  const { session } = useSession();
  const state = useAsync(() => api.get<{ sessions: SessionRow[] }>('/api/v1/sessions'), []);
  return (
    <>
      <Async state={state} what="sessions">
        {(d) => (
          <Table
            testId="sessions"
            rows={d.sessions}
            rowKey={(s) => s.id}
            columns={[
              {
                label: 'Kind',
                render: (s) => (s.kind === 'api_token' ? `API token ${s.name ?? ''}` : s.kind),
              },
              { label: 'Since', render: (s) => <Time at={s.created_at} /> },
              { label: 'Last used', render: (s) => <Time at={s.last_seen_at} /> },
              { label: 'Expires', render: (s) => <Time at={s.expires_at} /> },
              {
                label: 'Status',
                render: (s) => <Badge value={s.revoked_at ? 'revoked' : 'active'} />,
              },
              {
                label: '',
                render: (s) =>
                  s.id === session.session.id ? (
                    <span class="muted">this session</span>
                  ) : !s.revoked_at ? (
                    <Button
                      kind="danger"
                      onClick={async () => {
                        await api.post(`/api/v1/sessions/${s.id}/revoke`, {
                          reason: 'revoked by its owner',
                        });
                        await state.reload();
                      }}
                    >
                      Revoke
                    </Button>
                  ) : null,
              },
            ]}
          />
        )}
      </Async>
      <div class="actions">
        <Button
          kind="danger"
          onClick={async () => {
            if (
              !window.confirm(
                'Sign out of every web and CLI session? (API tokens stay; revoke them one by one.)',
              )
            )
              return;
            await api.post('/api/v1/auth/logout-everywhere');
            window.location.reload();
          }}
        >
          Sign out everywhere
        </Button>
      </div>
    </>
  );
}

function Tokens(): JSX.Element {
  const [name, setName] = useState('');
  const [days, setDays] = useState('30');
  const [created, setCreated] = useState<string>();
  return (
    <div class="panel">
      <p>
        Personal API tokens let the CLI and automation act as you, never beyond your grants. A token
        is shown once and stored only as a hash.
      </p>
      {created && (
        <>
          <Notice kind="warn">Copy this token now: it will not be shown again.</Notice>
          <CopyBlock text={`AXIOM_TOKEN=${created}`} />
        </>
      )}
      <Form
        submit="Create token"
        testId="token-form"
        onSubmit={async () => {
          const r = await api.post<{ token: string }>('/api/v1/tokens', {
            name,
            expires_in_days: Number(days),
          });
          setCreated(r.token);
          setName('');
        }}
      >
        <Field label="Name">
          <input
            required
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </Field>
        <Field label="Expires in (days)">
          <input
            type="number"
            min={1}
            max={365}
            required
            value={days}
            onInput={(e) => setDays((e.target as HTMLInputElement).value)}
          />
        </Field>
      </Form>
    </div>
  );
}

function SecurityKeys(): JSX.Element {
  const state = useAsync(
    () =>
      api.get<{
        credentials: Array<{
          id: string;
          name: string;
          created_at: string;
          last_used_at: string | null;
          sign_count: number;
          revoked_at: string | null;
        }>;
      }>('/api/v1/webauthn/credentials'),
    [],
  );
  const [name, setName] = useState('Security key');
  return (
    <>
      <Async state={state} what="security keys">
        {(d) => (
          <Table
            testId="security-keys"
            rows={d.credentials}
            rowKey={(c) => c.id}
            empty="No security keys enrolled."
            columns={[
              { label: 'Name', render: (c) => c.name },
              { label: 'Enrolled', render: (c) => <Time at={c.created_at} /> },
              { label: 'Last used', render: (c) => <Time at={c.last_used_at} /> },
              {
                label: 'Status',
                render: (c) => <Badge value={c.revoked_at ? 'revoked' : 'active'} />,
              },
              {
                label: '',
                render: (c) =>
                  !c.revoked_at ? (
                    <Button
                      kind="danger"
                      onClick={async () => {
                        await api.post(`/api/v1/webauthn/credentials/${c.id}/revoke`, {
                          reason: 'revoked by its owner',
                        });
                        await state.reload();
                      }}
                    >
                      Revoke
                    </Button>
                  ) : null,
              },
            ]}
          />
        )}
      </Async>
      <div class="panel">
        <Form
          submit="Enroll a security key"
          testId="enroll-key"
          onSubmit={async () => {
            const o = await api.post<{
              challenge_id: string;
              options: Parameters<typeof startRegistration>[0]['optionsJSON'];
            }>('/api/v1/webauthn/registration/options');
            const response = await startRegistration({ optionsJSON: o.options });
            await api.post('/api/v1/webauthn/registration/verify', {
              challenge_id: o.challenge_id,
              name,
              response,
            });
            await state.reload();
          }}
        >
          <Field label="Name" hint="So you can tell your keys apart.">
            <input
              required
              value={name}
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
            />
          </Field>
        </Form>
      </div>
    </>
  );
}

function Password(): JSX.Element {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [done, setDone] = useState(false);
  return (
    <div class="panel">
      {done && <Notice kind="ok">Password changed.</Notice>}
      <Form
        submit="Change password"
        onSubmit={async () => {
          await api.post('/api/v1/auth/password', {
            current_password: current,
            new_password: next,
          });
          setCurrent('');
          setNext('');
          setDone(true);
        }}
      >
        <Field label="Current password">
          <input
            type="password"
            autoComplete="current-password"
            required
            value={current}
            onInput={(e) => setCurrent((e.target as HTMLInputElement).value)}
          />
        </Field>
        <Field
          label="New password"
          hint="At least 12 characters; not common, not one of your last passwords."
        >
          <input
            type="password"
            autoComplete="new-password"
            required
            value={next}
            onInput={(e) => setNext((e.target as HTMLInputElement).value)}
          />
        </Field>
      </Form>
    </div>
  );
}

export function AccountPage(props: { route: Route }): JSX.Element {
  const { session } = useSession();
  const tab = props.route.query.get('tab') ?? 'sessions';
  return (
    <Page
      title={session.principal.display_name}
      subtitle={
        <>
          {session.principal.email} · signed in with {session.session.auth_method} · principal{' '}
          <Mono>{short(session.principal.id)}</Mono>
        </>
      }
    >
      <Tabs
        tabs={[
          { id: 'sessions', label: 'Sessions' },
          { id: 'tokens', label: 'API tokens' },
          { id: 'keys', label: 'Security keys' },
          { id: 'password', label: 'Password' },
          { id: 'grants', label: 'Your grants' },
        ]}
        active={tab}
        onChange={(id) => navigate('account', { tab: id })}
      />
      {tab === 'sessions' && <Sessions />}
      {tab === 'tokens' && <Tokens />}
      {tab === 'keys' && <SecurityKeys />}
      {tab === 'password' && <Password />}
      {tab === 'grants' && (
        <Table
          rows={session.grants}
          rowKey={(g) => g.id}
          columns={[
            { label: 'Domain', render: (g) => g.domain },
            { label: 'Level', render: (g) => g.level },
            {
              label: 'Facility',
              render: (g) =>
                g.facility_id ? <Mono>{short(g.facility_id)}</Mono> : 'organization-wide',
            },
            { label: 'Until', render: (g) => <Time at={g.valid_until} /> },
            { label: 'Delegation', render: (g) => g.delegation_type ?? '—' },
          ]}
        />
      )}
    </Page>
  );
}
