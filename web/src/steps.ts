// How a plan reads: which of its findings its page reads, the expected recovery time of a step's rollback in words, and what an
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

/** A finding as a plan's page lists it (blank fields when it is listed by id only). */
export interface FindingSummary {
  id: string;
  check_id: string;
  resource_id: string;
  severity: string;
}

/** How many of a plan's findings its page reads one request each (a plan answers up to 100). */
export const FINDINGS_READ = 25;

/**
 * The findings a plan's page lists: the first FINDINGS_READ read with `read` (one request each, so a
 * page view stays well inside a session's rate limit), the rest by id only; all by id for someone
 * who may not read the plan's domain; a finding that cannot be read, by id.
 */
export async function planFindingRows(
  ids: string[],
  mayRead: boolean,
  read: (id: string) => Promise<FindingSummary>,
): Promise<FindingSummary[]> {
  const bare = (id: string): FindingSummary => ({
    id,
    check_id: '',
    resource_id: '',
    severity: '',
  });
  const first = ids.slice(0, FINDINGS_READ);
  return [
    ...(mayRead
      ? await Promise.all(first.map((id) => read(id).catch(() => bare(id))))
      : first.map(bare)),
    ...ids.slice(FINDINGS_READ).map(bare),
  ];
}
