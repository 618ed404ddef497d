// What a new version changes, key by key (src/records/content-changes.ts), as a reviewer reads it before signing.
import { describe, expect, it } from 'vitest';
import { contentChanges } from '../../src/records/content-changes.js';

describe('contentChanges', () => {
  it('names each key added, removed or changed, in key order', () => {
    expect(
      contentChanges(
        { autonomy_tier: 'recommend', blast_radius_cap: 5, tags: ['Owner'] },
        { autonomy_tier: 'recommend', blast_radius_cap: 2, notes: 'tighter', tags: ['Owner'] },
      ),
    ).toEqual([
      { key: 'blast_radius_cap', kind: 'changed', before: 5, after: 2 },
      { key: 'notes', kind: 'added', after: 'tighter' },
    ]);
    expect(contentChanges({ a: 1, b: { x: 1 } }, { a: 1 })).toEqual([
      { key: 'b', kind: 'removed', before: { x: 1 } },
    ]);
  });

  it('compares nested values as JSON, ignoring key order but not list order or types', () => {
    expect(contentChanges({ o: { a: 1, b: 2 } }, { o: { b: 2, a: 1 } })).toEqual([]);
    expect(contentChanges({ l: [1, 2] }, { l: [2, 1] })).toHaveLength(1);
    expect(contentChanges({ n: 1 }, { n: '1' })).toHaveLength(1);
    expect(contentChanges({ n: null }, { n: null })).toEqual([]);
  });

  it('is not fooled by inherited keys', () => {
    expect(
      contentChanges({}, JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>),
    ).toEqual([{ key: '__proto__', kind: 'added', after: { x: 1 } }]);
    expect(contentChanges({ toString: 1 }, {})).toEqual([
      { key: 'toString', kind: 'removed', before: 1 },
    ]);
  });
});
