// Change management: controlled records (policies, check configurations, facility configuration,
// signing policies, ...) change only through a change request that is authored, reviewed, and approved
// or rejected with an e-signature by someone other than the author.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import type { Route } from '../router';
import { navigate } from '../router';
import { can, useSession } from '../session';
import { contentChanges } from '../../../src/records/content-changes.js';
import { SignDialog } from '../sign';
import type { ChangeRequest, Facility, RecordVersion } from '../types';
import {
  Async,
  Badge,
  Button,
  Dl,
  Field,
  Form,
  Json,
  Mono,
  NeedsGrant,
  Page,
  Table,
  Tabs,
  Time,
  short,
  useAsync,
} from '../ui';
import { Person } from '../people';

export const RECORD_KINDS = [
  'policy',
  'check_configuration',
  'facility_configuration',
  'signing_policy',
] as const;

interface SignatureVerification {
  valid: boolean;
  signature_hash_valid: boolean;
  record_unchanged: boolean;
}

/**
 * A signature's id and, on request, whether it still verifies: the server recomputes the signature's
 * hash and the signed record's (audit:read organization-wide, or read in the record's domain).
 */
function SignatureCheck(props: { id: string }): JSX.Element {
  const [result, setResult] = useState<SignatureVerification>();
  return (
    <span data-testid="signature">
      <Mono title={props.id}>{short(props.id)}</Mono>{' '}
      {result ? (
        <span data-testid="signature-verification">
          <Badge value={result.valid ? 'verified' : 'broken'} />{' '}
          {!result.signature_hash_valid
            ? 'the signature no longer hashes to what was recorded'
            : !result.record_unchanged
              ? 'the signed record has changed since it was signed'
              : 'signature and signed record unchanged'}
        </span>
      ) : (
        <Button
          testId="verify-signature"
          onClick={async () =>
            setResult(await api.get<SignatureVerification>(`/api/v1/signatures/${props.id}/verify`))
          }
        >
          Verify
        </Button>
      )}
    </span>
  );
}

/**
 * Before anyone signs a new version of a record: what it changes against the effective version, key
 * by key. Read only with read in the record's domain (what a reviewer holds), and only while the
 * change request is open (once approved, the proposed version is the effective one).
 */
function WhatChanges(props: { cr: ChangeRequest }): JSX.Element | null {
  const { cr } = props;
  const { session } = useSession();
  const proposed = cr.proposed_record;
  const open = cr.state === 'draft' || cr.state === 'in_review';
  // A plan's new version is read on the plan's page (steps, blast radius, previews), not here.
  const ask =
    open &&
    cr.target_kind !== 'plan' &&
    proposed !== undefined &&
    proposed.version > 1 &&
    can(session, 'read', cr.domain, cr.facility_id);
  const current = useAsync(
    async () =>
      ask
        ? (
            await api.get<{ effective: RecordVersion | null }>(
              `/api/v1/records/${encodeURIComponent(cr.target_kind)}/${cr.target_item_id}`,
            )
          ).effective
        : null,
    [cr.id, ask],
  );
  const before = current.data;
  if (!ask || !proposed || !before || before.record_id === proposed.record_id) return null;
  const changes = contentChanges(before.content, proposed.content);
  const show = (v: unknown) => (v === undefined ? '—' : <Mono>{JSON.stringify(v)}</Mono>);
  return (
    <div data-testid="what-changes">
      <h3>
        What changes (version {before.version} → {proposed.version})
      </h3>
      <Table
        rows={changes}
        rowKey={(c) => c.key}
        empty="Nothing in the content changes: the new version says what the effective one says."
        columns={[
          { label: 'Setting', render: (c) => <Mono>{c.key}</Mono> },
          { label: 'Now', render: (c) => show(c.before) },
          { label: 'Proposed', render: (c) => show(c.after) },
          { label: '', render: (c) => <Badge value={c.kind} /> },
        ]}
      />
    </div>
  );
}

function ChangeRequestDetail(props: { id: string }): JSX.Element {
  const { session } = useSession();
  const state = useAsync(
    () => api.get<ChangeRequest>(`/api/v1/change-requests/${props.id}`),
    [props.id],
  );
  const [signing, setSigning] = useState<'approved' | 'rejected'>();
  const [comment, setComment] = useState('');
  return (
    <Async state={state} what="the change request">
      {(cr) => {
        const mine = cr.author_id === session.principal.id;
        return (
          <div class="detail" data-testid="change-request">
            <h2>{cr.title}</h2>
            <Dl
              items={[
                ['State', <Badge value={cr.state} />],
                [
                  'Record',
                  <>
                    {cr.target_kind} <Mono>{short(cr.target_item_id)}</Mono>
                  </>,
                ],
                [
                  'Proposed version hash',
                  <Mono title={cr.proposed_record_hash}>
                    {cr.proposed_record_hash.slice(0, 16)}…
                  </Mono>,
                ],
                ['Reason', cr.reason],
                ['Author', mine ? 'you' : <Person id={cr.author_id} />],
                ['Approvals required', String(cr.required_approvals)],
                ['Created', <Time at={cr.created_at} />],
              ]}
            />
            <WhatChanges cr={cr} />
            <h3>Proposed content</h3>
            <Json value={cr.proposed_record?.content ?? cr.proposed_record ?? '(see the record)'} />
            <h3>Decisions</h3>
            <Table
              rows={cr.decisions}
              rowKey={(d) => `${d.principal_id}${d.created_at}`}
              empty="No decisions yet."
              columns={[
                { label: 'Who', render: (d) => <Person id={d.principal_id} /> },
                { label: 'Decision', render: (d) => <Badge value={d.decision} /> },
                {
                  label: 'Signature',
                  render: (d) => (d.signature_id ? <SignatureCheck id={d.signature_id} /> : '—'),
                },
                { label: 'Comment', render: (d) => d.comment ?? '' },
                { label: 'When', render: (d) => <Time at={d.created_at} /> },
              ]}
            />
            <div class="actions">
              {cr.state === 'draft' && mine && (
                <Button
                  kind="primary"
                  onClick={async () => {
                    await api.post(`/api/v1/change-requests/${cr.id}/submit`);
                    await state.reload();
                  }}
                >
                  Submit for review
                </Button>
              )}
              {cr.state === 'in_review' && !mine && (
                <>
                  <input
                    class="inline"
                    placeholder="comment or reason"
                    value={comment}
                    onInput={(e) => setComment((e.target as HTMLInputElement).value)}
                  />
                  <Button
                    onClick={async () => {
                      await api.post(`/api/v1/change-requests/${cr.id}/review`, {
                        record_hash: cr.proposed_record_hash,
                        comment: comment || 'reviewed',
                      });
                      await state.reload();
                    }}
                  >
                    Record review
                  </Button>
                  <Button kind="primary" testId="approve" onClick={() => setSigning('approved')}>
                    Approve…
                  </Button>
                  <Button
                    kind="danger"
                    testId="reject"
                    disabled={!comment}
                    onClick={() => setSigning('rejected')}
                  >
                    Reject…
                  </Button>
                </>
              )}
              {(cr.state === 'draft' || cr.state === 'in_review') && mine && (
                <Button
                  kind="danger"
                  onClick={async () => {
                    await api.post(`/api/v1/change-requests/${cr.id}/withdraw`, {
                      reason: 'withdrawn by the author',
                    });
                    await state.reload();
                  }}
                >
                  Withdraw
                </Button>
              )}
              {cr.state === 'in_review' && mine && (
                <span class="muted">
                  You wrote this change; someone else must approve or reject it.
                </span>
              )}
            </div>
            {signing && (
              <SignDialog
                target={{ type: 'change_request', id: cr.id }}
                meaning={signing}
                description={`${signing === 'approved' ? 'Approve' : 'Reject'} “${cr.title}”.`}
                returnTo={`changes/${cr.id}`}
                complete={(ch) =>
                  signing === 'approved'
                    ? {
                        method: 'POST',
                        url: `/api/v1/change-requests/${cr.id}/approve`,
                        body: {
                          record_hash: cr.proposed_record_hash,
                          challenge_id: ch.id,
                          ...(comment ? { comment } : {}),
                        },
                      }
                    : {
                        method: 'POST',
                        url: `/api/v1/change-requests/${cr.id}/reject`,
                        body: {
                          record_hash: cr.proposed_record_hash,
                          challenge_id: ch.id,
                          reason: comment,
                        },
                      }
                }
                onDone={() => {
                  setSigning(undefined);
                  void state.reload();
                }}
                onClose={() => setSigning(undefined)}
              />
            )}
          </div>
        );
      }}
    </Async>
  );
}

function ChangeRequests(props: { route: Route }): JSX.Element {
  const filter = props.route.query.get('state') ?? '';
  const state = useAsync(
    () =>
      api.get<{ change_requests: ChangeRequest[] }>('/api/v1/change-requests', {
        state: filter || undefined,
      }),
    [filter],
  );
  return (
    <>
      <div class="filters">
        <select
          aria-label="State"
          value={filter}
          onChange={(e) =>
            navigate('changes', { state: (e.target as HTMLSelectElement).value || undefined })
          }
        >
          <option value="">every state</option>
          {['draft', 'in_review', 'approved', 'rejected', 'withdrawn'].map((s) => (
            <option value={s}>{s.replace('_', ' ')}</option>
          ))}
        </select>
      </div>
      <Async state={state} what="change requests">
        {(d) => (
          <Table
            testId="change-requests"
            rows={d.change_requests}
            rowKey={(c) => c.id}
            onRow={(c) => navigate(`changes/${c.id}`)}
            empty="No change requests."
            columns={[
              { label: 'Title', render: (c) => c.title },
              { label: 'Record', render: (c) => c.target_kind },
              { label: 'Domain', render: (c) => c.domain },
              { label: 'State', render: (c) => <Badge value={c.state} /> },
              {
                label: 'Approvals',
                render: (c) =>
                  `${c.decisions.filter((x) => x.decision === 'approved').length}/${c.required_approvals}`,
              },
              { label: 'Created', render: (c) => <Time at={c.created_at} /> },
            ]}
          />
        )}
      </Async>
    </>
  );
}

function Records(props: { route: Route }): JSX.Element {
  const kind = props.route.query.get('kind') ?? 'policy';
  const facility = props.route.query.get('facility_id') ?? '';
  const facilities = useAsync(() => api.get<{ facilities: Facility[] }>('/api/v1/facilities'), []);
  // Every kind here is in the configuration domain: read at the chosen facility, or organization-wide
  // for all of them. Without it the page says so rather than asks (a refusal is audited).
  const { session } = useSession();
  const mayRead = can(session, 'read', 'configuration', facility || null);
  const state = useAsync(
    async () =>
      mayRead
        ? await api.get<{ records: RecordVersion[] }>(`/api/v1/records/${kind}`, {
            facility_id: facility || undefined,
          })
        : null,
    [kind, facility, mayRead],
  );
  const [proposing, setProposing] = useState<RecordVersion | 'new'>();
  const [content, setContent] = useState('{}');
  const [title, setTitle] = useState('');
  const [reason, setReason] = useState('');
  const [itemKey, setItemKey] = useState('');
  return (
    <>
      <div class="filters">
        <select
          aria-label="Kind"
          value={kind}
          onChange={(e) =>
            navigate('changes', {
              tab: 'records',
              kind: (e.target as HTMLSelectElement).value,
              facility_id: facility || undefined,
            })
          }
        >
          {RECORD_KINDS.map((k) => (
            <option value={k}>{k.replace(/_/g, ' ')}</option>
          ))}
        </select>
        <select
          aria-label="Facility"
          value={facility}
          onChange={(e) =>
            navigate('changes', {
              tab: 'records',
              kind,
              facility_id: (e.target as HTMLSelectElement).value || undefined,
            })
          }
        >
          <option value="">organization-wide</option>
          {(facilities.data?.facilities ?? []).map((f) => (
            <option value={f.id}>{f.name}</option>
          ))}
        </select>
        <button
          type="button"
          class="plain"
          onClick={() => {
            setProposing('new');
            setContent('{}');
          }}
        >
          Propose a new record…
        </button>
      </div>
      <Async state={state} what="records">
        {(d) =>
          d === null ? (
            <NeedsGrant testId="records-not-readable">
              {facility
                ? 'Records of this facility need configuration:read at it.'
                : 'Records of every facility need configuration:read organization-wide; choose a facility where you hold it.'}
            </NeedsGrant>
          ) : (
            <Table
              testId="records"
              rows={d.records}
              rowKey={(r) => r.record_id}
              empty="No effective records of this kind here."
              columns={[
                { label: 'Item', render: (r) => r.item_key ?? <Mono>{short(r.id)}</Mono> },
                { label: 'Version', render: (r) => `v${r.version}` },
                { label: 'State', render: (r) => <Badge value={r.lifecycle_state} /> },
                {
                  label: 'Hash',
                  render: (r) => <Mono title={r.record_hash}>{r.record_hash.slice(0, 12)}…</Mono>,
                },
                {
                  label: 'Content',
                  render: (r) => (
                    <code class="clip">{JSON.stringify(r.content).slice(0, 120)}</code>
                  ),
                },
                {
                  label: '',
                  render: (r) => (
                    <button
                      type="button"
                      class="plain"
                      onClick={() => {
                        setProposing(r);
                        setContent(JSON.stringify(r.content, null, 2));
                      }}
                    >
                      Propose a change…
                    </button>
                  ),
                },
              ]}
            />
          )
        }
      </Async>
      {proposing && (
        <div class="panel">
          <h3>
            {proposing === 'new'
              ? `New ${kind.replace(/_/g, ' ')}`
              : `Change ${kind.replace(/_/g, ' ')} v${proposing.version}`}
          </h3>
          <Form
            submit="Open change request"
            onSubmit={async () => {
              let parsed: unknown;
              try {
                parsed = JSON.parse(content);
              } catch {
                throw new Error('the content is not valid JSON');
              }
              const r = await api.post<{ id: string }>(`/api/v1/records/${kind}`, {
                facility_id: facility || null,
                item_id: proposing === 'new' ? null : proposing.id,
                item_key: proposing === 'new' ? itemKey || null : null,
                content: parsed,
                title,
                reason,
              });
              setProposing(undefined);
              navigate(`changes/${r.id}`);
            }}
          >
            {proposing === 'new' && (
              <Field label="Key" hint="A short stable name for the record, e.g. required-tags">
                <input
                  value={itemKey}
                  onInput={(e) => setItemKey((e.target as HTMLInputElement).value)}
                />
              </Field>
            )}
            <Field label="Content (JSON)">
              <textarea
                rows={10}
                class="mono"
                value={content}
                onInput={(e) => setContent((e.target as HTMLTextAreaElement).value)}
              />
            </Field>
            <Field label="Title">
              <input
                required
                value={title}
                onInput={(e) => setTitle((e.target as HTMLInputElement).value)}
              />
            </Field>
            <Field label="Reason">
              <input
                required
                value={reason}
                onInput={(e) => setReason((e.target as HTMLInputElement).value)}
              />
            </Field>
          </Form>
        </div>
      )}
    </>
  );
}

export function ChangesPage(props: { route: Route }): JSX.Element {
  const id = props.route.path[1];
  const tab = props.route.query.get('tab') ?? 'requests';
  return (
    <Page
      title="Change management"
      subtitle="Controlled records are never edited in place: every change is a new version, authored, reviewed and signed."
    >
      {id ? (
        <>
          <a href="#/changes">← All change requests</a>
          <ChangeRequestDetail id={id} />
        </>
      ) : (
        <>
          <Tabs
            tabs={[
              { id: 'requests', label: 'Change requests' },
              { id: 'records', label: 'Records' },
            ]}
            active={tab}
            onChange={(t) => navigate('changes', { tab: t })}
          />
          {tab === 'requests' ? (
            <ChangeRequests route={props.route} />
          ) : (
            <Records route={props.route} />
          )}
        </>
      )}
    </Page>
  );
}
