// The memory policy (src/heap.ts), applied as bin/axiom.js applies it, in processes of their own (V8's
// flags are per process): under `lean` the young generation keeps its initial size while a scan-like
// load allocates; under `v8` it grows to V8's maximum. The effect on a scan's peak RSS is measured in
// bench/scan.ts, not here.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { applyMemoryPolicy, type MemoryPolicy } from '../src/heap.js';

function run(policy: MemoryPolicy): { youngBytes: number; peakHeapBytes: number } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'test/support/memory-child.ts', policy],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { youngBytes: number; peakHeapBytes: number };
}

describe('memory policy', () => {
  it('lean keeps the young generation small under a scan-like load; v8 lets it grow', () => {
    const lean = run('lean');
    const own = run('v8');
    expect(lean.youngBytes).toBeLessThanOrEqual(8 * 2 ** 20);
    expect(own.youngBytes).toBeGreaterThanOrEqual(16 * 2 ** 20);
  }, 120_000);

  it('is lean unless configured otherwise, and refuses an unknown policy', () => {
    expect(loadConfig({}).memory).toBe('lean');
    expect(loadConfig({ AXIOM_MEMORY: 'v8' }).memory).toBe('v8');
    expect(() => loadConfig({ AXIOM_MEMORY: 'tiny' })).toThrow(/AXIOM_MEMORY/);
    expect(() => applyMemoryPolicy('tiny' as MemoryPolicy)).toThrow(/unknown memory policy/);
  });
});
