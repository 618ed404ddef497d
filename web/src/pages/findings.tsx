// Findings: what the checks found, filtered and sorted, with the evidence that triggered each one, its
// compliance references and remediation, and triage (acknowledge; suppress with a reason and expiry).
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { PlanFixButton } from './plans';
import type { Route } from '../router';
import { navigate } from '../router';
import {
  Async,
  Badge,
  Button,
  Dl,
  Field,
  Form,
  Json,
  Mono,
  Notice,
  Page,
  ReasonField,
  Table,
  Time,
  useAsync,
} from '../ui';

export interface Finding {
  id: string;
  facility_id: string;
  connection_id: string;
  check_id: string;
  resource_arn: string;
  resource_type: string;
  resource_id: string;
  region: string;
  domain: 'security' | 'cost' | 'drift';
  severity: string;
  status: 'open' | 'acknowledged' | 'suppressed' | 'resolved';
  suppressed_until: string | null;
  suppression_reason: string | null;
  first_seen_at: string;
  last_seen_at: string;
  resolved_at: string | null;
  evidence: Record<string, unknown>;
  estimated_monthly_saving_usd: number | null;
  version: number;
}

export interface Check {
  id: string;
  title: string;
  domain: string;
  severity: string;
  rationale: string;
  compliance: { cisAwsFoundationsV3: string[]; awsFsbp: string[] };
  remediation: {
    action: string;
    reversibility: string | null;
    riskTier: string | null;
    manualReviewRequired: boolean;
    summary: string;
  };
}

export interface FindingCounts {
  total: number;
  active: number;
  by_status: Record<string, number>;
  by_severity: Record<string, number>;
  by_domain: Record<string, number>;
  estimated_monthly_savings_usd: number;
}

export const usd = (n: number | null | undefined): string =>
  n === null || n === undefined
    ? '—'
    : `$${n.toLocaleString(undefined, { maximumFractionDigits: 0 })}`;

const FILTERS = [
  'facility_id',
  'connection_id',
  'domain',
  'severity',
  'status',
  'check_id',
  'resource',
  'sort',
] as const;

function FindingDetail(props: { id: string }): JSX.Element {
  const state = useAsync(
    () =>
      api.get<
        Finding & {
          check: Check | null;
          versions: Array<{
            version: number;
            record_hash: string;
            created_at: string;
            change_reason: string | null;
            content: { status?: string; event?: string };
          }>;
        }
      >(`/api/v1/findings/${props.id}`),
    [props.id],
  );
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState('');
  return (
    <Async state={state} what="the finding">
      {(f) => (
        <div class="detail" data-testid="finding">
          <h2>{f.check?.title ?? f.check_id}</h2>
          <Dl
            items={[
              ['Status', <Badge value={f.status} />],
              ['Severity', <Badge value={f.severity} />],
              [
                'Resource',
                <>
                  <Mono>{f.resource_id}</Mono> ({f.resource_type}, {f.region})
                </>,
              ],
              ['ARN', <Mono>{f.resource_arn}</Mono>],
              ['First seen', <Time at={f.first_seen_at} />],
              ['Last seen', <Time at={f.last_seen_at} />],
              ...(f.estimated_monthly_saving_usd
                ? ([
                    ['Estimated saving', `${usd(f.estimated_monthly_saving_usd)} / month`],
                  ] as Array<[string, JSX.Element | string]>)
                : []),
              ...(f.status === 'suppressed'
                ? ([
                    [
                      'Suppressed until',
                      <>
                        <Time at={f.suppressed_until} /> — {f.suppression_reason}
                      </>,
                    ],
                  ] as Array<[string, JSX.Element | string]>)
                : []),
            ]}
          />
          {f.check && (
            <>
              <h3>Why it matters</h3>
              <p>{f.check.rationale}</p>
              <h3>Compliance</h3>
              <p>
                {f.check.compliance.cisAwsFoundationsV3.map((c) => (
                  <span class="badge blue">CIS {c}</span>
                ))}{' '}
                {f.check.compliance.awsFsbp.map((c) => (
                  <span class="badge grey">FSBP {c}</span>
                ))}
                {f.check.compliance.cisAwsFoundationsV3.length +
                  f.check.compliance.awsFsbp.length ===
                  0 && <span class="muted">none mapped</span>}
              </p>
              <h3>Remediation</h3>
              <p>
                {f.check.remediation.summary}{' '}
                {f.check.remediation.manualReviewRequired ? (
                  <Badge value="manual" tone="grey" />
                ) : (
                  <>
                    <Mono>{f.check.remediation.action}</Mono> ·{' '}
                    {f.check.remediation.reversibility?.replace(/_/g, ' ')} · risk{' '}
                    {f.check.remediation.riskTier}
                  </>
                )}
              </p>
            </>
          )}
          <h3>Evidence</h3>
          <Json value={f.evidence} />
          <div class="actions">
            {(f.status === 'open' || f.status === 'acknowledged') && (
              <PlanFixButton findingId={f.id} />
            )}
            {f.status === 'open' && (
              <Button
                testId="acknowledge"
                onClick={async () => {
                  await api.post(`/api/v1/findings/${f.id}/acknowledge`, {});
                  await state.reload();
                }}
              >
                Acknowledge
              </Button>
            )}
            {f.status === 'suppressed' && (
              <Button
                onClick={async () => {
                  await api.post(`/api/v1/findings/${f.id}/unsuppress`, {
                    reason: 'suppression ended by hand',
                  });
                  await state.reload();
                }}
              >
                End suppression
              </Button>
            )}
          </div>
          {(f.status === 'open' || f.status === 'acknowledged') && (
            <div class="panel">
              <h3>Suppress</h3>
              <Form
                submit="Suppress"
                testId="suppress"
                onSubmit={async () => {
                  await api.post(`/api/v1/findings/${f.id}/suppress`, {
                    reason,
                    until: new Date(until).toISOString(),
                  });
                  await state.reload();
                }}
              >
                <ReasonField
                  value={reason}
                  onChange={setReason}
                  hint="Why this finding is accepted for now (needs author in its domain)."
                />
                <Field label="Until" hint="It reopens by itself when the suppression expires.">
                  <input
                    type="date"
                    required
                    value={until}
                    onInput={(e) => setUntil((e.target as HTMLInputElement).value)}
                  />
                </Field>
              </Form>
            </div>
          )}
          <h3>History</h3>
          <p class="muted">Every state is a version, hash-chained to the one before.</p>
          <ol class="timeline" data-testid="finding-history">
            {f.versions.map((v) => (
              <li
                class={
                  v.content.status === 'resolved'
                    ? 'ok'
                    : v.content.status === 'open'
                      ? 'failed'
                      : ''
                }
              >
                <strong>v{v.version}</strong> {v.content.event ?? ''} →{' '}
                <Badge value={v.content.status ?? '?'} /> <Time at={v.created_at} />{' '}
                {v.change_reason && <span class="muted">— {v.change_reason}</span>}{' '}
                <Mono title={v.record_hash}>{v.record_hash.slice(0, 10)}</Mono>
              </li>
            ))}
          </ol>
        </div>
      )}
    </Async>
  );
}

/** The check catalog's titles by check id (GET /api/v1/checks, public and static: read once). */
let checkTitles: Promise<Map<string, string>> | undefined;
function titles(): Promise<Map<string, string>> {
  checkTitles ??= api.get<{ checks: Check[] }>('/api/v1/checks').then(
    (r) => new Map(r.checks.map((c) => [c.id, c.title])),
    () => {
      checkTitles = undefined;
      return new Map<string, string>();
    },
  );
  return checkTitles;
}

function FindingList(props: { route: Route }): JSX.Element {
  const q = Object.fromEntries(
    FILTERS.map((k) => [k, props.route.query.get(k) ?? undefined]),
  ) as Record<(typeof FILTERS)[number], string | undefined>;
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const key = JSON.stringify(q);
  const state = useAsync(
    () =>
      api.get<{ items: Finding[]; next_cursor: string | null }>('/api/v1/findings', {
        ...q,
        status: q.status ?? 'active',
        cursor,
        limit: 50,
      }),
    [key, cursor],
  );
  const named = useAsync(titles, []);
  const counts = useAsync(
    () =>
      api.get<FindingCounts>('/api/v1/findings/counts', {
        facility_id: q.facility_id,
        connection_id: q.connection_id,
      }),
    [q.facility_id, q.connection_id],
  );
  const set = (k: string, v: string): void => {
    setCursors([]);
    navigate('findings', { ...q, [k]: v || undefined });
  };
  return (
    <>
      <Async state={counts} what="counts">
        {(c) => (
          <div class="cards">
            <div class="card">
              <h3>Active</h3>
              <p class="big" data-testid="active-count">
                {c.active}
              </p>
            </div>
            {(['critical', 'high', 'medium', 'low'] as const).map((sv) => (
              <div class="card clickable" onClick={() => set('severity', sv)}>
                <h3>
                  <Badge value={sv} />
                </h3>
                <p class="big">{c.by_severity[sv] ?? 0}</p>
              </div>
            ))}
            <div class="card">
              <h3>Estimated savings</h3>
              <p class="big">{usd(c.estimated_monthly_savings_usd)}</p>
              <span class="muted">per month, from the price table</span>
            </div>
          </div>
        )}
      </Async>
      <div class="filters">
        <select
          aria-label="Status"
          value={q.status ?? 'active'}
          onChange={(e) => set('status', (e.target as HTMLSelectElement).value)}
        >
          {['active', 'open', 'acknowledged', 'suppressed', 'resolved'].map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
        <select
          aria-label="Domain"
          value={q.domain ?? ''}
          onChange={(e) => set('domain', (e.target as HTMLSelectElement).value)}
        >
          <option value="">every domain</option>
          {['security', 'cost', 'drift'].map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
        <select
          aria-label="Severity"
          value={q.severity ?? ''}
          onChange={(e) => set('severity', (e.target as HTMLSelectElement).value)}
        >
          <option value="">every severity</option>
          {['critical', 'high', 'medium', 'low', 'informational'].map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
        <select
          aria-label="Sort"
          value={q.sort ?? 'severity'}
          onChange={(e) => set('sort', (e.target as HTMLSelectElement).value)}
        >
          <option value="severity">by severity</option>
          <option value="last_seen">last seen</option>
          <option value="first_seen">first seen</option>
          <option value="saving">by saving</option>
        </select>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            set(
              'resource',
              String(new FormData(e.target as HTMLFormElement).get('resource') ?? ''),
            );
          }}
        >
          <input name="resource" placeholder="resource id or name" value={q.resource ?? ''} />
        </form>
        {q.check_id && (
          <span class="badge blue" onClick={() => set('check_id', '')}>
            check {q.check_id} ×
          </span>
        )}
      </div>
      <Async state={state} what="findings">
        {(d) => (
          <>
            <Table
              testId="findings"
              rows={d.items}
              rowKey={(f) => f.id}
              onRow={(f) => navigate(`findings/${f.id}`)}
              empty="No findings match. Run a scan, or widen the filters."
              columns={[
                { label: 'Severity', render: (f) => <Badge value={f.severity} /> },
                {
                  label: 'Check',
                  render: (f) => (
                    <>
                      <span data-testid="check-title">{named.data?.get(f.check_id) ?? ''}</span>
                      <br />
                      <a
                        class="small"
                        href={`#/findings?check_id=${f.check_id}`}
                        title="only this check"
                        onClick={(e) => e.stopPropagation()}
                      >
                        {f.check_id}
                      </a>
                    </>
                  ),
                },
                { label: 'Resource', render: (f) => <Mono>{f.resource_id}</Mono> },
                { label: 'Region', render: (f) => <span class="nowrap">{f.region}</span> },
                { label: 'Status', render: (f) => <Badge value={f.status} /> },
                { label: 'Saving / month', render: (f) => usd(f.estimated_monthly_saving_usd) },
                { label: 'Last seen', render: (f) => <Time at={f.last_seen_at} /> },
              ]}
            />
            <div class="pager">
              <button
                type="button"
                class="plain"
                disabled={cursors.length === 0}
                onClick={() => setCursors(cursors.slice(0, -1))}
              >
                Previous
              </button>
              <button
                type="button"
                class="plain"
                disabled={!d.next_cursor}
                onClick={() => setCursors([...cursors, d.next_cursor!])}
              >
                Next
              </button>
            </div>
          </>
        )}
      </Async>
    </>
  );
}

export function FindingsPage(props: { route: Route }): JSX.Element {
  const id = props.route.path[1];
  return (
    <Page
      title="Findings"
      subtitle="What the checks found in the last scans, with the evidence. Resolved by a complete scan that no longer sees it."
    >
      {id ? (
        <>
          <a href="#/findings">← All findings</a>
          <FindingDetail id={id} />
        </>
      ) : (
        <>
          <Notice>
            Counts and savings cover the active findings (open or acknowledged) you may read.
          </Notice>
          <FindingList route={props.route} />
        </>
      )}
    </Page>
  );
}
