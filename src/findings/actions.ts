// The remediation vocabulary as the findings catalog sees it: each action id of the execution
// engine (src/execution/catalog.ts, the single source of action ids, classes, reversibility and base
// risk) with the IAM actions its execution role needs (src/execution/permissions.ts), plus `manual`
// — Axiom explains the fix and never executes it.
import {
  ACTIONS as EXECUTION_ACTIONS,
  EXECUTABLE_ACTIONS,
  type ActionClass,
  type Reversibility,
  type RiskTier,
} from '../execution/catalog.js';
import { actionIamActions } from '../execution/permissions.js';

export type { ActionClass, Reversibility, RiskTier };

export const REVERSIBILITY = [
  'reversible',
  'reversible_with_new_identity',
  'partially_reversible',
  'irreversible',
] as const satisfies readonly Reversibility[];

export const RISK_TIERS = ['low', 'medium', 'high'] as const satisfies readonly RiskTier[];

export interface ActionType {
  id: string;
  actionClass: ActionClass | null;
  /** null for `manual` (never executed). */
  reversibility: Reversibility | null;
  /** Before blast radius; plans raise it (moderate → at least medium, broad → high). */
  riskTier: RiskTier | null;
  /** IAM actions the execution role of the class needs (reads, pre-flight, apply, rollback). */
  executionPermissions: string[];
}

const MANUAL: ActionType = {
  id: 'manual',
  actionClass: null,
  reversibility: null,
  riskTier: null,
  executionPermissions: [],
};

export const ACTIONS: readonly ActionType[] = [
  ...EXECUTABLE_ACTIONS.map((id) => {
    const a = EXECUTION_ACTIONS[id];
    return {
      id,
      actionClass: a.actionClass,
      reversibility: a.reversibility,
      riskTier: a.baseRisk,
      executionPermissions: actionIamActions(id),
    };
  }),
  MANUAL,
];

const byId = new Map(ACTIONS.map((a) => [a.id, a]));

export const ACTION_IDS = ACTIONS.map((a) => a.id) as [string, ...string[]];

export function actionType(id: string): ActionType {
  const a = byId.get(id);
  if (!a) throw new Error(`unknown remediation action ${id}`);
  return a;
}
