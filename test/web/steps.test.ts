// The execution timeline's step states (web/src/steps.ts): a queued rollback must not look done.
import { describe, expect, it } from 'vitest';
import { shownStepState } from '../../web/src/steps.js';

describe('shownStepState', () => {
  it('shows an execution step as the executor recorded it', () => {
    expect(shownStepState(null, { state: 'verified' })).toBe('verified');
    expect(
      shownStepState(undefined, { state: 'rolled_back', rollback: { status: 'rolled_back' } }),
    ).toBe('rolled_back');
  });

  it("shows a rollback's step by how far its undo got, not the original's state", () => {
    // Queued: the progress is still the original execution's, every step "verified".
    expect(shownStepState('e1', { state: 'verified' })).toBe('waiting');
    expect(shownStepState('e1', { state: 'verified', rollback: { status: 'rolling_back' } })).toBe(
      'rolling_back',
    );
    expect(
      shownStepState('e1', { state: 'rolled_back', rollback: { status: 'rolled_back' } }),
    ).toBe('rolled_back');
  });
});
