// How steps read (web/src/steps.ts): a queued rollback must not look done; recovery times in words.
import { describe, expect, it } from 'vitest';
import { recoveryTime, shownStepState } from '../../web/src/steps.js';

describe('recoveryTime', () => {
  it("says the catalog's durations in words", () => {
    expect(recoveryTime('PT1M')).toBe('about 1 minute');
    expect(recoveryTime('PT15M')).toBe('about 15 minutes');
    expect(recoveryTime('PT6H')).toBe('about 6 hours');
    expect(recoveryTime('P1DT2H30M')).toBe('about 1 day 2 hours 30 minutes');
    expect(recoveryTime('none')).toBe('none: it cannot be undone');
  });

  it('shows anything else as it came, never a made-up duration', () => {
    for (const v of ['P', 'PT', 'PT0M', '1 minute', 'P1W', '<script>', ''])
      expect(recoveryTime(v)).toBe(v);
  });
});

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
