// The top rung of the trust ladder, after a scan: at a facility whose autonomy tier is auto_apply, the
// agent proposes a plan for each finding the scan opened whose fix is a low-risk action type with
// enough consecutive successes in this organization, and starts it without approvals. It only asks:
// api.execution_start decides (tier, risk, production, streak) and refuses otherwise, and a refused
// plan simply waits for approvals like any other. Below auto_apply it does nothing.
import type { Api, Caller } from '../db/api.js';
import { ACTION_FOR_CHECK, ACTIONS, isExecutableAction } from '../execution/catalog.js';
import type { Logger } from '../logger.js';
import { proposePlanForFindings } from './service.js';

export interface AutopilotResult {
  proposed: string[];
  started: string[];
}

interface FacilitySettings {
  autonomy_tier?: string;
  auto_apply_after?: number;
}

export async function autopilot(
  deps: { api: Pick<Api, 'call'>; logger: Logger },
  agent: Caller,
  scanId: string,
  enqueue: (executionId: string) => Promise<void>,
  opts: { maxPlans?: number } = {},
): Promise<AutopilotResult> {
  const { api } = deps;
  const result: AutopilotResult = { proposed: [], started: [] };
  const scan = await api.call<{ facility_id: string; connection_id: string; status: string }>(
    'scan_get',
    agent,
    scanId,
  );
  if (scan.status !== 'succeeded' && scan.status !== 'partial') return result;
  const records = await api.call<Array<{ lifecycle_state: string; content: FacilitySettings }>>(
    'record_list',
    agent,
    'facility_configuration',
    scan.facility_id,
  );
  const settings = records.find((r) => r.lifecycle_state === 'effective')?.content ?? {};
  if (settings.autonomy_tier !== 'auto_apply') return result;
  const needed = settings.auto_apply_after ?? 25;
  const memory = await api.call<{
    actions: Array<{ action_id: string; consecutive_successes: number }>;
  }>('memory_get', agent, null);
  const streak = new Map(memory.actions.map((a) => [a.action_id, a.consecutive_successes]));
  const page = await api.call<{
    items: Array<{ id: string; check_id: string; first_scan_id: string }>;
  }>('finding_list', agent, {
    connection_id: scan.connection_id,
    status: 'open',
    sort: 'first_seen',
    limit: 200,
  });
  for (const f of page.items) {
    if (result.proposed.length >= (opts.maxPlans ?? 10)) break;
    if (f.first_scan_id !== scanId) continue;
    const action = ACTION_FOR_CHECK[f.check_id];
    if (!action || !isExecutableAction(action)) continue;
    if (ACTIONS[action].baseRisk !== 'low' || (streak.get(action) ?? 0) < needed) continue;
    try {
      const plan = await proposePlanForFindings<{ id: string; risk_tier: string }>(
        api,
        agent,
        [f.id],
        {
          title: `Auto-apply: ${f.check_id.replace(/_/g, ' ')}`,
          reason: `auto_apply: ${action} has ${streak.get(action) ?? 0} consecutive successes here`,
        },
      );
      result.proposed.push(plan.id);
      if (plan.risk_tier !== 'low') continue;
      const execution = await api.call<{ id: string }>('execution_start', agent, plan.id);
      await enqueue(execution.id);
      result.started.push(execution.id);
    } catch (e) {
      // Refused by the database (or not remediable after all): the plan, if any, waits for approvals.
      deps.logger.info({ err: e, finding: f.id }, 'auto-apply declined');
    }
  }
  return result;
}
