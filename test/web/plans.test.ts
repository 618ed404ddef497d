// The closed loop in a real browser (Debian's Chromium via playwright-core), against the sandbox cloud
// with the real AWS SDK, the real database and a real worker: a finding from a scan → "Plan a fix"
// (previews, blast radius, risk tier decided by the database) → a second person approves with an
// e-signature (password) → Execute → the worker runs it and the timeline shows before and after →
// a rollback is requested (a plan of its own), approved by the first person and executed → the
// sandbox account is back as it was. The database and the sandbox are the judges.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_FOR_CHECK, ACTIONS, isExecutableAction } from '../../src/execution/catalog.js';
import { proposePlanForFindings } from '../../src/plans/service.js';
import { diffStates, type StateDump } from '../../src/sandbox/index.js';
import { launchBrowser, newPage, screenshot, submitPasswordSignIn } from '../support/browser.js';
import { useSandbox } from '../support/cloud.js';
import { createUser, type TestUser } from '../support/fixtures.js';
import type { TestServer } from '../support/http.js';
import { useWorkerServer } from '../support/worker.js';
import { sandboxWorld, scanWorld, type PlanWorld } from '../plans/support.js';

const sandbox = useSandbox({
  accounts: [
    {
      seed: 'web-plans',
      size: 30,
      regions: ['us-east-1'],
      include: ['s3_bucket_no_public_access_block'],
    },
  ],
  delays: { snapshotMs: 0, instanceTransitionMs: 0, volumeModificationMs: 0 },
});
const ws = useWorkerServer(sandbox);
const s = (): TestServer => ws().server;
let browser: Browser;
let page: Page;
let w: PlanWorld;
let before: StateDump;
let planId = '';

beforeAll(async () => {
  const t = s().db;
  w = await sandboxWorld(t, sandbox());
  await scanWorld(t, sandbox(), w);
  before = sandbox().control.dumpState(w.accountId);
  browser = await launchBrowser(s().server.tls.cert);
  ({ page } = await newPage(browser));
}, 180_000);

afterAll(async () => {
  await browser?.close();
});

async function signIn(who: TestUser): Promise<void> {
  await page.goto(s().server.publicUrl);
  // Whoever is signed in signs out first (the page shows either the shell or the sign-in form).
  await page.waitForSelector('[data-testid=who], input[name=organization]');
  if (await page.locator('[data-testid=who]').count()) await page.click('text=Sign out');
  await page.waitForSelector('input[name=organization]');
  await submitPasswordSignIn(page, {
    organization: w.org.slug,
    email: who.email,
    password: who.password,
  });
  await page.waitForSelector('[data-testid=org-name]');
}

async function signWithPassword(who: TestUser): Promise<void> {
  await page.waitForSelector('[data-testid=sign-password]');
  await page.fill('input[name=sign-password]', who.password);
  await page.click('[data-testid=sign-password] button[type=submit]');
  await page.click('[data-testid=sign-complete]');
}

async function plan(id: string): Promise<{ state: string; risk_tier: string }> {
  return await s().db.api.call('plan_get', w.reviewer.caller, id);
}

async function execution(id: string): Promise<{ status: string }> {
  return await s().db.api.call('execution_get', w.reviewer.caller, id);
}

describe('plans and executions in Chromium', () => {
  it('plans a fix from a finding, with previews, blast radius and the risk tier', async () => {
    await signIn(w.reviewer);
    await page.goto(`${s().server.publicUrl}/#/findings?check_id=s3_bucket_no_public_access_block`);
    await page.click('table tbody tr >> nth=0');
    await page.click('[data-testid=plan-fix]');
    await page.waitForSelector('[data-testid=plan-step]');
    planId = /#\/plans\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    const p = await plan(planId);
    expect(p.state).toBe('in_review');
    expect(await page.textContent('[data-testid=risk-tier]')).toContain(p.risk_tier);
    // Which AWS account it acts on, and through which connection (the reviewer may read connections).
    const conn = await s().db.api.call<{ name: string }>(
      'connection_get',
      w.reviewer.caller,
      w.connectionId,
    );
    await expect
      .poll(() => page.textContent('[data-testid=plan-account]'))
      .toBe(`AWS account ${w.accountId} (${conn.name})`);
    expect(await page.textContent('[data-testid=plan-step]')).toMatch(
      /aws s3api put-public-access-block/,
    );
    await page.click('[data-testid=plan-step] >> role=tab[name="Rollback plan"]');
    expect(await page.textContent('[data-testid=plan-step]')).toMatch(/reversib/i);
    expect(await page.textContent('[data-testid=expected-recovery]')).toBe('about 1 minute');
    // The finding it was planned from, by its check and resource, links back to it.
    const answered = (
      await s().db.api.call<{ content: { finding_ids: string[] } }>(
        'plan_get',
        w.reviewer.caller,
        planId,
      )
    ).content.finding_ids;
    expect(answered).toHaveLength(1);
    const finding = await s().db.api.call<{ resource_id: string }>(
      'finding_get',
      w.reviewer.caller,
      answered[0],
    );
    await page.waitForSelector(
      '[data-testid=plan-findings] >> text=s3_bucket_no_public_access_block',
    );
    expect(await page.textContent('[data-testid=plan-findings] tbody')).toContain(
      finding.resource_id,
    );
    await screenshot(page, 'plan-proposed');
    // The person who proposed it cannot approve it: the page offers no approval.
    expect(await page.locator('[data-testid=approve-plan]').count()).toBe(0);
  });

  it('a second person approves with the password; executing changes the account', async () => {
    await signIn(w.reviewer2);
    // The overview says what waits: the one plan to sign, and the active findings.
    await expect.poll(() => page.textContent('[data-testid=plans-waiting]')).toBe('1');
    expect(await page.textContent('[data-testid=activity-not-readable]')).toMatch(/audit:read/);
    const counts = await s().db.api.call<{ active: number }>(
      'finding_counts',
      w.reviewer2.caller,
      {},
    );
    expect(await page.textContent('[data-testid=findings-active]')).toBe(String(counts.active));
    await screenshot(page, 'overview-waiting');
    await page.goto(`${s().server.publicUrl}/#/plans/${planId}`);
    // The approver holds no read in configuration: the account, without the connection's name, and
    // the page does not ask for it (a refusal would be an authz.denied event in the audit trail).
    await page.waitForSelector('[data-testid=approve-plan]');
    expect(await page.textContent('[data-testid=plan-account]')).toBe(`AWS account ${w.accountId}`);
    const asked = await s().db.superuser.query(
      `select 1 from audit.session_events
        where principal_id = $1 and operation = 'connection.get'`,
      [w.reviewer2.id],
    );
    expect(asked.rows).toEqual([]);
    // Nor did the overview ask for the audit trail, which needs audit:read: an approver's ordinary
    // way through the dashboard leaves no refusal in the audit trail.
    const denied = await s().db.superuser.query<{ event_type: string }>(
      `select event_type from audit.audit_events
        where actor_id = $1 and event_type = 'authz.denied'`,
      [w.reviewer2.id],
    );
    expect(denied.rows).toEqual([]);
    await page.click('[data-testid=approve-plan]');
    await signWithPassword(w.reviewer2);
    await expect.poll(async () => (await plan(planId)).state).toBe('effective');
    await page.waitForSelector('[data-testid=execute-plan]');
    await screenshot(page, 'plan-approved');
    await page.click('[data-testid=execute-plan]');
    await page.waitForSelector('[data-testid=execution-timeline]');
    const executionId = /#\/executions\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    await expect
      .poll(async () => (await execution(executionId)).status, { timeout: 60_000 })
      .toBe('succeeded');
    await page.waitForSelector('[data-testid=execution-timeline] >> text=verified');
    // Who started it, in which account, and which signed version ran.
    const starter = await s().db.superuser.query<{ display_name: string }>(
      'select display_name from core.principals where id = $1',
      [w.reviewer2.id],
    );
    const dd = (label: string) => page.locator(`dt:text-is("${label}") + dd`);
    await expect.poll(() => dd('Started by').textContent()).toBe(starter.rows[0]!.display_name);
    expect(await dd('AWS account').textContent()).toBe(w.accountId);
    const ran = await s().db.api.call<{ record_hash: string }>(
      'plan_get',
      w.reviewer.caller,
      planId,
    );
    expect(await dd('Plan version run').locator('[title]').getAttribute('title')).toBe(
      ran.record_hash,
    );
    await screenshot(page, 'execution-succeeded');
    const changed = diffStates(before, sandbox().control.dumpState(w.accountId));
    expect(changed.length).toBeGreaterThan(0);
  });

  it('rolls back on request (a plan of its own, approved by someone else): the account is as before', async () => {
    await page.click('[data-testid=request-rollback]');
    await page.fill('[role=dialog] input', 'the bucket serves a public website after all');
    await page.click('[role=dialog] button[type=submit]');
    await page.waitForSelector('[data-testid=plan-step]');
    const rollbackPlan = /#\/plans\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    expect(rollbackPlan).not.toBe(planId);
    // The page says what approving it means: each step is undone, and it opens on the undo.
    expect(await page.textContent('[data-testid=rollback-notice]')).toMatch(
      /rolls back execution [0-9a-f]+.*undoes each step/,
    );
    const step = await page.textContent('[data-testid=plan-step]');
    expect(step).toMatch(/^1\. Undo s3\.put_bucket_public_access_block/);
    expect(step).toMatch(/How it is undone/);
    expect(step).toMatch(/What runs: the undo.*The action it undoes/);
    expect(step).not.toMatch(/Verification/);
    // The finding it carries is the one whose fix it takes back.
    await page.waitForSelector('h2 >> text=Findings whose fix it undoes');
    expect(await page.locator('h2 >> text=Findings it answers').count()).toBe(0);
    await screenshot(page, 'rollback-proposed');
    await signIn(w.reviewer);
    await page.goto(`${s().server.publicUrl}/#/plans/${rollbackPlan}`);
    await page.click('[data-testid=approve-plan]');
    await signWithPassword(w.reviewer);
    await page.waitForSelector('[data-testid=execute-plan]');
    await page.click('[data-testid=execute-plan]');
    const rollbackExecution = /#\/executions\/([0-9a-f-]{36})/.exec(page.url())?.[1];
    await page.waitForSelector('[data-testid=execution-timeline]');
    const id = rollbackExecution ?? /#\/executions\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    await expect
      .poll(async () => (await execution(id)).status, { timeout: 60_000 })
      .toMatch(/^(succeeded|rolled_back)$/);
    // The timeline follows it to the end: each step undone (never the original's "verified").
    const heading = '[data-testid=execution-timeline] h3';
    await expect
      .poll(async () => page.textContent(heading), { timeout: 15_000 })
      .toMatch(/rolled back|not needed/);
    const timeline = await page.textContent(heading);
    expect(timeline).toMatch(/^1\. Undo s3\.put_bucket_public_access_block/);
    expect(timeline).not.toMatch(/verified|waiting/);
    await screenshot(page, 'rollback-executed');
    const restored = diffStates(before, sandbox().control.dumpState(w.accountId));
    expect(restored).toEqual([]);
  });

  it('leaves a step out of a plan: a new version, previews that follow, signatures to give again', async () => {
    const t = s().db;
    // Two findings of the scan with reversible security actions on two resources: a two-step plan.
    const findings = await t.api.call<{
      items: Array<{ id: string; check_id: string; resource_arn: string }>;
    }>('finding_list', w.reviewer.caller, {
      connection_id: w.connectionId,
      status: 'active',
      limit: 500,
    });
    const picked: Array<{ id: string; resource_arn: string; action: string }> = [];
    for (const f of findings.items) {
      const a = ACTION_FOR_CHECK[f.check_id];
      if (!a || !isExecutableAction(a) || ACTIONS[a].actionClass !== 'security') continue;
      if (ACTIONS[a].reversibility !== 'reversible') continue;
      if (picked.some((x) => x.resource_arn === f.resource_arn || x.action === a)) continue;
      picked.push({ id: f.id, resource_arn: f.resource_arn, action: a });
      if (picked.length === 2) break;
    }
    expect(picked).toHaveLength(2);
    type Stored = {
      id: string;
      version: number;
      content: {
        steps: Array<{ actionId: string; resourceArn: string }>;
        finding_ids: string[];
        summary: { steps: Array<{ actionId: string; cli: string[] }> };
      };
    };
    const v1 = await proposePlanForFindings<Stored>(
      t.api,
      w.reviewer.caller,
      picked.map((x) => x.id),
    );
    expect(v1.content.steps).toHaveLength(2);
    const kept = v1.content.steps[1]!;

    // Someone who may only read the plan is not offered the change.
    const reader = await createUser(t, w.org, [
      { domain: 'security', level: 'read', facility: w.facility },
    ]);
    await signIn(reader);
    await page.goto(`${s().server.publicUrl}/#/plans/${v1.id}`);
    await page.waitForSelector('[data-testid=plan-step]');
    expect(await page.locator('[data-testid=revise-plan]').count()).toBe(0);

    await signIn(w.reviewer);
    await page.goto(`${s().server.publicUrl}/#/plans/${v1.id}`);
    await page.click('[data-testid=revise-plan]');
    await page.uncheck('input[name=keep-0]');
    await page.fill('input[name=revise-reason]', 'the first change waits for the next window');
    await screenshot(page, 'plan-revise');
    await page.click('[data-testid=revise-form] button[type=submit]');
    await expect
      .poll(async () => (await t.api.call<Stored>('plan_get', w.reviewer.caller, v1.id)).version)
      .toBe(2);
    const v2 = await t.api.call<Stored>('plan_get', w.reviewer.caller, v1.id);
    expect(v2.content.steps).toEqual([kept]);
    expect(v2.content.summary.steps.map((x) => x.actionId)).toEqual([kept.actionId]);
    // It answers only the finding of the step it keeps.
    expect(v2.content.finding_ids).toEqual(
      picked.filter((x) => x.resource_arn === kept.resourceArn).map((x) => x.id),
    );
    // The page shows the new version, and the one step's own previews.
    await expect.poll(() => page.locator('[data-testid=plan-step]').count()).toBe(1);
    expect(await page.textContent('[data-testid=plan-step]')).toContain(
      v2.content.summary.steps[0]!.cli[0]!,
    );
    expect(await page.textContent('h1 + *')).toMatch(/v2/);
    await screenshot(page, 'plan-revised');
    // Its change request page leaves the comparison to the plan's page: no records read for it.
    const cr = await t.api.call<{ change_request: { id: string } }>(
      'plan_get',
      w.reviewer.caller,
      v1.id,
    );
    const asked: string[] = [];
    const listen = (r: { url(): string }) => asked.push(r.url());
    page.on('request', listen);
    await page.goto(`${s().server.publicUrl}/#/changes/${cr.change_request.id}`);
    await page.waitForSelector('[data-testid=change-request]');
    page.off('request', listen);
    expect(asked.filter((u) => u.includes('/api/v1/records/'))).toEqual([]);
    expect(await page.locator('[data-testid=what-changes]').count()).toBe(0);
  });

  it('shows the audit chain verified after the loop (to the administrator, who holds audit)', async () => {
    await signIn(w.org.admin);
    await page.goto(`${s().server.publicUrl}/#/audit?tab=verify`);
    await page.click('[data-testid=verify-chains]');
    await page.waitForSelector('[data-testid=verify-result] >> text=Intact');
    await screenshot(page, 'plans-audit-verified');
  });
});
