// Plans and executions: what a plan will do (per step the AWS CLI and Terraform previews, the rollback
// plan and the verification checklist), its blast radius and risk tier as the database decided them,
// approvals as e-signatures over the plan's record hash (who has signed, how many still must), dry
// run, start; executions as a timeline per action with before and after, rollback status, and a
// rollback on request (itself a plan to approve); the organization's operational memory.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { href, navigate, type Route } from '../router';
import { can, useSession } from '../session';
import { SignDialog } from '../sign';
import { planFindingRows, recoveryTime, shownStepState, type FindingSummary } from '../steps';
import type { ChangeRequest } from '../types';
import {
  Async,
  Badge,
  Button,
  CopyBlock,
  Dialog,
  Dl,
  Form,
  Json,
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
import { Person } from '../people';

interface StepSummary {
  actionId: string;
  resourceArn: string;
  resourceId: string;
  region: string;
  checkId: string;
  riskTier: string;
  cli: string[];
  terraform:
    { manualReviewRequired: false; hcl: string } | { manualReviewRequired: true; reason: string };
  rollback: {
    reversibility: string;
    dataLossRisk: string;
    downtimeRisk: string;
    expectedRecoveryTime: string;
    strategy: string;
    caveats: string[];
  };
  verification: string[];
}

export interface Plan {
  id: string;
  record_id: string;
  version: number;
  record_hash: string;
  facility_id: string;
  domain: string;
  state: string;
  created_at: string;
  created_by: string;
  change_reason: string;
  risk_tier: 'low' | 'medium' | 'high';
  required_approvals: number;
  content: {
    connection_id: string;
    account_id?: string;
    action_class: string;
    steps: Array<{
      actionId: string;
      resourceArn: string;
      region?: string;
      params: unknown;
      approvedState?: unknown;
    }>;
    finding_ids?: string[];
    blast_radius?: { resources: string[]; class?: string; total?: number };
    rollback_summary?: string[];
    rollback_verified?: boolean;
    /** Set on a rollback plan: the execution whose steps it undoes. */
    rollback_of?: string | null;
    summary?: {
      steps?: StepSummary[];
      blastRadius?: {
        touched: string[];
        dependents: Array<{ arn: string; hops: number; via: string; from: string }>;
      };
      manual?: Array<{ findingId: string; checkId: string; reason: string }>;
    };
  };
  change_request: ChangeRequest;
  approvals: { valid: number; given: number; expiry_hours: number; revoked: unknown[] };
  versions?: Array<{ version: number; state: string; record_hash: string; created_at: string }>;
  executions?: Array<{ id: string; kind: string; status: string; started_at: string | null }>;
}

interface StepProgress {
  index: number;
  actionId: string;
  resourceArn: string;
  state: string;
  preflight?: unknown;
  after?: unknown;
  applied?: unknown;
  rollback?: { status: string; state?: unknown; error?: { message: string } };
  error?: { phase: string; code: string; reason: string; message: string };
}

export interface Execution {
  id: string;
  plan_id: string;
  kind: string;
  status: string;
  action_class: string;
  auto_applied: boolean;
  rollback_of: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress: {
    status?: string;
    steps?: StepProgress[];
    failure?: { stepIndex: number; message: string; phase: string };
  } | null;
  created_by: string;
  plan_record_hash: string;
  plan: {
    account_id?: string | null;
    steps: StepSummary[] | unknown[];
    risk_tier: string;
    rollback_summary?: string[];
  };
  original: { execution_id: string; plan_id: string; status: string } | null;
}

const running = (s: string): boolean => ['queued', 'running', 'rolling_back'].includes(s);

export function PlansPage(props: { route: Route }): JSX.Element {
  const id = props.route.path[1];
  return id ? <PlanDetail id={id} /> : <PlanList route={props.route} />;
}

function PlanList(props: { route: Route }): JSX.Element {
  const state = props.route.query.get('state') ?? '';
  const list = useAsync(
    () => api.get<Plan[]>('/api/v1/plans', { state: state || undefined }),
    [state],
  );
  return (
    <Page
      title="Plans"
      subtitle="Remediation plans: nothing changes in AWS until the required people have signed."
    >
      <div class="filters">
        <select
          aria-label="State"
          value={state}
          onChange={(e) => navigate('plans', { state: (e.target as HTMLSelectElement).value })}
        >
          <option value="">every state</option>
          {['in_review', 'effective', 'rejected', 'retired', 'superseded'].map((s) => (
            <option value={s}>{s.replace('_', ' ')}</option>
          ))}
        </select>
      </div>
      <Async state={list} what="plans">
        {(plans) => (
          <Table
            rows={plans}
            rowKey={(p) => p.id}
            empty="No plan yet: open a finding and plan its fix."
            onRow={(p) => navigate(`plans/${p.id}`)}
            columns={[
              { label: 'Plan', render: (p) => p.change_request?.title ?? short(p.id) },
              { label: 'Class', render: (p) => p.content.action_class },
              { label: 'Steps', render: (p) => p.content.steps.length },
              { label: 'Risk', render: (p) => <Badge value={p.risk_tier} /> },
              { label: 'State', render: (p) => <Badge value={p.state} /> },
              {
                label: 'Approvals',
                render: (p) => `${p.approvals.valid}/${p.required_approvals}`,
              },
              { label: 'Created', render: (p) => <Time at={p.created_at} /> },
            ]}
          />
        )}
      </Async>
    </Page>
  );
}

/** From a finding: the server builds the candidates over the stored inventory; the database decides. */
export function PlanFixButton(props: { findingId: string }): JSX.Element {
  return (
    <Button
      kind="primary"
      testId="plan-fix"
      onClick={async () => {
        const r = await api.post<{ plan?: Plan; id?: string }>('/api/v1/plans', {
          finding_ids: [props.findingId],
        });
        const id = r.plan?.id ?? r.id;
        if (id) navigate(`plans/${id}`);
      }}
    >
      Plan a fix
    </Button>
  );
}

/**
 * One step of a plan. On a rollback plan (`undo`) what runs is the step's rollback, not its action:
 * the card says so, opens on the rollback, and shows the original action only as what is undone.
 */
function StepCard(props: {
  i: number;
  step: Plan['content']['steps'][number];
  s?: StepSummary;
  undo?: boolean;
}) {
  const [tab, setTab] = useState(props.undo ? 'rollback' : 'cli');
  const s = props.s;
  const tabs = props.undo
    ? [
        { id: 'rollback', label: 'What runs: the undo' },
        { id: 'cli', label: 'The action it undoes' },
      ]
    : [
        { id: 'cli', label: 'AWS CLI' },
        { id: 'terraform', label: 'Terraform' },
        { id: 'rollback', label: 'Rollback plan' },
        { id: 'verify', label: 'Verification' },
      ];
  return (
    <div class="card step" data-testid="plan-step">
      <h3>
        {props.i + 1}. {props.undo && 'Undo '}
        <Mono>{props.step.actionId}</Mono> on{' '}
        <Mono title={props.step.resourceArn}>{s?.resourceId ?? props.step.resourceArn}</Mono>{' '}
        {s && <Badge value={s.riskTier} />}
      </h3>
      {s ? (
        <>
          <Tabs tabs={tabs} active={tab} onChange={setTab} />
          {tab === 'cli' && <CopyBlock text={s.cli.join('\n')} />}
          {tab === 'terraform' &&
            (s.terraform.manualReviewRequired ? (
              <Notice kind="warn">Manual review required: {s.terraform.reason}</Notice>
            ) : (
              <CopyBlock text={s.terraform.hcl} filename={`${s.resourceId}.tf`} />
            ))}
          {tab === 'rollback' && (
            <Dl
              items={[
                ['Reversibility', <Badge value={s.rollback.reversibility} />],
                ['Data-loss risk', <Badge value={s.rollback.dataLossRisk} />],
                ['Downtime risk', <Badge value={s.rollback.downtimeRisk} />],
                [
                  'Expected recovery',
                  <span title={s.rollback.expectedRecoveryTime} data-testid="expected-recovery">
                    {recoveryTime(s.rollback.expectedRecoveryTime)}
                  </span>,
                ],
                ['How it is undone', s.rollback.strategy],
                ['Caveats', s.rollback.caveats.join(' ') || '—'],
              ]}
            />
          )}
          {tab === 'verify' && (
            <ul class="checklist">
              {s.verification.map((v) => (
                <li>{v}</li>
              ))}
            </ul>
          )}
        </>
      ) : (
        <Json value={props.step.params} />
      )}
    </div>
  );
}

function PlanDetail(props: { id: string }): JSX.Element {
  const { session } = useSession();
  const plan = useAsync(() => api.get<Plan>(`/api/v1/plans/${props.id}`), [props.id]);
  const [signing, setSigning] = useState<'approved' | 'rejected'>();
  const [comment, setComment] = useState('');
  const [dry, setDry] = useState<unknown>();
  const [revoking, setRevoking] = useState(false);
  const [revising, setRevising] = useState(false);
  return (
    <Async state={plan} what="plan">
      {(p) => {
        const cr = p.change_request;
        const mine = p.created_by === session.principal.id;
        const myApproval = cr.decisions?.some(
          (d) => d.decision === 'approved' && d.principal_id === session.principal.id,
        );
        const still = Math.max(0, p.required_approvals - p.approvals.valid);
        const summaries = p.content.summary?.steps ?? [];
        const br = p.content.summary?.blastRadius;
        const undoes = p.content.rollback_of ?? undefined;
        // A new version: by an author in the plan's domain, of a plan that has not run and does not
        // undo an execution (the database refuses the others too).
        const revisable =
          !undoes &&
          !(p.executions ?? []).length &&
          (p.state === 'in_review' || p.state === 'effective') &&
          p.content.steps.length > 1 &&
          can(session, 'author', p.domain, p.facility_id);
        return (
          <Page
            title={cr.title}
            subtitle={
              <>
                Plan <Mono>{short(p.id)}</Mono> v{p.version} · {p.content.action_class} ·{' '}
                <Badge value={p.state} /> · <PlanAccount plan={p} /> · record hash{' '}
                <Mono title={p.record_hash}>{short(p.record_hash, 16)}…</Mono>
              </>
            }
          >
            <div class="cards">
              <div class="card">
                <h3>Risk tier</h3>
                <p class="big" data-testid="risk-tier">
                  <Badge value={p.risk_tier} />
                </p>
                <span class="muted">decided by the database from the actions and blast radius</span>
              </div>
              <div class="card">
                <h3>Blast radius</h3>
                <p class="big">{p.content.blast_radius?.resources.length ?? 0}</p>
                <span class="muted">resources touched or depending on them (3 hops)</span>
              </div>
              <div class="card">
                <h3>Approvals</h3>
                <p class="big" data-testid="approvals">
                  {p.approvals.valid}/{p.required_approvals}
                </p>
                <span class="muted">
                  {still > 0
                    ? `${still} more signature${still > 1 ? 's' : ''} needed`
                    : 'enough signatures'}{' '}
                  · approvals expire after {p.approvals.expiry_hours} h
                </span>
              </div>
            </div>
            {undoes && (
              <Notice kind="warn">
                <span data-testid="rollback-notice">
                  This plan rolls back execution{' '}
                  <a href={href(`executions/${undoes}`)}>
                    <Mono>{short(undoes)}</Mono>
                  </a>
                  : executing it undoes each step below, putting back the state captured before that
                  execution changed anything. Approving it signs for the undo.
                </span>
              </Notice>
            )}
            <div class="actions">
              {cr.state === 'in_review' && !mine && !myApproval && (
                <>
                  <input
                    class="inline"
                    placeholder="comment (required to reject)"
                    value={comment}
                    onInput={(e) => setComment((e.target as HTMLInputElement).value)}
                  />
                  <Button
                    kind="primary"
                    testId="approve-plan"
                    onClick={() => setSigning('approved')}
                  >
                    Approve…
                  </Button>
                  <Button
                    kind="danger"
                    testId="reject-plan"
                    disabled={comment.length < 3}
                    onClick={() => setSigning('rejected')}
                  >
                    Reject…
                  </Button>
                </>
              )}
              {myApproval && !(p.executions ?? []).length && (
                <Button testId="revoke-approval" onClick={() => setRevoking(true)}>
                  Revoke my approval
                </Button>
              )}
              <Button
                testId="dry-run"
                onClick={async () => setDry(await api.post(`/api/v1/plans/${p.id}/dry-run`))}
              >
                Dry run
              </Button>
              {p.state === 'effective' && (
                <Button
                  kind="primary"
                  testId="execute-plan"
                  onClick={async () => {
                    const e = await api.post<{ id: string }>(`/api/v1/plans/${p.id}/executions`);
                    navigate(`executions/${e.id}`);
                  }}
                >
                  Execute
                </Button>
              )}
              {revisable && (
                <Button testId="revise-plan" onClick={() => setRevising(true)}>
                  Leave out steps…
                </Button>
              )}
              {mine && cr.state === 'in_review' && (
                <span class="muted">You proposed this plan; others must sign it.</span>
              )}
            </div>
            {dry !== undefined && (
              <div class="card" data-testid="dry-run-report">
                <h3>Dry run (nothing changed)</h3>
                <Json value={dry} />
              </div>
            )}
            <h2>Steps</h2>
            {p.content.steps.map((st, i) => (
              <StepCard i={i} step={st} s={summaries[i]} undo={undoes !== undefined} />
            ))}
            <PlanFindings plan={p} />
            <h2>Blast radius</h2>
            {br ? (
              <Table
                rows={[
                  ...br.touched.map((arn) => ({ arn, hops: 0, via: 'changed by the plan' })),
                  ...br.dependents,
                ]}
                rowKey={(r) => r.arn}
                columns={[
                  { label: 'Resource', render: (r) => <Mono>{r.arn}</Mono> },
                  { label: 'Hops', render: (r) => r.hops },
                  { label: 'Why', render: (r) => r.via },
                ]}
              />
            ) : (
              <ul>
                {(p.content.blast_radius?.resources ?? []).map((r) => (
                  <li>
                    <Mono>{r}</Mono>
                  </li>
                ))}
              </ul>
            )}
            <h2>Signatures</h2>
            <Table
              rows={cr.decisions ?? []}
              rowKey={(d) => d.principal_id + d.created_at}
              empty="Nobody has signed yet."
              columns={[
                {
                  label: 'Who',
                  render: (d) =>
                    d.principal_id === session.principal.id ? (
                      'you'
                    ) : (
                      <Person id={d.principal_id} />
                    ),
                },
                { label: 'Decision', render: (d) => <Badge value={d.decision} /> },
                { label: 'When', render: (d) => <Time at={d.created_at} /> },
                { label: 'Comment', render: (d) => d.comment ?? '' },
              ]}
            />
            {(p.executions ?? []).length > 0 && (
              <>
                <h2>Executions</h2>
                <Table
                  rows={p.executions!}
                  rowKey={(e) => e.id}
                  onRow={(e) => navigate(`executions/${e.id}`)}
                  columns={[
                    { label: 'Execution', render: (e) => <Mono>{short(e.id)}</Mono> },
                    { label: 'Kind', render: (e) => e.kind },
                    { label: 'Status', render: (e) => <Badge value={e.status} /> },
                    { label: 'Started', render: (e) => <Time at={e.started_at} /> },
                  ]}
                />
              </>
            )}
            {signing && (
              <SignDialog
                target={{ type: 'change_request', id: cr.id }}
                meaning={signing}
                description={`${signing === 'approved' ? 'Approve' : 'Reject'} the plan “${cr.title}” (${p.risk_tier} risk, ${p.content.steps.length} step${p.content.steps.length > 1 ? 's' : ''}).`}
                returnTo={`plans/${p.id}`}
                complete={(ch) =>
                  signing === 'approved'
                    ? {
                        method: 'POST',
                        url: `/api/v1/plans/${p.id}/approve`,
                        body: {
                          record_hash: p.record_hash,
                          signature: { challenge_id: ch.id },
                          ...(comment ? { comment } : {}),
                        },
                      }
                    : {
                        method: 'POST',
                        url: `/api/v1/plans/${p.id}/reject`,
                        body: {
                          record_hash: p.record_hash,
                          signature: { challenge_id: ch.id },
                          reason: comment,
                        },
                      }
                }
                onDone={() => {
                  setSigning(undefined);
                  void plan.reload();
                }}
                onClose={() => setSigning(undefined)}
              />
            )}
            {revising && (
              <Dialog title="A new version without some steps" onClose={() => setRevising(false)}>
                <ReviseForm
                  plan={p}
                  summaries={summaries}
                  done={() => {
                    setRevising(false);
                    void plan.reload();
                  }}
                />
              </Dialog>
            )}
            {revoking && (
              <Dialog title="Revoke your approval" onClose={() => setRevoking(false)}>
                <RevokeForm
                  planId={p.id}
                  done={() => {
                    setRevoking(false);
                    void plan.reload();
                  }}
                />
              </Dialog>
            )}
          </Page>
        );
      }}
    </Async>
  );
}

/**
 * The findings a plan answers (kept in step with its steps by the server), each with its check and
 * resource, linked to the finding. Read only with read in the plan's domain, which is theirs.
 */
function PlanFindings(props: { plan: Plan }): JSX.Element | null {
  const p = props.plan;
  const { session } = useSession();
  const ids = p.content.finding_ids ?? [];
  const mayRead = can(session, 'read', p.domain, p.facility_id);
  const found = useAsync(
    () => planFindingRows(ids, mayRead, (id) => api.get<FindingSummary>(`/api/v1/findings/${id}`)),
    [ids.join(','), mayRead],
  );
  if (ids.length === 0) return null;
  return (
    <>
      <h2>{p.content.rollback_of ? 'Findings whose fix it undoes' : 'Findings it answers'}</h2>
      <Async state={found} what="the findings">
        {(rows) => (
          <Table
            rows={rows}
            rowKey={(f) => f.id}
            testId="plan-findings"
            onRow={(f) => navigate(`findings/${f.id}`)}
            columns={[
              {
                label: 'Severity',
                render: (f) => (f.severity ? <Badge value={f.severity} /> : ''),
              },
              { label: 'Check', render: (f) => <Mono>{f.check_id || short(f.id)}</Mono> },
              { label: 'Resource', render: (f) => <Mono>{f.resource_id}</Mono> },
            ]}
          />
        )}
      </Async>
    </>
  );
}

/**
 * The AWS account a plan acts on (the database derives it from the plan's connection), and the
 * connection's name for those who may read connections (configuration:read at the facility).
 */
function PlanAccount(props: { plan: Plan }): JSX.Element {
  const p = props.plan;
  const { session } = useSession();
  // Asked only of those who may read it: a refusal would be an authz.denied event in the audit trail.
  const mayRead = can(session, 'read', 'configuration', p.facility_id);
  const conn = useAsync(
    async () =>
      mayRead
        ? await api
            .get<{ name: string }>(`/api/v1/connections/${p.content.connection_id}`)
            .catch(() => null)
        : null,
    [p.content.connection_id, mayRead],
  );
  return (
    <span data-testid="plan-account">
      AWS account <Mono>{p.content.account_id ?? '—'}</Mono>
      {conn.data ? ` (${conn.data.name})` : ''}
    </span>
  );
}

/**
 * A new version of the plan without the steps unticked. The server derives the rest again (blast
 * radius, previews, rollback summary) and the database the risk tier; the open change request is
 * withdrawn, so approvals given so far no longer count.
 */
function ReviseForm(props: {
  plan: Plan;
  summaries: StepSummary[];
  done: () => void;
}): JSX.Element {
  const p = props.plan;
  const [keep, setKeep] = useState(p.content.steps.map(() => true));
  const [reason, setReason] = useState('');
  return (
    <Form
      submit="Make the new version"
      testId="revise-form"
      onSubmit={async () => {
        const steps = p.content.steps.filter((_, i) => keep[i]);
        if (steps.length === p.content.steps.length)
          throw new Error('Untick the steps to leave out.');
        if (steps.length === 0)
          throw new Error('A plan keeps at least one step: reject it instead.');
        await api.post(`/api/v1/plans/${p.id}/versions`, {
          content: {
            connection_id: p.content.connection_id,
            action_class: p.content.action_class,
            steps,
            ...(p.content.finding_ids ? { finding_ids: p.content.finding_ids } : {}),
          },
          reason,
        });
        props.done();
      }}
    >
      <p class="muted">
        Approvals given so far no longer count: the new version is signed again. Its risk tier,
        blast radius and previews are derived again from the steps it keeps.
      </p>
      <ul class="plain-list">
        {p.content.steps.map((st, i) => (
          <li>
            <label>
              <input
                type="checkbox"
                name={`keep-${i}`}
                checked={keep[i]}
                onChange={(e) =>
                  setKeep(
                    keep.map((k, j) => (j === i ? (e.target as HTMLInputElement).checked : k)),
                  )
                }
              />{' '}
              {i + 1}. <Mono>{st.actionId}</Mono> on{' '}
              <Mono title={st.resourceArn}>{props.summaries[i]?.resourceId ?? st.resourceArn}</Mono>
            </label>
          </li>
        ))}
      </ul>
      <ReasonField value={reason} onChange={setReason} name="revise-reason" />
    </Form>
  );
}

function RevokeForm(props: { planId: string; done: () => void }): JSX.Element {
  const [reason, setReason] = useState('');
  return (
    <Form
      danger
      submit="Revoke"
      onSubmit={async () => {
        await api.post(`/api/v1/plans/${props.planId}/revoke-approval`, { reason });
        props.done();
      }}
    >
      <ReasonField value={reason} onChange={setReason} />
    </Form>
  );
}

export function ExecutionsPage(props: { route: Route }): JSX.Element {
  const id = props.route.path[1];
  return id ? <ExecutionDetail id={id} /> : <ExecutionList />;
}

interface Memory {
  actions: Array<{
    action_id: string;
    succeeded: number;
    failed: number;
    rolled_back: number;
    consecutive_successes: number;
    confidence: number;
  }>;
  [k: string]: unknown;
}

function ExecutionList(): JSX.Element {
  const { session } = useSession();
  const list = useAsync(() => api.get<Execution[]>('/api/v1/executions'), []);
  // Asked only with read in an action domain (a refusal would be an authz.denied event).
  const mayReadMemory = ['security', 'cost', 'drift'].some((d) => can(session, 'read', d));
  const memory = useAsync(
    async () => (mayReadMemory ? await api.get<Memory>('/api/v1/memory') : null),
    [mayReadMemory],
  );
  return (
    <Page
      title="Executions"
      subtitle="Approved plans run against AWS, each action with its before and after, and how it was rolled back."
    >
      <Async state={list} what="executions">
        {(rows) => (
          <Table
            rows={rows}
            rowKey={(e) => e.id}
            empty="Nothing has run yet."
            onRow={(e) => navigate(`executions/${e.id}`)}
            columns={[
              { label: 'Execution', render: (e) => <Mono>{short(e.id)}</Mono> },
              { label: 'Kind', render: (e) => (e.rollback_of ? 'rollback' : e.kind) },
              { label: 'Class', render: (e) => e.action_class },
              { label: 'Status', render: (e) => <Badge value={e.status} /> },
              { label: 'Auto-applied', render: (e) => (e.auto_applied ? 'yes' : 'no') },
              { label: 'Started', render: (e) => <Time at={e.started_at ?? e.created_at} /> },
            ]}
          />
        )}
      </Async>
      <h2>Operational memory</h2>
      <p class="muted">
        Outcomes per action type in this organization; the confidence is a lower bound that grows
        with consecutive successes. Any failure resets the streak.
      </p>
      <Async state={memory} what="memory">
        {(m) =>
          m === null ? (
            <p class="muted" data-testid="memory-not-readable">
              Operational memory needs read in security, cost or drift.
            </p>
          ) : (
            <Table
              rows={(m.actions ?? []).filter((a) => a.succeeded + a.failed + a.rolled_back > 0)}
              rowKey={(a) => a.action_id}
              empty="No action has run yet."
              columns={[
                { label: 'Action', render: (a) => <Mono>{a.action_id}</Mono> },
                { label: 'Succeeded', render: (a) => a.succeeded },
                { label: 'Failed', render: (a) => a.failed },
                { label: 'Rolled back', render: (a) => a.rolled_back },
                { label: 'Streak', render: (a) => a.consecutive_successes },
                {
                  label: 'Confidence',
                  render: (a) => `${Math.round(Number(a.confidence) * 100)}%`,
                },
              ]}
            />
          )
        }
      </Async>
    </Page>
  );
}

function ExecutionDetail(props: { id: string }): JSX.Element {
  const ex = useAsync(() => api.get<Execution>(`/api/v1/executions/${props.id}`), [props.id]);
  usePoll(ex.reload, 1500, ex.data ? running(ex.data.status) : false);
  const [asking, setAsking] = useState(false);
  return (
    <Async state={ex} what="execution">
      {(e) => {
        const steps = e.progress?.steps ?? [];
        return (
          <Page
            title={`${e.rollback_of ? 'Rollback' : 'Execution'} ${short(e.id)}`}
            subtitle={
              <>
                <Badge value={e.status} /> · <a href={href(`plans/${e.plan_id}`)}>its plan</a>
                {e.original && (
                  <>
                    {' '}
                    · rolls back{' '}
                    <a href={href(`executions/${e.original.execution_id}`)}>
                      execution {short(e.original.execution_id)}
                    </a>
                  </>
                )}
              </>
            }
            actions={
              e.status === 'succeeded' &&
              !e.rollback_of && (
                <Button kind="danger" testId="request-rollback" onClick={() => setAsking(true)}>
                  Roll back…
                </Button>
              )
            }
          >
            {running(e.status) && (
              <Notice>Running: this page follows the progress the worker records.</Notice>
            )}
            {e.progress?.failure && (
              <Notice kind="warn">
                Step {e.progress.failure.stepIndex + 1} failed ({e.progress.failure.phase}):{' '}
                {e.progress.failure.message}. The completed steps were rolled back in reverse order.
              </Notice>
            )}
            <Dl
              items={[
                ['AWS account', <Mono>{e.plan.account_id ?? '—'}</Mono>],
                [
                  'Started by',
                  e.auto_applied ? 'the agent (auto-apply)' : <Person id={e.created_by} />,
                ],
                ['Queued', <Time at={e.created_at} />],
                ['Started', <Time at={e.started_at} />],
                ['Finished', <Time at={e.finished_at} />],
                ['Risk tier', <Badge value={e.plan.risk_tier} />],
                [
                  'Plan version run',
                  <Mono title={e.plan_record_hash}>{e.plan_record_hash.slice(0, 16)}…</Mono>,
                ],
                ['Auto-applied', e.auto_applied ? 'yes' : 'no'],
              ]}
            />
            <h2>Timeline</h2>
            <ol class="timeline" data-testid="execution-timeline">
              {steps.map((s) => (
                <li class="card">
                  <h3>
                    {s.index + 1}. {e.rollback_of && 'Undo '}
                    <Mono>{s.actionId}</Mono> <Badge value={shownStepState(e.rollback_of, s)} />{' '}
                    {s.rollback && !e.rollback_of && (
                      <Badge value={`rollback: ${s.rollback.status}`} />
                    )}
                  </h3>
                  <p>
                    <Mono>{s.resourceArn}</Mono>
                  </p>
                  {s.error && (
                    <p class="inline-error">
                      {s.error.phase}: {s.error.message}
                    </p>
                  )}
                  <details>
                    <summary>Before (pre-flight capture)</summary>
                    <Json value={s.preflight ?? null} />
                  </details>
                  <details>
                    <summary>After (verified)</summary>
                    <Json value={s.after ?? null} />
                  </details>
                  {s.rollback?.state !== undefined && (
                    <details>
                      <summary>After the rollback</summary>
                      <Json value={s.rollback.state} />
                    </details>
                  )}
                </li>
              ))}
            </ol>
            {asking && (
              <Dialog title="Request a rollback" onClose={() => setAsking(false)}>
                <RollbackForm executionId={e.id} />
              </Dialog>
            )}
          </Page>
        );
      }}
    </Async>
  );
}

function RollbackForm(props: { executionId: string }): JSX.Element {
  const [reason, setReason] = useState('');
  return (
    <Form
      danger
      submit="Propose the rollback"
      onSubmit={async () => {
        const p = await api.post<{ id: string }>(
          `/api/v1/executions/${props.executionId}/rollback`,
          { reason },
        );
        navigate(`plans/${p.id}`);
      }}
    >
      <p>
        A rollback is a plan of its own: it restores the captured before-state of each reversible
        action and must be approved like any plan.
      </p>
      <ReasonField value={reason} onChange={setReason} />
    </Form>
  );
}
