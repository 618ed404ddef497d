// The audit trail: every state change (audit events) and every authenticated call (session events),
// chain verification on demand, retention and the legal hold, and the export.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import type { Route } from '../router';
import { navigate } from '../router';
import { can, useSession } from '../session';
import type { AuditEvent, SessionEvent } from '../types';
import {
  Async,
  Badge,
  Button,
  Dl,
  ErrorBox,
  Form,
  Json,
  Mono,
  NeedsGrant,
  Notice,
  Page,
  ReasonField,
  short,
  Table,
  Tabs,
  Time,
  useAsync,
} from '../ui';
import { Person } from '../people';

interface VerifyResult {
  intact: boolean;
  problems: Array<{
    table: string;
    record_id: string | null;
    position: number | null;
    problem: string;
  }>;
  counts: Record<string, number> | null;
}

function AuditEvents(props: { route: Route }): JSX.Element {
  const type = props.route.query.get('event_type') ?? '';
  const target = props.route.query.get('target_id') ?? '';
  const [pages, setPages] = useState<string[]>([]);
  const before = pages[pages.length - 1];
  const state = useAsync(
    () =>
      api.get<AuditEvent[]>('/api/v1/audit/events', {
        limit: 50,
        event_type: type || undefined,
        target_id: target || undefined,
        before,
      }),
    [type, target, before],
  );
  const [open, setOpen] = useState<string>();
  return (
    <>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.target as HTMLFormElement);
          setPages([]);
          navigate('audit', {
            tab: 'events',
            event_type: String(f.get('event_type') ?? '') || undefined,
            target_id: String(f.get('target_id') ?? '') || undefined,
          });
        }}
      >
        <input name="event_type" placeholder="event type, e.g. grant.created" value={type} />
        <input name="target_id" placeholder="target id (uuid)" value={target} />
        <button type="submit" class="plain">
          Filter
        </button>
      </form>
      <Async state={state} what="audit events">
        {(rows) => (
          <>
            <Table
              testId="audit-events"
              rows={rows}
              rowKey={(r) => r.id}
              empty="No audit events match."
              onRow={(r) => setOpen(open === r.id ? undefined : r.id)}
              columns={[
                { label: 'When', render: (r) => <Time at={r.occurred_at} /> },
                { label: 'Event', render: (r) => <Mono>{r.event_type}</Mono> },
                { label: 'Actor', render: (r) => <Person id={r.actor_id} /> },
                {
                  label: 'Target',
                  render: (r) => (r.target_table ? `${r.target_table} ${short(r.target_id)}` : '—'),
                },
                { label: 'Reason', render: (r) => r.reason ?? '' },
                {
                  label: 'State',
                  render: (r) =>
                    r.has_state ? (
                      <span title="before/after state, sealed to the organization key">sealed</span>
                    ) : (
                      ''
                    ),
                },
              ]}
            />
            {open && <Json value={rows.find((r) => r.id === open)} />}
            <div class="pager">
              <button
                type="button"
                class="plain"
                disabled={pages.length === 0}
                onClick={() => setPages(pages.slice(0, -1))}
              >
                Newer
              </button>
              <button
                type="button"
                class="plain"
                disabled={rows.length < 50}
                onClick={() => setPages([...pages, rows[rows.length - 1]!.cursor])}
              >
                Older
              </button>
            </div>
          </>
        )}
      </Async>
    </>
  );
}

function SessionEvents(props: { route: Route }): JSX.Element {
  const outcome = props.route.query.get('outcome') ?? '';
  const principal = props.route.query.get('principal_id') ?? '';
  const [pages, setPages] = useState<string[]>([]);
  const before = pages[pages.length - 1];
  const state = useAsync(
    () =>
      api.get<SessionEvent[]>('/api/v1/audit/session-events', {
        limit: 50,
        outcome: outcome || undefined,
        principal_id: principal || undefined,
        before,
      }),
    [outcome, principal, before],
  );
  return (
    <>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.target as HTMLFormElement);
          setPages([]);
          navigate('audit', {
            tab: 'sessions',
            outcome: String(f.get('outcome') ?? '') || undefined,
            principal_id: String(f.get('principal_id') ?? '') || undefined,
          });
        }}
      >
        <select name="outcome" value={outcome}>
          <option value="">any outcome</option>
          <option value="ok">ok</option>
          <option value="denied">denied</option>
          <option value="error">error</option>
        </select>
        <input name="principal_id" placeholder="principal id (uuid)" value={principal} />
        <button type="submit" class="plain">
          Filter
        </button>
      </form>
      <Async state={state} what="session events">
        {(rows) => (
          <>
            <Table
              testId="session-events"
              rows={rows}
              rowKey={(r) => r.id}
              empty="No session events match."
              columns={[
                { label: 'When', render: (r) => <Time at={r.occurred_at} /> },
                { label: 'Operation', render: (r) => <Mono>{r.operation}</Mono> },
                { label: 'Outcome', render: (r) => <Badge value={r.outcome} /> },
                { label: 'Principal', render: (r) => <Person id={r.principal_id} /> },
                {
                  label: 'Target',
                  render: (r) => (r.target_type ? `${r.target_type} ${short(r.target_id)}` : '—'),
                },
                { label: 'Error', render: (r) => r.error_code ?? '' },
                { label: 'From', render: (r) => r.client_ip ?? '' },
              ]}
            />
            <div class="pager">
              <button
                type="button"
                class="plain"
                disabled={pages.length === 0}
                onClick={() => setPages(pages.slice(0, -1))}
              >
                Newer
              </button>
              <button
                type="button"
                class="plain"
                disabled={rows.length < 50}
                onClick={() => setPages([...pages, rows[rows.length - 1]!.cursor])}
              >
                Older
              </button>
            </div>
          </>
        )}
      </Async>
    </>
  );
}

export function VerifyPanel(): JSX.Element {
  const [result, setResult] = useState<VerifyResult>();
  const [error, setError] = useState<string>();
  return (
    <div class="panel">
      <p>
        Recompute every hash of this organization's chains — audit events, session events,
        signatures and every version of every controlled record — in the database, now. The check is
        itself recorded.
      </p>
      <Button
        kind="primary"
        testId="verify-chains"
        onClick={async () => {
          setError(undefined);
          try {
            setResult(await api.post<VerifyResult>('/api/v1/audit/verify'));
          } catch (e) {
            setError(String((e as Error).message));
          }
        }}
      >
        Verify chains now
      </Button>
      <ErrorBox error={error} />
      {result && (
        <div data-testid="verify-result">
          {result.intact ? (
            <Notice kind="ok">
              <strong>Intact.</strong> Every hash and link checked out.
            </Notice>
          ) : (
            <ErrorBox
              title="Broken"
              error={`first problem: ${result.problems[0]?.problem ?? '?'} in ${result.problems[0]?.table ?? '?'} at record ${result.problems[0]?.record_id ?? '?'}`}
            />
          )}
          <Table
            rows={Object.entries(result.counts ?? {})}
            rowKey={([t]) => t}
            columns={[
              { label: 'Chain', render: ([t]) => <Mono>{t}</Mono> },
              { label: 'Records checked', render: ([, n]) => n.toLocaleString() },
            ]}
          />
          {!result.intact && <Json value={result.problems} />}
        </div>
      )}
    </div>
  );
}

interface Retention {
  plan_tier: string;
  retention_days: number | null;
  legal_hold: boolean;
  archived_before: string | null;
}

/**
 * How long the trail stays viewable for the plan, what is archived, and the legal hold: placed or
 * lifted with a reason by someone holding audit:review organization-wide (the database decides).
 */
export function RetentionPanel(): JSX.Element {
  const state = useAsync(() => api.get<Retention>('/api/v1/audit/retention'), []);
  const [reason, setReason] = useState('');
  return (
    <Async state={state} what="retention">
      {(r) => (
        <div class="panel" data-testid="retention">
          <Dl
            items={[
              ['Plan', r.plan_tier],
              [
                'Viewable history',
                r.retention_days === null ? 'the whole trail' : `${r.retention_days} days`,
              ],
              [
                'Archived',
                r.archived_before ? (
                  <>
                    entries before <Time at={r.archived_before} /> (still in every export and
                    verification)
                  </>
                ) : (
                  'nothing'
                ),
              ],
              [
                'Legal hold',
                <span data-testid="legal-hold">
                  <Badge
                    value={r.legal_hold ? 'set' : 'none'}
                    tone={r.legal_hold ? 'amber' : 'grey'}
                  />
                  {r.legal_hold ? ' nothing is archived while it is set' : ''}
                </span>,
              ],
            ]}
          />
          <Form
            testId="legal-hold-form"
            submit={r.legal_hold ? 'Lift the legal hold' : 'Place a legal hold'}
            danger={r.legal_hold}
            onSubmit={async () => {
              await api.put('/api/v1/audit/legal-hold', { hold: !r.legal_hold, reason });
              setReason('');
              await state.reload();
            }}
          >
            <ReasonField
              value={reason}
              onChange={setReason}
              name="legal-hold-reason"
              hint="Kept in the audit trail with the change."
            />
          </Form>
        </div>
      )}
    </Async>
  );
}

export function AuditPage(props: { route: Route }): JSX.Element {
  const tab = props.route.query.get('tab') ?? 'events';
  const { session } = useSession();
  // Every part of this page needs audit:read organization-wide: without it, say so rather than ask
  // (each refusal would be an authz.denied event in the trail itself).
  if (!can(session, 'read', 'audit', null))
    return (
      <Page title="Audit" subtitle="Append-only and hash-chained per organization.">
        <NeedsGrant testId="audit-not-readable">
          The audit trail needs audit:read organization-wide; an administrator can grant it.
        </NeedsGrant>
      </Page>
    );
  return (
    <Page
      title="Audit"
      subtitle="Append-only and hash-chained per organization. Nothing here can be edited or deleted, by anyone."
      actions={
        <a
          class="button plain"
          href="/api/v1/audit/export?stream=manifest"
          download="axiom-audit-manifest.json"
        >
          Export
        </a>
      }
    >
      <Tabs
        tabs={[
          { id: 'events', label: 'Audit events' },
          { id: 'sessions', label: 'Session events' },
          { id: 'verify', label: 'Chain verification' },
          { id: 'retention', label: 'Retention' },
        ]}
        active={tab}
        onChange={(id) => navigate('audit', { tab: id })}
      />
      {tab === 'events' && <AuditEvents route={props.route} />}
      {tab === 'sessions' && <SessionEvents route={props.route} />}
      {tab === 'verify' && <VerifyPanel />}
      {tab === 'retention' && <RetentionPanel />}
    </Page>
  );
}
