// Administration: people, grants, delegations (with the rules explained when refused), facilities,
// single sign-on and alerts. The database checks every grant; this page only asks.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import type { Route } from '../router';
import { SingleSignOn } from './sso';
import { href, navigate } from '../router';
import { can, useSession } from '../session';
import type { Facility, GrantRow, Principal, RecordVersion } from '../types';
import {
  Async,
  Badge,
  Button,
  ErrorBox,
  Field,
  Form,
  Mono,
  NeedsGrant,
  Notice,
  Page,
  Table,
  Tabs,
  Time,
  short,
  useAsync,
} from '../ui';

const DOMAINS = ['cost', 'security', 'drift', 'configuration', 'audit'];
const LEVELS = ['read', 'operate', 'author', 'review'];

/** What each delegation refusal means, in words a person can act on. */
const delegationRules: Record<string, string> = {
  missing_expiry: 'A delegation needs an expiry.',
  invalid_expiry: 'The expiry must be in the future.',
  expiry_beyond_policy: 'The expiry is further away than the organization allows for delegations.',
  outlives_source: 'A delegation cannot outlive the grant it comes from.',
  missing_reason: 'Say why you delegate.',
  self_delegation: 'You cannot delegate to yourself.',
  re_delegation: 'A delegated grant cannot be delegated again.',
  source_not_in_force: 'The source grant has expired or was revoked.',
  source_org_wide: 'Only a grant at one facility can be delegated.',
  wrong_domain: 'A delegation stays in the domain of its source grant.',
  wrong_facility:
    'Horizontal delegation goes to a different facility; vertical delegation stays at the same facility.',
  wrong_level: 'Vertical delegation gives exactly one level lower than the source grant.',
  horizontal_requires_peer:
    'Horizontal delegation needs a delegate who already holds the same or a higher level in this domain at another facility.',
  agent_delegation: 'The agent can neither delegate nor receive a delegation.',
  not_source_holder: 'You can only delegate your own grants.',
};

function People(): JSX.Element {
  const state = useAsync(() => api.get<{ principals: Principal[] }>('/api/v1/principals'), []);
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  return (
    <>
      <Async state={state} what="people">
        {(d) => (
          <Table
            testId="people"
            rows={d.principals}
            rowKey={(p) => p.id}
            onRow={(p) => navigate('admin', { tab: 'grants', principal_id: p.id })}
            columns={[
              { label: 'Name', render: (p) => p.display_name },
              { label: 'E-mail', render: (p) => p.email },
              { label: 'Kind', render: (p) => (p.is_agent ? 'agent (service)' : p.kind) },
              {
                label: 'Status',
                render: (p) => <Badge value={p.disabled_at ? 'disabled' : 'active'} />,
              },
              { label: 'Since', render: (p) => <Time at={p.created_at} /> },
              {
                label: '',
                render: (p) =>
                  !p.disabled_at && !p.is_agent ? (
                    <Button
                      kind="danger"
                      onClick={async () => {
                        const reason = window.prompt(
                          `Disable ${p.email}? Their sessions end. Reason:`,
                        );
                        if (!reason) return;
                        await api.post(`/api/v1/principals/${p.id}/disable`, { reason });
                        await state.reload();
                      }}
                    >
                      Disable
                    </Button>
                  ) : null,
              },
            ]}
          />
        )}
      </Async>
      <div class="panel">
        <h3>Add a person</h3>
        <Form
          submit="Add"
          onSubmit={async () => {
            await api.post('/api/v1/principals', {
              email,
              display_name: name,
              ...(password ? { password } : {}),
            });
            setEmail('');
            setName('');
            setPassword('');
            await state.reload();
          }}
        >
          <Field label="E-mail">
            <input
              type="email"
              required
              value={email}
              onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
            />
          </Field>
          <Field label="Name">
            <input
              required
              value={name}
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
            />
          </Field>
          <Field
            label="Initial password"
            hint="Leave empty for single sign-on only. They must change it at first sign-in."
          >
            <input
              type="password"
              autoComplete="new-password"
              value={password}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            />
          </Field>
        </Form>
      </div>
    </>
  );
}

function Grants(props: { route: Route; facilities: Facility[] }): JSX.Element {
  const { session } = useSession();
  const principal = props.route.query.get('principal_id') ?? session.principal.id;
  const people = useAsync(() => api.get<{ principals: Principal[] }>('/api/v1/principals'), []);
  const state = useAsync(
    () =>
      api.get<{ grants: GrantRow[] }>('/api/v1/grants', {
        principal_id: principal,
        include_inactive: 'true',
      }),
    [principal],
  );
  const facilityName = (id: string | null): string =>
    id ? (props.facilities.find((f) => f.id === id)?.name ?? short(id)) : 'organization-wide';
  const [form, setForm] = useState({
    domain: 'security',
    level: 'read',
    facility_id: '',
    reason: '',
    valid_until: '',
  });
  const [delegating, setDelegating] = useState<GrantRow>();
  const [dg, setDg] = useState({
    delegate_id: '',
    delegation_type: 'vertical',
    valid_until: '',
    reason: '',
  });
  const [dgError, setDgError] = useState<string>();
  return (
    <>
      <div class="filters">
        <select
          aria-label="Person"
          value={principal}
          onChange={(e) =>
            navigate('admin', {
              tab: 'grants',
              principal_id: (e.target as HTMLSelectElement).value,
            })
          }
        >
          {(people.data?.principals ?? []).map((p) => (
            <option value={p.id}>
              {p.display_name} ({p.email})
            </option>
          ))}
        </select>
      </div>
      <Async state={state} what="grants">
        {(d) => (
          <Table
            testId="grants"
            rows={d.grants}
            rowKey={(g) => g.id}
            empty="No grants."
            columns={[
              { label: 'Domain', render: (g) => g.domain },
              { label: 'Level', render: (g) => <strong>{g.level}</strong> },
              { label: 'Facility', render: (g) => facilityName(g.facility_id) },
              {
                label: 'Kind',
                render: (g) => (g.delegation_type ? `${g.delegation_type} delegation` : 'grant'),
              },
              {
                label: 'In force',
                render: (g) => (
                  <Badge value={g.in_force ? 'active' : g.revoked_at ? 'revoked' : 'expired'} />
                ),
              },
              { label: 'Until', render: (g) => <Time at={g.valid_until} /> },
              { label: 'Reason', render: (g) => g.reason },
              {
                label: '',
                render: (g) => (
                  <span class="row-actions">
                    {g.in_force && principal === session.principal.id && !g.delegation_type && (
                      <button
                        type="button"
                        class="plain"
                        onClick={() => {
                          setDelegating(g);
                          setDgError(undefined);
                        }}
                      >
                        Delegate…
                      </button>
                    )}
                    {g.in_force && principal !== session.principal.id && (
                      <Button
                        kind="danger"
                        onClick={async () => {
                          const reason = window.prompt(
                            'Revoke this grant (and its delegations)? Reason:',
                          );
                          if (!reason) return;
                          await api.post(`/api/v1/grants/${g.id}/revoke`, { reason });
                          await state.reload();
                        }}
                      >
                        Revoke
                      </Button>
                    )}
                  </span>
                ),
              },
            ]}
          />
        )}
      </Async>
      {delegating && (
        <div class="panel" data-testid="delegate-panel">
          <h3>
            Delegate {delegating.domain}:{delegating.level} at{' '}
            {facilityName(delegating.facility_id)}
          </h3>
          <Notice>
            <strong>Vertical</strong>: same facility and domain, exactly one level lower.{' '}
            <strong>Horizontal</strong>: your level at your facility, to someone who already holds
            the same or a higher level in this domain at another facility. Both expire, need a
            reason, die with your grant and cannot be delegated again.
          </Notice>
          <form
            class="form"
            onSubmit={(e) => {
              e.preventDefault();
              setDgError(undefined);
              api
                .post('/api/v1/delegations', {
                  source_grant_id: delegating.id,
                  delegate_id: dg.delegate_id,
                  delegation_type: dg.delegation_type,
                  valid_until: dg.valid_until ? new Date(dg.valid_until).toISOString() : '',
                  reason: dg.reason,
                })
                .then(
                  () => {
                    setDelegating(undefined);
                    void state.reload();
                  },
                  (err: unknown) => {
                    if (err instanceof ApiError) {
                      const rule = err.reason ? delegationRules[err.reason] : undefined;
                      setDgError(rule ? `${rule} (${err.body.message})` : err.body.message);
                    } else setDgError(String(err));
                  },
                );
            }}
          >
            <Field label="Delegate">
              <select
                required
                value={dg.delegate_id}
                onChange={(e) =>
                  setDg({ ...dg, delegate_id: (e.target as HTMLSelectElement).value })
                }
              >
                <option value="">choose…</option>
                {(people.data?.principals ?? [])
                  .filter((p) => p.id !== session.principal.id && !p.disabled_at)
                  .map((p) => (
                    <option value={p.id}>{p.display_name}</option>
                  ))}
              </select>
            </Field>
            <Field label="Type">
              <select
                value={dg.delegation_type}
                onChange={(e) =>
                  setDg({ ...dg, delegation_type: (e.target as HTMLSelectElement).value })
                }
              >
                <option value="vertical">vertical (one level lower, same facility)</option>
                <option value="horizontal">
                  horizontal (same level, a peer at another facility)
                </option>
              </select>
            </Field>
            <Field label="Until">
              <input
                type="datetime-local"
                required
                value={dg.valid_until}
                onInput={(e) => setDg({ ...dg, valid_until: (e.target as HTMLInputElement).value })}
              />
            </Field>
            <Field label="Reason">
              <input
                required
                value={dg.reason}
                onInput={(e) => setDg({ ...dg, reason: (e.target as HTMLInputElement).value })}
              />
            </Field>
            <ErrorBox error={dgError} title="Refused" />
            <div class="form-actions">
              <button type="submit" class="primary">
                Delegate
              </button>
              <button type="button" class="plain" onClick={() => setDelegating(undefined)}>
                Cancel
              </button>
            </div>
          </form>
        </div>
      )}
      {principal !== session.principal.id && (
        <div class="panel">
          <h3>Grant</h3>
          <Form
            submit="Grant"
            onSubmit={async () => {
              await api.post('/api/v1/grants', {
                principal_id: principal,
                domain: form.domain,
                level: form.level,
                facility_id: form.facility_id || null,
                reason: form.reason,
                ...(form.valid_until
                  ? { valid_until: new Date(form.valid_until).toISOString() }
                  : {}),
              });
              await state.reload();
            }}
          >
            <Field label="Domain">
              <select
                value={form.domain}
                onChange={(e) =>
                  setForm({ ...form, domain: (e.target as HTMLSelectElement).value })
                }
              >
                {DOMAINS.map((d) => (
                  <option value={d}>{d}</option>
                ))}
              </select>
            </Field>
            <Field label="Level">
              <select
                value={form.level}
                onChange={(e) => setForm({ ...form, level: (e.target as HTMLSelectElement).value })}
              >
                {LEVELS.map((d) => (
                  <option value={d}>{d}</option>
                ))}
              </select>
            </Field>
            <Field label="Facility">
              <select
                value={form.facility_id}
                onChange={(e) =>
                  setForm({ ...form, facility_id: (e.target as HTMLSelectElement).value })
                }
              >
                <option value="">organization-wide</option>
                {props.facilities.map((f) => (
                  <option value={f.id}>{f.name}</option>
                ))}
              </select>
            </Field>
            <Field label="Reason">
              <input
                required
                value={form.reason}
                onInput={(e) => setForm({ ...form, reason: (e.target as HTMLInputElement).value })}
              />
            </Field>
            <Field label="Until (optional)">
              <input
                type="datetime-local"
                value={form.valid_until}
                onInput={(e) =>
                  setForm({ ...form, valid_until: (e.target as HTMLInputElement).value })
                }
              />
            </Field>
          </Form>
        </div>
      )}
    </>
  );
}

function Facilities(props: { facilities: Facility[]; reload: () => Promise<void> }): JSX.Element {
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [env, setEnv] = useState('staging');
  // Each facility's configuration (autonomy tier, blast-radius cap, approval expiry) is a controlled
  // record: shown here, changed through a signed change request (Change requests → Records).
  // Asked only where the person may read it: a refused call is an authz.denied event.
  const { session } = useSession();
  const readable = props.facilities.filter((f) => can(session, 'read', 'configuration', f.id));
  const configs = useAsync(
    async () =>
      (
        await Promise.all(
          readable.map((f) =>
            api
              .get<{ records: RecordVersion[] }>('/api/v1/records/facility_configuration', {
                facility_id: f.id,
              })
              .then((r) => r.records)
              .catch(() => [] as RecordVersion[]),
          ),
        )
      ).flat(),
    [readable.map((f) => f.id).join()],
  );
  const config = (fid: string): Record<string, unknown> | undefined =>
    configs.data?.find((r) => r.facility_id === fid && r.lifecycle_state === 'effective')?.content;
  return (
    <>
      <Table
        testId="facilities"
        rows={props.facilities}
        rowKey={(f) => f.id}
        columns={[
          { label: 'Name', render: (f) => f.name },
          { label: 'Slug', render: (f) => <Mono>{f.slug}</Mono> },
          { label: 'Environment', render: (f) => <Badge value={f.environment_tier} /> },
          {
            label: 'Autonomy tier',
            render: (f) => <Badge value={String(config(f.id)?.autonomy_tier ?? '—')} />,
          },
          {
            label: 'Blast-radius cap',
            render: (f) => String(config(f.id)?.blast_radius_cap ?? '—'),
          },
          {
            label: 'Approvals expire after',
            render: (f) => {
              const h = config(f.id)?.approval_expiry_hours;
              return h === undefined ? '—' : `${String(h)} h`;
            },
          },
          {
            label: '',
            render: (f) => (
              <a
                href={href('changes', {
                  tab: 'records',
                  kind: 'facility_configuration',
                  facility_id: f.id,
                })}
              >
                propose a change
              </a>
            ),
          },
          { label: 'Since', render: (f) => <Time at={f.created_at} /> },
        ]}
      />
      <div class="panel">
        <h3>Add a facility</h3>
        <Form
          submit="Add"
          onSubmit={async () => {
            await api.post('/api/v1/facilities', { slug, name, environment: env });
            await props.reload();
          }}
        >
          <Field label="Slug">
            <input
              required
              pattern="[a-z0-9][a-z0-9-]{1,62}"
              value={slug}
              onInput={(e) => setSlug((e.target as HTMLInputElement).value)}
            />
          </Field>
          <Field label="Name">
            <input
              required
              value={name}
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
            />
          </Field>
          <Field label="Environment">
            <select value={env} onChange={(e) => setEnv((e.target as HTMLSelectElement).value)}>
              <option value="production">production</option>
              <option value="staging">staging</option>
              <option value="development">development</option>
            </select>
          </Field>
        </Form>
      </div>
    </>
  );
}

function Alerts(): JSX.Element {
  const state = useAsync(
    () =>
      api.get<{
        alerts: Array<{
          id: string;
          kind: string;
          message: string;
          severity: string;
          created_at: string;
        }>;
      }>('/api/v1/alerts'),
    [],
  );
  return (
    <Async state={state} what="alerts">
      {(d) => (
        <Table
          testId="alerts"
          rows={d.alerts}
          rowKey={(a) => a.id}
          empty="No security alerts."
          columns={[
            { label: 'When', render: (a) => <Time at={a.created_at} /> },
            {
              label: 'Severity',
              render: (a) => (
                <Badge value={a.severity} tone={a.severity === 'warning' ? 'amber' : 'red'} />
              ),
            },
            { label: 'Kind', render: (a) => <Mono>{a.kind}</Mono> },
            { label: 'What', render: (a) => a.message },
          ]}
        />
      )}
    </Async>
  );
}

export function AdminPage(props: { route: Route }): JSX.Element {
  const tab = props.route.query.get('tab') ?? 'people';
  const { session } = useSession();
  const facilities = useAsync(() => api.get<{ facilities: Facility[] }>('/api/v1/facilities'), []);
  return (
    <Page
      title="Administration"
      subtitle="People, grants and delegations, facilities, single sign-on and alerts."
    >
      <Tabs
        tabs={[
          { id: 'people', label: 'People' },
          { id: 'grants', label: 'Grants & delegations' },
          { id: 'facilities', label: 'Facilities' },
          { id: 'sso', label: 'Single sign-on' },
          { id: 'alerts', label: 'Alerts' },
        ]}
        active={tab}
        onChange={(id) => navigate('admin', { tab: id })}
      />
      {tab === 'people' && <People />}
      {tab === 'grants' && (
        <Grants route={props.route} facilities={facilities.data?.facilities ?? []} />
      )}
      {tab === 'facilities' && (
        <Facilities facilities={facilities.data?.facilities ?? []} reload={facilities.reload} />
      )}
      {tab === 'sso' &&
        (can(session, 'read', 'configuration', null) ? (
          <SingleSignOn facilities={facilities.data?.facilities ?? []} />
        ) : (
          <NeedsGrant testId="needs-grant">
            This needs configuration:read organization-wide; an administrator can grant it.
          </NeedsGrant>
        ))}
      {tab === 'alerts' &&
        (can(session, 'read', 'audit', null) ? (
          <Alerts />
        ) : (
          <NeedsGrant testId="needs-grant">
            This needs audit:read organization-wide; an administrator can grant it.
          </NeedsGrant>
        ))}
    </Page>
  );
}
