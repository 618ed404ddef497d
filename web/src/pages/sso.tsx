// Administration → Single sign-on: the verified e-mail domains and the identity providers, listed for
// anyone who may read the configuration and changed by those who hold configuration:review
// organization-wide (growth tier and above). The database decides; a refusal is shown as it comes.
// An OpenID client secret goes to the server once, is sealed there, and is never shown again.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { can, useSession } from '../session';
import type { Facility } from '../types';
import {
  Async,
  Badge,
  Button,
  Field,
  Form,
  Mono,
  Notice,
  ReasonField,
  Table,
  Time,
  useAsync,
} from '../ui';

const DOMAINS = ['cost', 'security', 'drift', 'configuration', 'audit'];
/** Sign-in provisions at most operate: author and review are given by a person (the database says so). */
const LEVELS = ['read', 'operate'];

interface DefaultGrant {
  domain: string;
  level: string;
  facility_id: string | null;
}

interface Provider {
  id: string;
  kind: 'oidc' | 'saml';
  name: string;
  issuer: string | null;
  client_id: string | null;
  has_client_secret: boolean;
  idp_entity_id: string | null;
  idp_sso_url: string | null;
  default_grants: DefaultGrant[] | null;
  disabled_at: string | null;
}

function input(set: (v: string) => void): (e: Event) => void {
  return (e) => set((e.target as HTMLInputElement).value);
}

function Domains(props: { canChange: boolean }): JSX.Element {
  const domains = useAsync(
    () =>
      api.get<{ domains: Array<{ domain: string; verified_at: string | null }> }>(
        '/api/v1/domains',
      ),
    [],
  );
  const [domain, setDomain] = useState('');
  const [reason, setReason] = useState('');
  return (
    <>
      <h3>Verified e-mail domains</h3>
      <p class="muted">
        Single sign-on creates an account at first sign-in only for people whose e-mail address is
        in one of these domains.
      </p>
      <Async state={domains} what="domains">
        {(d) => (
          <Table
            testId="sso-domains"
            rows={d.domains}
            rowKey={(x) => x.domain}
            empty="No domains: just-in-time provisioning is off."
            columns={[
              { label: 'Domain', render: (x) => x.domain },
              { label: 'Verified', render: (x) => <Time at={x.verified_at} /> },
            ]}
          />
        )}
      </Async>
      {props.canChange && (
        <div class="panel">
          <h4>Add a domain you have verified you control</h4>
          <Form
            submit="Add domain"
            testId="domain-form"
            onSubmit={async () => {
              await api.post('/api/v1/domains', { domain: domain.trim().toLowerCase(), reason });
              setDomain('');
              setReason('');
              await domains.reload();
            }}
          >
            <Field label="Domain" hint="e.g. example.com">
              <input
                name="domain"
                required
                maxLength={253}
                value={domain}
                onInput={input(setDomain)}
              />
            </Field>
            <ReasonField
              name="domain-reason"
              value={reason}
              onChange={setReason}
              hint="How it was verified (kept in the audit trail)."
            />
          </Form>
        </div>
      )}
    </>
  );
}

function grantText(g: DefaultGrant, facilities: Facility[]): string {
  const at = g.facility_id
    ? (facilities.find((f) => f.id === g.facility_id)?.name ?? g.facility_id)
    : 'organization-wide';
  return `${g.domain}:${g.level} (${at})`;
}

/** The grants people provisioned at sign-in get: chosen one at a time, removable before saving. */
function DefaultGrants(props: {
  grants: DefaultGrant[];
  onChange: (g: DefaultGrant[]) => void;
  facilities: Facility[];
}): JSX.Element {
  const [g, setG] = useState<DefaultGrant>({
    domain: 'security',
    level: 'read',
    facility_id: null,
  });
  return (
    // A group of controls, not one: a div rather than Field's label.
    <div class="field">
      <span class="label">Grants for people provisioned at sign-in (optional)</span>
      <ul class="plain-list" data-testid="sso-default-grants">
        {props.grants.map((x, i) => (
          <li key={`${x.domain}:${x.level}:${x.facility_id ?? ''}`}>
            {grantText(x, props.facilities)}{' '}
            <button
              type="button"
              class="plain"
              onClick={() => props.onChange(props.grants.filter((_, k) => k !== i))}
            >
              remove
            </button>
          </li>
        ))}
      </ul>
      <span class="inline-fields">
        <select
          name="grant-domain"
          value={g.domain}
          onChange={(e) => setG({ ...g, domain: (e.target as HTMLSelectElement).value })}
        >
          {DOMAINS.map((d) => (
            <option value={d}>{d}</option>
          ))}
        </select>
        <select
          name="grant-level"
          value={g.level}
          onChange={(e) => setG({ ...g, level: (e.target as HTMLSelectElement).value })}
        >
          {LEVELS.map((d) => (
            <option value={d}>{d}</option>
          ))}
        </select>
        <select
          name="grant-facility"
          value={g.facility_id ?? ''}
          onChange={(e) =>
            setG({ ...g, facility_id: (e.target as HTMLSelectElement).value || null })
          }
        >
          <option value="">organization-wide</option>
          {props.facilities.map((f) => (
            <option value={f.id}>{f.name}</option>
          ))}
        </select>
        <button
          type="button"
          data-testid="sso-add-grant"
          onClick={() => {
            const same = (x: DefaultGrant): boolean =>
              x.domain === g.domain && x.level === g.level && x.facility_id === g.facility_id;
            if (!props.grants.some(same)) props.onChange([...props.grants, g]);
          }}
        >
          Add grant
        </button>
      </span>
      <span class="hint">
        Up to operate: author and review are given by a person. Without any grant, a new person can
        sign in but sees nothing until someone grants them access.
      </span>
    </div>
  );
}

const emptyProvider = {
  name: '',
  issuer: '',
  client_id: '',
  client_secret: '',
  idp_entity_id: '',
  idp_sso_url: '',
  idp_certificate: '',
  sp_entity_id: '',
};

function AddProvider(props: {
  facilities: Facility[];
  onSaved: (p: Provider) => void;
}): JSX.Element {
  const { session } = useSession();
  const origin = window.location.origin;
  const [kind, setKind] = useState<'oidc' | 'saml'>('oidc');
  const [f, setF] = useState(emptyProvider);
  const [grants, setGrants] = useState<DefaultGrant[]>([]);
  // One text input of the form: `k` is both its state and (with sso- and dashes) its name.
  const field = (
    k: keyof typeof emptyProvider,
    label: string,
    o: {
      hint?: string;
      max: number;
      type?: 'text' | 'url' | 'password';
      optional?: boolean;
      autocomplete?: string;
    },
  ): JSX.Element => (
    <Field label={label} hint={o.hint}>
      <input
        name={`sso-${k.replace(/_/g, '-')}`}
        // Preact types each input kind's attributes apart; these three take the same ones here.
        type={(o.type ?? 'text') as 'text'}
        required={!o.optional}
        maxLength={o.max}
        autocomplete={o.autocomplete}
        value={f[k]}
        onInput={(e) => setF({ ...f, [k]: (e.target as HTMLInputElement).value })}
      />
    </Field>
  );
  return (
    <div class="panel">
      <h4>Add an identity provider</h4>
      <Form
        submit="Save provider"
        testId="sso-form"
        onSubmit={async () => {
          const common = {
            name: f.name.trim(),
            ...(grants.length ? { default_grants: grants } : {}),
          };
          const body =
            kind === 'oidc'
              ? {
                  kind,
                  ...common,
                  issuer: f.issuer.trim(),
                  client_id: f.client_id.trim(),
                  ...(f.client_secret ? { client_secret: f.client_secret } : {}),
                }
              : {
                  kind,
                  ...common,
                  idp_entity_id: f.idp_entity_id.trim(),
                  idp_sso_url: f.idp_sso_url.trim(),
                  idp_certificate: f.idp_certificate.trim(),
                  sp_entity_id: f.sp_entity_id.trim(),
                };
          const saved = await api.post<Provider>('/api/v1/sso-providers', body);
          // The secret has gone to the server; it is not kept in the page.
          setF(emptyProvider);
          setGrants([]);
          props.onSaved(saved);
        }}
      >
        <Field label="Protocol">
          <select
            name="sso-kind"
            value={kind}
            onChange={(e) => setKind((e.target as HTMLSelectElement).value as 'oidc' | 'saml')}
          >
            <option value="oidc">OpenID Connect</option>
            <option value="saml">SAML 2.0</option>
          </select>
        </Field>
        {field('name', 'Name', { hint: 'What people see on the sign-in page.', max: 100 })}
        {kind === 'oidc' ? (
          <>
            <Notice>
              Register this redirect URI at the provider:{' '}
              <Mono>{`${origin}/api/v1/auth/oidc/callback`}</Mono>
            </Notice>
            {field('issuer', 'Issuer', {
              hint: "The provider's issuer URL (https).",
              max: 2048,
              type: 'url',
            })}
            {field('client_id', 'Client id', { max: 512 })}
            {field('client_secret', 'Client secret (optional)', {
              hint: 'Sealed by the server before it is stored; never shown again. Leave empty for a public client.',
              max: 4096,
              type: 'password',
              optional: true,
              autocomplete: 'new-password',
            })}
          </>
        ) : (
          <>
            <Notice>
              After saving, give the provider Axiom's service-provider metadata (the SP metadata
              link in the table above); it names the assertion consumer service.
            </Notice>
            {field('idp_entity_id', 'Identity provider entity id', { max: 2048 })}
            {field('idp_sso_url', 'Single sign-on URL', { hint: 'https', max: 2048, type: 'url' })}
            <Field label="Signing certificate (PEM)">
              <textarea
                name="sso-idp-certificate"
                required
                rows={6}
                maxLength={16384}
                value={f.idp_certificate}
                onInput={(e) =>
                  setF({ ...f, idp_certificate: (e.target as HTMLTextAreaElement).value })
                }
              />
            </Field>
            {field('sp_entity_id', "Axiom's entity id", {
              hint: `As registered at the provider, e.g. ${origin}/saml/${session.organization.slug}`,
              max: 2048,
            })}
          </>
        )}
        <DefaultGrants grants={grants} onChange={setGrants} facilities={props.facilities} />
      </Form>
    </div>
  );
}

export function SingleSignOn(props: { facilities: Facility[] }): JSX.Element {
  const { session } = useSession();
  const canChange = can(session, 'review', 'configuration', null);
  const providers = useAsync(() => api.get<{ providers: Provider[] }>('/api/v1/sso-providers'), []);
  const [disabling, setDisabling] = useState<Provider>();
  const [reason, setReason] = useState('');
  const [saved, setSaved] = useState<string>();
  const slug = session.organization.slug;
  return (
    <>
      {session.organization.plan_tier === 'starter' && (
        <Notice kind="warn">Single sign-on needs the growth tier or above.</Notice>
      )}
      <Domains canChange={canChange} />
      <h3>Identity providers</h3>
      {saved && <Notice kind="ok">{saved}</Notice>}
      <Async state={providers} what="providers">
        {(d) => (
          <Table
            testId="sso-providers"
            rows={d.providers}
            rowKey={(x) => x.id}
            empty="No identity provider configured (growth tier and above)."
            columns={[
              { label: 'Name', render: (x) => x.name },
              { label: 'Protocol', render: (x) => x.kind.toUpperCase() },
              {
                label: 'Provider',
                render: (x) =>
                  x.kind === 'oidc' ? (
                    <>
                      <Mono>{x.issuer ?? '—'}</Mono> client <Mono>{x.client_id ?? '—'}</Mono>
                      {x.has_client_secret ? ' (secret stored sealed)' : ' (public client)'}
                    </>
                  ) : (
                    <>
                      <Mono>{x.idp_entity_id ?? '—'}</Mono> at <Mono>{x.idp_sso_url ?? '—'}</Mono>
                    </>
                  ),
              },
              {
                label: 'New people get',
                render: (x) =>
                  x.default_grants?.length
                    ? x.default_grants.map((g) => grantText(g, props.facilities)).join(', ')
                    : 'no grants',
              },
              {
                label: 'Status',
                render: (x) => <Badge value={x.disabled_at ? 'disabled' : 'active'} />,
              },
              {
                label: '',
                render: (x) => (
                  <>
                    {x.kind === 'saml' && (
                      <a
                        href={`/api/v1/auth/sso/${encodeURIComponent(slug)}/saml-metadata?provider=${x.id}`}
                        target="_blank"
                        rel="noopener"
                      >
                        SP metadata
                      </a>
                    )}{' '}
                    {canChange && !x.disabled_at && (
                      <Button
                        kind="danger"
                        testId={`sso-disable-${x.id}`}
                        onClick={() => {
                          setReason('');
                          setDisabling(x);
                        }}
                      >
                        Disable…
                      </Button>
                    )}
                  </>
                ),
              },
            ]}
          />
        )}
      </Async>
      {disabling && (
        <div class="panel">
          <h4>Disable {disabling.name}</h4>
          <p class="muted">
            People can no longer sign in through it; sessions it has already opened stay until they
            expire or are revoked.
          </p>
          <Form
            danger
            submit="Disable provider"
            testId="sso-disable-form"
            onSubmit={async () => {
              await api.post(`/api/v1/sso-providers/${disabling.id}/disable`, { reason });
              await providers.reload();
              setSaved(`${disabling.name} is disabled.`);
              setDisabling(undefined);
            }}
          >
            <ReasonField name="disable-reason" value={reason} onChange={setReason} />
          </Form>
        </div>
      )}
      {canChange && (
        <AddProvider
          facilities={props.facilities}
          onSaved={(p) => {
            void providers.reload().then(() => setSaved(`${p.name} is configured.`));
          }}
        />
      )}
    </>
  );
}
