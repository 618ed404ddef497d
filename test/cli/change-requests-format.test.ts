// `axiom change-request show`: what a new version changes, as lines (src/cli/commands/change-requests.ts).
import { describe, expect, it } from 'vitest';
import { changeLines } from '../../src/cli/commands/change-requests.js';

const effective = (content: Record<string, unknown>) => ({ record_id: 'r1', version: 3, content });

describe('changeLines', () => {
  it('says each setting added, removed or changed, with its values as JSON', () => {
    expect(
      changeLines(effective({ cap: 5, mode: 'recommend', old: true }), {
        cap: 2,
        mode: 'recommend',
        tags: ['Owner'],
      }),
    ).toEqual([
      '  what changes against version 3 (effective):',
      '    cap: 5 -> 2',
      '    old: removed (was true)',
      '    tags: added ["Owner"]',
    ]);
  });

  it('says so when the new version changes nothing', () => {
    expect(changeLines(effective({ cap: 2 }), { cap: 2 })).toEqual([
      '  what changes against version 3 (effective):',
      '    nothing: the new version says what the effective one says',
    ]);
  });
});
