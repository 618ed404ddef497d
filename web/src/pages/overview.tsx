// The first page after sign-in: what needs a decision, and what changed.
import type { JSX } from 'preact';
import { api } from '../api';
import { navigate } from '../router';
import { useSession } from '../session';
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
  const events = useAsync(
    () =>
      api.get<AuditEvent[]>('/api/v1/audit/events', { limit: 10 }).catch(() => [] as AuditEvent[]),
    [],
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
        {(rows) => (
          <Table
            rows={rows}
            rowKey={(r) => r.id}
            empty="No activity you can see (audit:read shows the whole trail)."
            onRow={() => navigate('audit')}
            columns={[
              { label: 'When', render: (r) => <Time at={r.occurred_at} /> },
              { label: 'Event', render: (r) => <Mono>{r.event_type}</Mono> },
              { label: 'Reason', render: (r) => r.reason ?? '' },
            ]}
          />
        )}
      </Async>
    </Page>
  );
}
