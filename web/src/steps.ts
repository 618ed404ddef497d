// How a plan's steps read: the expected recovery time of a step's rollback in words, and what an
// execution's timeline says about each step. A rollback execution starts from the progress
// record of the execution it undoes (the executor needs its before-states), so until the worker has
// undone a step, that step still carries the original's state ("verified"): shown as such, a queued
// rollback would look already done. Its steps show how far the undo got instead.

export interface StepStateView {
  state: string;
  rollback?: { status: string } | undefined;
}

/** The state to show for a step of an execution (`rollbackOf`: set on a rollback execution). */
export function shownStepState(rollbackOf: string | null | undefined, step: StepStateView): string {
  if (!rollbackOf) return step.state;
  return step.rollback ? step.rollback.status : 'waiting';
}

/** An ISO 8601 duration of the catalog (PT1M, PT6H, P1D) as people say it; 'none' when nothing brings it back. */
export function recoveryTime(iso: string): string {
  if (iso === 'none') return 'none: it cannot be undone';
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(iso);
  if (!m || iso === 'P' || iso.endsWith('T')) return iso;
  const parts = (['day', 'hour', 'minute', 'second'] as const)
    .map((unit, i) => ({ unit, n: Number(m[i + 1] ?? 0) }))
    .filter((x) => x.n > 0)
    .map((x) => `${x.n} ${x.unit}${x.n === 1 ? '' : 's'}`);
  return parts.length ? `about ${parts.join(' ')}` : iso;
}
