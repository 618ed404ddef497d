// What an execution's timeline says about each step. A rollback execution starts from the progress
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
