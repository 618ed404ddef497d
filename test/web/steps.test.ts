// How a plan reads (web/src/steps.ts): a queued rollback must not look done; recovery times in
// words; a plan's page reads at most FINDINGS_READ of its findings.
import { describe, expect, it } from 'vitest';
import {
  FINDINGS_READ,
  planFindingRows,
  recoveryTime,
  shownStepState,
  type FindingSummary,
} from '../../web/src/steps.js';

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

describe('planFindingRows', () => {
  const ids = Array.from({ length: 100 }, (_, i) => `f${i}`);
  const reader = () => {
    const asked: string[] = [];
    const read = (id: string): Promise<FindingSummary> => {
      asked.push(id);
      if (id === 'f3') return Promise.reject(new Error('404'));
      return Promise.resolve({ id, check_id: 'c', resource_id: `r-${id}`, severity: 'high' });
    };
    return { asked, read };
  };

  it('reads the first 25 findings of a plan of 100, one request each, and lists the rest by id', async () => {
    const { asked, read } = reader();
    const rows = await planFindingRows(ids, true, read);
    expect(FINDINGS_READ).toBe(25);
    expect(asked).toEqual(ids.slice(0, 25));
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(rows[0]).toMatchObject({ resource_id: 'r-f0', severity: 'high' });
    // One that cannot be read, and those past the first 25, are listed by id only.
    for (const r of [rows[3]!, rows[25]!, rows[99]!]) expect(r.resource_id).toBe('');
  });

  it('reads none for someone who may not read the plan’s domain', async () => {
    const { asked, read } = reader();
    const rows = await planFindingRows(ids.slice(0, 5), false, read);
    expect(asked).toEqual([]);
    expect(rows.map((r) => [r.id, r.check_id])).toEqual(ids.slice(0, 5).map((id) => [id, '']));
  });
});
