// Connections and scans: onboarding an AWS account (Axiom issues the External ID, presents the policies
// and templates, the customer creates the role, then a test activates the connection), rotation of the
// External ID, disconnection, opt-in execution roles, and the scans of each connection with their live
// progress, history, partial results explained, and charts over the scan summaries.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Chart } from '../chart';
import { href, navigate, type Route } from '../router';
import type { Facility } from '../types';
import {
  Async,
  Badge,
  Button,
  CopyBlock,
  Dialog,
  Dl,
  ErrorBox,
  Field,
  Form,
  Mono,
  Notice,
  Page,
  ReasonField,
  short,
  Table,
  Tabs,
  Time,
  useAsync,
  usePoll,
} from '../ui';

const CLASSES = ['security', 'cost', 'drift'] as const;
type ActionClass = (typeof CLASSES)[number];

interface RoleMaterial {
  roleName: string;
  trustPolicy: unknown;
  permissionsPolicy: unknown;
  cloudFormation: string;
  terraform: string;
}

export interface Connection {
  id: string;
  facility_id: string;
  account_id: string;
  name: string;
  status: 'pending' | 'active' | 'revoked' | 'disconnected';
  status_reason: string | null;
  external_ids: Array<{ external_id: string; current: boolean; accepted_until: string | null }>;
  execution_roles: Record<ActionClass, boolean>;
  last_test: TestReport | null;
  regions?: string[] | null;
  created_at?: string;
  onboarding?: {
    scanRole: RoleMaterial;
    executionRoles: Record<ActionClass, RoleMaterial>;
    notes: string[];
  };
}

interface TestReport {
  ok: boolean;
  code: string;
  message: string;
  possibleCauses?: string[];
  checks?: Array<{ service: string; ok: boolean; action?: string; message?: string }>;
  missingPermissions?: string[];
  externalIdUsed?: string;
}

interface ScanError {
  unit: string;
  service: string;
  region: string;
  code: string;
  message: string;
}

export interface Scan {
  id: string;
  connection_id: string;
  trigger: string;
  status: 'queued' | 'running' | 'succeeded' | 'partial' | 'failed' | string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress: {
    units_total?: number;
    units_done?: number;
    resources_found?: number;
    calls?: number;
    services?: Record<string, { regions_total: number; regions_done: string[]; failed: string[] }>;
  } | null;
  errors: ScanError[] | null;
  summary: {
    resources?: number;
    durationMs?: number;
    findings?: {
      bySeverity: Record<string, number>;
      byDomain: Record<string, number>;
      estimatedMonthlySavingsUsd: number;
    };
    throttles?: number;
    retries?: number;
  } | null;
}

const live = (s: Scan): boolean => s.status === 'queued' || s.status === 'running';

export function ConnectionsPage(props: { route: Route }): JSX.Element {
  const id = props.route.path[1];
  if (id === 'new') return <NewConnection />;
  if (id) return <ConnectionDetail id={id} tab={props.route.query.get('tab') ?? 'scans'} />;
  return <ConnectionList />;
}

function ConnectionList(): JSX.Element {
  const list = useAsync(() => api.get<{ connections: Connection[] }>('/api/v1/connections'), []);
  const facilities = useAsync(() => api.get<{ facilities: Facility[] }>('/api/v1/facilities'), []);
  const facilityName = (fid: string): string =>
    facilities.data?.facilities.find((f) => f.id === fid)?.name ?? short(fid);
  return (
    <Page
      title="Connections"
      subtitle="AWS accounts Axiom may scan (read-only) and, where you opted in, change after approval."
      actions={
        <a class="button primary" href={href('connections/new')} data-testid="connect-account">
          Connect an AWS account
        </a>
      }
    >
      <Async state={list} what="connections">
        {(d) => (
          <Table
            rows={d.connections}
            rowKey={(c) => c.id}
            empty="No connection yet: connect an AWS account to start scanning."
            onRow={(c) => navigate(`connections/${c.id}`)}
            columns={[
              { label: 'Name', render: (c) => c.name },
              { label: 'Account', render: (c) => <Mono>{c.account_id}</Mono> },
              { label: 'Facility', render: (c) => facilityName(c.facility_id) },
              {
                label: 'Status',
                render: (c) => (
                  <>
                    <Badge value={c.status} />
                    {c.status_reason && <span class="muted"> {c.status_reason}</span>}
                  </>
                ),
              },
              {
                label: 'Execution roles',
                render: (c) =>
                  CLASSES.filter((k) => c.execution_roles[k]).join(', ') || 'none (scan only)',
              },
            ]}
          />
        )}
      </Async>
    </Page>
  );
}

/** Step 1: where and which role; Axiom then issues the External ID and the onboarding material. */
function NewConnection(): JSX.Element {
  const facilities = useAsync(() => api.get<{ facilities: Facility[] }>('/api/v1/facilities'), []);
  const [facility, setFacility] = useState('');
  const [account, setAccount] = useState('');
  const [roleName, setRoleName] = useState('AxiomScanRole');
  const [name, setName] = useState('');
  const [regions, setRegions] = useState('');
  return (
    <Page
      title="Connect an AWS account"
      subtitle="1. Say where · 2. Create the role with the External ID Axiom issues · 3. Test the connection"
    >
      <Notice>
        Axiom never accepts access keys: it assumes a role in your account, with an External ID it
        generates for this connection only.
      </Notice>
      <Async state={facilities} what="facilities">
        {(d) => (
          <Form
            testId="new-connection"
            submit="Continue: issue the External ID"
            onSubmit={async () => {
              const list = regions
                .split(/[\s,]+/)
                .map((r) => r.trim())
                .filter(Boolean);
              const c = await api.post<Connection>('/api/v1/connections', {
                facility_id: facility || d.facilities[0]?.id,
                account_id: account.trim(),
                role_arn: `arn:aws:iam::${account.trim()}:role/${roleName.trim()}`,
                ...(name.trim() ? { name: name.trim() } : {}),
                ...(list.length ? { regions: list } : {}),
              });
              navigate(`connections/${c.id}`, { tab: 'onboarding' });
            }}
          >
            <Field label="Facility">
              <select
                value={facility || d.facilities[0]?.id}
                onChange={(e) => setFacility((e.target as HTMLSelectElement).value)}
              >
                {d.facilities.map((f) => (
                  <option value={f.id}>
                    {f.name} ({f.environment_tier})
                  </option>
                ))}
              </select>
            </Field>
            <Field label="AWS account id" hint="12 digits">
              <input
                name="account_id"
                required
                pattern="[0-9]{12}"
                value={account}
                onInput={(e) => setAccount((e.target as HTMLInputElement).value)}
              />
            </Field>
            <Field label="Role name" hint="the scan role you will create in that account">
              <input
                name="role_name"
                required
                value={roleName}
                onInput={(e) => setRoleName((e.target as HTMLInputElement).value)}
              />
            </Field>
            <Field label="Name (optional)">
              <input value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            </Field>
            <Field
              label="Regions (optional)"
              hint="e.g. us-east-1, eu-west-1; empty = every region"
            >
              <input
                value={regions}
                onInput={(e) => setRegions((e.target as HTMLInputElement).value)}
              />
            </Field>
          </Form>
        )}
      </Async>
    </Page>
  );
}

function ConnectionDetail(props: { id: string; tab: string }): JSX.Element {
  const conn = useAsync(() => api.get<Connection>(`/api/v1/connections/${props.id}`), [props.id]);
  const [report, setReport] = useState<TestReport>();
  const [dialog, setDialog] = useState<'rotate' | 'disconnect' | null>(null);
  return (
    <Async state={conn} what="connection">
      {(c) => (
        <Page
          title={c.name}
          subtitle={
            <>
              AWS account <Mono>{c.account_id}</Mono> · <Badge value={c.status} />{' '}
              {c.status_reason && <span data-testid="status-reason">{c.status_reason}</span>}
            </>
          }
          actions={
            c.status !== 'disconnected' && (
              <>
                <Button
                  kind="primary"
                  testId="test-connection"
                  onClick={async () => {
                    const r = await api.post<{ report: TestReport }>(
                      `/api/v1/connections/${c.id}/test`,
                    );
                    setReport(r.report);
                    await conn.reload();
                  }}
                >
                  Test connection
                </Button>
                <Button onClick={() => setDialog('rotate')}>Rotate External ID</Button>
                <Button kind="danger" onClick={() => setDialog('disconnect')}>
                  Disconnect
                </Button>
              </>
            )
          }
        >
          {c.status === 'revoked' && (
            <Notice kind="warn">
              Axiom can no longer assume this account's role (it was deleted or no longer trusts
              Axiom). Nothing else is affected; scans and executions are refused until the role is
              restored and the connection tested again.
            </Notice>
          )}
          {c.status === 'disconnected' && (
            <Notice>
              Disconnected: no role of this connection is ever assumed again, and its role ARN is
              released to no one. Its history stays.
            </Notice>
          )}
          {c.status === 'pending' && (
            <Notice>
              Create the role with the material under “Onboarding”, then test the connection.
            </Notice>
          )}
          {(report ?? c.last_test) && <TestResult report={(report ?? c.last_test)!} />}
          <Tabs
            tabs={[
              { id: 'scans', label: 'Scans' },
              { id: 'onboarding', label: 'Onboarding' },
              { id: 'execution', label: 'Execution roles' },
            ]}
            active={props.tab}
            onChange={(t) => navigate(`connections/${c.id}`, { tab: t })}
          />
          {props.tab === 'onboarding' && <Onboarding c={c} />}
          {props.tab === 'execution' && <ExecutionRoles c={c} onChange={conn.reload} />}
          {props.tab === 'scans' && <Scans c={c} />}
          {dialog === 'rotate' && (
            <Dialog title="Rotate the External ID" onClose={() => setDialog(null)}>
              <RotateForm
                c={c}
                done={() => {
                  setDialog(null);
                  void conn.reload();
                }}
              />
            </Dialog>
          )}
          {dialog === 'disconnect' && (
            <Dialog title="Disconnect this account" onClose={() => setDialog(null)}>
              <DisconnectForm
                c={c}
                done={() => {
                  setDialog(null);
                  void conn.reload();
                }}
              />
            </Dialog>
          )}
        </Page>
      )}
    </Async>
  );
}

function TestResult(props: { report: TestReport }): JSX.Element {
  const r = props.report;
  return (
    <div class={`card test-report ${r.ok ? 'ok' : 'failed'}`} data-testid="test-report">
      <h3>
        {r.ok ? 'Connection works' : 'Connection test failed'} <Badge value={r.code} />
      </h3>
      <p>{r.message}</p>
      {r.possibleCauses && r.possibleCauses.length > 0 && (
        <>
          <p>What it can be:</p>
          <ul>
            {r.possibleCauses.map((x) => (
              <li>{x}</li>
            ))}
          </ul>
        </>
      )}
      {r.missingPermissions && r.missingPermissions.length > 0 && (
        <p>
          Missing permissions: <Mono>{r.missingPermissions.join(', ')}</Mono>
        </p>
      )}
    </div>
  );
}

function RoleBlock(props: { m: RoleMaterial }): JSX.Element {
  const [fmt, setFmt] = useState('cloudformation');
  const m = props.m;
  return (
    <div class="role-material">
      <Tabs
        tabs={[
          { id: 'cloudformation', label: 'CloudFormation' },
          { id: 'terraform', label: 'Terraform' },
          { id: 'trust', label: 'Trust policy' },
          { id: 'permissions', label: 'Permissions policy' },
        ]}
        active={fmt}
        onChange={setFmt}
      />
      {fmt === 'cloudformation' && (
        <CopyBlock text={m.cloudFormation} filename={`${m.roleName}.cfn.json`} />
      )}
      {fmt === 'terraform' && <CopyBlock text={m.terraform} filename={`${m.roleName}.tf`} />}
      {fmt === 'trust' && (
        <CopyBlock
          text={JSON.stringify(m.trustPolicy, null, 2)}
          filename={`${m.roleName}-trust.json`}
        />
      )}
      {fmt === 'permissions' && (
        <CopyBlock
          text={JSON.stringify(m.permissionsPolicy, null, 2)}
          filename={`${m.roleName}-permissions.json`}
        />
      )}
    </div>
  );
}

function Onboarding(props: { c: Connection }): JSX.Element {
  const c = props.c;
  return (
    <div data-testid="onboarding">
      <h2>External ID</h2>
      <Table
        rows={c.external_ids}
        rowKey={(e) => e.external_id}
        columns={[
          { label: 'External ID', render: (e) => <Mono>{e.external_id}</Mono> },
          { label: '', render: (e) => (e.current ? <Badge value="current" tone="green" /> : '') },
          {
            label: 'Accepted until',
            render: (e) => (e.accepted_until ? <Time at={e.accepted_until} /> : '—'),
          },
        ]}
      />
      {c.onboarding && (
        <>
          <ul>
            {c.onboarding.notes.map((n) => (
              <li>{n}</li>
            ))}
          </ul>
          <h2>Scan role: {c.onboarding.scanRole.roleName}</h2>
          <RoleBlock m={c.onboarding.scanRole} />
        </>
      )}
    </div>
  );
}

function ExecutionRoles(props: { c: Connection; onChange: () => Promise<void> }): JSX.Element {
  const c = props.c;
  const [arn, setArn] = useState<Record<string, string>>({});
  return (
    <div data-testid="execution-roles">
      <p class="muted">
        Optional, one per action class. Axiom assumes an execution role only to run an approved
        plan, with a session policy limited to that plan's resources.
      </p>
      {CLASSES.map((cls) => (
        <div class="card">
          <h3>
            {cls} <Badge value={c.execution_roles[cls] ? 'opted in' : 'off'} />
          </h3>
          {c.execution_roles[cls] ? (
            <Button
              kind="danger"
              onClick={async () => {
                await api.del(`/api/v1/connections/${c.id}/execution-roles/${cls}`);
                await props.onChange();
              }}
            >
              Remove the {cls} execution role
            </Button>
          ) : (
            c.status !== 'disconnected' && (
              <Form
                submit={`Opt in to ${cls}`}
                onSubmit={async () => {
                  await api.put(`/api/v1/connections/${c.id}/execution-roles/${cls}`, {
                    role_arn: arn[cls] ?? '',
                  });
                  await props.onChange();
                }}
              >
                <Field label="Role ARN">
                  <input
                    value={arn[cls] ?? ''}
                    placeholder={`arn:aws:iam::${c.account_id}:role/...`}
                    onInput={(e) => setArn({ ...arn, [cls]: (e.target as HTMLInputElement).value })}
                  />
                </Field>
              </Form>
            )
          )}
          {c.onboarding && <RoleBlock m={c.onboarding.executionRoles[cls]} />}
        </div>
      ))}
    </div>
  );
}

function RotateForm(props: { c: Connection; done: () => void }): JSX.Element {
  const [hours, setHours] = useState('24');
  return (
    <Form
      submit="Issue a new External ID"
      onSubmit={async () => {
        await api.post(`/api/v1/connections/${props.c.id}/rotate-external-id`, {
          grace_seconds: Math.round(Number(hours) * 3600),
        });
        props.done();
      }}
    >
      <p>
        Both IDs are accepted during the grace period; update the role's trust policy to the new one
        before it ends. After it, the old ID is refused.
      </p>
      <Field label="Grace period (hours)">
        <input
          type="number"
          min="0"
          max="2160"
          value={hours}
          onInput={(e) => setHours((e.target as HTMLInputElement).value)}
        />
      </Field>
    </Form>
  );
}

function DisconnectForm(props: { c: Connection; done: () => void }): JSX.Element {
  const [reason, setReason] = useState('');
  return (
    <Form
      danger
      submit="Disconnect"
      onSubmit={async () => {
        await api.post(`/api/v1/connections/${props.c.id}/disconnect`, { reason });
        props.done();
      }}
    >
      <p>Every future assumption stops at once. This cannot be undone; connect again instead.</p>
      <ReasonField value={reason} onChange={setReason} />
    </Form>
  );
}

function Scans(props: { c: Connection }): JSX.Element {
  const c = props.c;
  const scans = useAsync(
    () => api.get<{ scans: Scan[] }>(`/api/v1/connections/${c.id}/scans`, { limit: 50 }),
    [c.id],
  );
  const running = scans.data?.scans.some(live) ?? false;
  usePoll(scans.reload, 1500, running);
  const [error, setError] = useState<string>();
  const done = (scans.data?.scans ?? [])
    .filter((s) => !live(s) && s.summary)
    .slice()
    .reverse();
  return (
    <div data-testid="scans">
      <div class="actions">
        {c.status === 'active' && (
          <Button
            kind="primary"
            testId="start-scan"
            disabled={running}
            onClick={async () => {
              setError(undefined);
              await api.post(`/api/v1/connections/${c.id}/scans`);
              await scans.reload();
            }}
          >
            {running ? 'A scan is running' : 'Start a scan'}
          </Button>
        )}
      </div>
      <ErrorBox error={error} />
      <Async state={scans} what="scans">
        {(d) => (
          <>
            {d.scans.filter(live).map((s) => (
              <LiveScan scan={s} />
            ))}
            <Table
              rows={d.scans}
              rowKey={(s) => s.id}
              empty="No scan yet."
              onRow={(s) => navigate(`scans/${s.id}`)}
              columns={[
                { label: 'Started', render: (s) => <Time at={s.started_at ?? s.created_at} /> },
                { label: 'Status', render: (s) => <Badge value={s.status} /> },
                { label: 'Trigger', render: (s) => s.trigger },
                {
                  label: 'Resources',
                  render: (s) => s.summary?.resources ?? s.progress?.resources_found ?? '',
                },
                {
                  label: 'Findings',
                  render: (s) =>
                    s.summary?.findings
                      ? Object.values(s.summary.findings.bySeverity).reduce((a, b) => a + b, 0)
                      : '',
                },
                {
                  label: 'Duration',
                  render: (s) =>
                    s.summary?.durationMs !== undefined
                      ? `${(s.summary.durationMs / 1000).toFixed(1)} s`
                      : '',
                },
              ]}
            />
          </>
        )}
      </Async>
      {done.length > 0 && <ScanCharts scans={done} />}
    </div>
  );
}

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational'];
const SEVERITY_COLORS: Record<string, string> = {
  critical: '#8b1a1a',
  high: '#d9480f',
  medium: '#e8a317',
  low: '#4c6ef5',
  informational: '#868e96',
};

/** Findings by severity over time, estimated monthly savings and scan durations, from scan summaries. */
export function ScanCharts(props: { scans: Scan[] }): JSX.Element {
  const labels = props.scans.map((s) =>
    new Date(s.finished_at ?? s.created_at).toLocaleString(undefined, {
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
    }),
  );
  return (
    <div class="charts" data-testid="scan-charts">
      <div class="card">
        <h3>Findings by severity</h3>
        <Chart
          label="Findings by severity over time"
          type="bar"
          stacked
          labels={labels}
          datasets={SEVERITIES.map((sev) => ({
            label: sev,
            color: SEVERITY_COLORS[sev]!,
            data: props.scans.map((s) => s.summary?.findings?.bySeverity[sev] ?? 0),
          }))}
        />
      </div>
      <div class="card">
        <h3>Estimated monthly savings (USD)</h3>
        <Chart
          label="Estimated monthly savings"
          type="line"
          labels={labels}
          datasets={[
            {
              label: 'USD / month',
              color: '#2b8a3e',
              data: props.scans.map((s) => s.summary?.findings?.estimatedMonthlySavingsUsd ?? 0),
            },
          ]}
        />
      </div>
      <div class="card">
        <h3>Scan duration (s)</h3>
        <Chart
          label="Scan durations"
          type="bar"
          labels={labels}
          datasets={[
            {
              label: 'seconds',
              color: '#495057',
              data: props.scans.map((s) => (s.summary?.durationMs ?? 0) / 1000),
            },
          ]}
        />
      </div>
    </div>
  );
}

function LiveScan(props: { scan: Scan }): JSX.Element {
  const s = props.scan;
  const p = s.progress ?? {};
  const pct = p.units_total ? Math.round(((p.units_done ?? 0) / p.units_total) * 100) : 0;
  return (
    <div class="card live-scan" data-testid="live-scan">
      <h3>
        Scan {s.status} <Badge value={s.status} />
      </h3>
      <progress max={100} value={pct} aria-label="Scan progress" />{' '}
      <span>
        {p.units_done ?? 0} of {p.units_total ?? '?'} service-regions · {p.resources_found ?? 0}{' '}
        resources · {p.calls ?? 0} read-only calls
      </span>
    </div>
  );
}

/** One scan: status, progress per service, errors explained, summary. Polls while it runs. */
export function ScanPage(props: { route: Route }): JSX.Element {
  const id = props.route.path[1] ?? '';
  const scan = useAsync(() => api.get<Scan>(`/api/v1/scans/${id}`), [id]);
  usePoll(scan.reload, 1500, scan.data ? live(scan.data) : false);
  return (
    <Async state={scan} what="scan">
      {(s) => (
        <Page
          title={`Scan ${short(s.id)}`}
          subtitle={
            <>
              <Badge value={s.status} /> ·{' '}
              <a href={href(`connections/${s.connection_id}`)}>its connection</a>
            </>
          }
        >
          {live(s) && <LiveScan scan={s} />}
          {s.status === 'partial' && (
            <Notice kind="warn">
              Partial: some services or regions could not be read (below). Findings of the services
              read completely were reconciled; findings of the others were kept as they were, never
              resolved on missing data.
            </Notice>
          )}
          {s.status === 'failed' && (
            <Notice kind="warn">
              Failed: nothing could be read completely. Existing findings are unchanged.
            </Notice>
          )}
          <Dl
            items={[
              ['Trigger', s.trigger],
              ['Queued', <Time at={s.created_at} />],
              ['Started', <Time at={s.started_at} />],
              ['Finished', <Time at={s.finished_at} />],
              ['Resources', String(s.summary?.resources ?? s.progress?.resources_found ?? 0)],
              [
                'Duration',
                s.summary?.durationMs !== undefined
                  ? `${(s.summary.durationMs / 1000).toFixed(1)} s`
                  : '—',
              ],
              [
                'Estimated monthly savings',
                s.summary?.findings
                  ? `$${s.summary.findings.estimatedMonthlySavingsUsd.toFixed(2)}`
                  : '—',
              ],
            ]}
          />
          {s.summary?.findings && (
            <p>
              Findings by severity:{' '}
              {SEVERITIES.map((sev) => (
                <span>
                  <Badge value={sev} /> {s.summary!.findings!.bySeverity[sev] ?? 0}{' '}
                </span>
              ))}{' '}
              <a href={href('findings', { connection_id: s.connection_id })}>open the findings</a>
            </p>
          )}
          <h2>Services</h2>
          <Table
            rows={Object.entries(s.progress?.services ?? {})}
            rowKey={([k]) => k}
            empty="No service read yet."
            columns={[
              { label: 'Service', render: ([k]) => k },
              {
                label: 'Regions read',
                render: ([, v]) => `${v.regions_done.length} / ${v.regions_total}`,
              },
              {
                label: 'Failed',
                render: ([, v]) => (v.failed.length ? v.failed.join(', ') : '—'),
              },
            ]}
          />
          {(s.errors?.length ?? 0) > 0 && (
            <>
              <h2>What could not be read</h2>
              <Table
                rows={s.errors!}
                rowKey={(e) => e.unit + e.code}
                columns={[
                  { label: 'Service', render: (e) => e.service },
                  { label: 'Region', render: (e) => e.region },
                  { label: 'Error', render: (e) => <Mono>{e.code}</Mono> },
                  { label: 'Message', render: (e) => e.message },
                ]}
              />
            </>
          )}
        </Page>
      )}
    </Async>
  );
}
