// The first page after sign-in: what needs a decision, and what changed.
import type { JSX } from 'preact';
import { api } from '../api';
import { Person } from '../people';
import { navigate } from '../router';
import { can, useSession } from '../session';
import type { AuditEvent, ChangeRequest, Facility } from '../types';
import { Async, Badge, Mono, Page, Table, Time, useAsync } from '../ui';

export function OverviewPage(): JSX.Element {
  const { session } = useSession();
  const facilities = useAsync(() => api.get<{ facilities: Facility[] }>('/api/v1/facilities'), []);
  const waiting = useAsync(
    () =>
      api.get<{ change_requests: ChangeRequest[] }>('/api/v1/change-requests', {
        state: 'in_review',
      }),
    [],
  );
  // What a newcomer looks for first: plans waiting for a signature and the active findings (each only
  // if the person may read them; otherwise the card says so).
  const plans = useAsync(
    () => api.get<Array<{ id: string }>>('/api/v1/plans', { state: 'in_review' }).catch(() => null),
    [],
  );
  const findings = useAsync(
    () =>
      api
        .get<{ active: number; by_severity: Record<string, number> }>('/api/v1/findings/counts')
        .catch(() => null),
    [],
  );
  // The trail is asked for only by those who may read it (audit:read organization-wide): a refused
  // call is an authz.denied event, and every sign-in lands here.
  const mayReadAudit = can(session, 'read', 'audit', null);
  const events = useAsync(
    async () =>
      mayReadAudit
        ? await api
            .get<AuditEvent[]>('/api/v1/audit/events', { limit: 10 })
            .catch(() => [] as AuditEvent[])
        : null,
    [mayReadAudit],
  );
  return (
    <Page
      title="Overview"
      subtitle={`${session.organization.name} — what needs a decision, and what changed.`}
    >
      <div class="cards">
        <div class="card">
          <h3>Facilities</h3>
          <Async state={facilities} what="facilities">
            {(d) => (
              <ul class="plain-list">
                {d.facilities.map((f) => (
                  <li>
                    {f.name} <Badge value={f.environment_tier} />
                  </li>
                ))}
              </ul>
            )}
          </Async>
        </div>
        <div class="card">
          <h3>Plans to sign</h3>
          <Async state={plans} what="plans">
            {(d) =>
              d === null ? (
                <span class="muted">You cannot read plans here.</span>
              ) : (
                <>
                  <p class="big" data-testid="plans-waiting">
                    {d.length}
                  </p>
                  <a href="#/plans?state=in_review">plans waiting for approval</a>
                </>
              )
            }
          </Async>
        </div>
        <div class="card">
          <h3>Active findings</h3>
          <Async state={findings} what="findings">
            {(d) =>
              d === null ? (
                <span class="muted">You cannot read findings here.</span>
              ) : (
                <>
                  <p class="big" data-testid="findings-active">
                    {d.active}
                  </p>
                  <a href="#/findings">
                    {d.by_severity.critical ?? 0} critical, {d.by_severity.high ?? 0} high
                  </a>
                </>
              )
            }
          </Async>
        </div>
        <div class="card">
          <h3>Waiting for review</h3>
          <Async state={waiting} what="change requests">
            {(d) => (
              <>
                <p class="big">{d.change_requests.length}</p>
                <a href="#/changes?state=in_review">change requests in review</a>
              </>
            )}
          </Async>
        </div>
      </div>
      <h2>Recent activity</h2>
      <Async state={events} what="activity">
        {(rows) =>
          rows === null ? (
            <p class="muted" data-testid="activity-not-readable">
              The audit trail needs audit:read organization-wide.
            </p>
          ) : (
            <Table
              rows={rows}
              rowKey={(r) => r.id}
              empty="No activity yet."
              testId="recent-activity"
              onRow={() => navigate('audit')}
              columns={[
                { label: 'When', render: (r) => <Time at={r.occurred_at} /> },
                { label: 'Event', render: (r) => <Mono>{r.event_type}</Mono> },
                { label: 'Who', render: (r) => <Person id={r.actor_id} /> },
                { label: 'Reason', render: (r) => r.reason ?? '' },
              ]}
            />
          )
        }
      </Async>
    </Page>
  );
}
