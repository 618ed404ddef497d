// The memory policy of an Axiom process (server, worker, `axiom scan`). V8's own policy suits short
// bursts of allocation badly: it grows the young generation to 32 MB and lets the old generation grow to
// several times its live data between full collections, so a 10,000-resource scan (every AWS response
// parsed, mapped and dropped) peaked at ~480 MB of RSS over ~90 MB of live heap. The lean policy keeps
// the young generation at its initial size and lets the old generation grow 60% past its live data:
// more, smaller collections, and a peak near what is live (bench/REPORT.md, Scanning).
// AXIOM_MEMORY=v8 keeps V8's own policy.
import v8 from 'node:v8';

/** The memory policies AXIOM_MEMORY accepts. */
export const MEMORY_POLICIES = ['lean', 'v8'] as const;
export type MemoryPolicy = (typeof MEMORY_POLICIES)[number];

/** How far the old generation may grow past its live data before a full collection, in percent. */
export const LEAN_HEAP_GROWTH_PERCENT = 60;

/**
 * Apply a memory policy to this process. Call it first, before the rest of Axiom is loaded: the young
 * generation grows from its initial size as soon as loading allocates.
 */
export function applyMemoryPolicy(policy: MemoryPolicy): void {
  if (policy === 'v8') return;
  if (policy !== 'lean') throw new RangeError(`unknown memory policy ${String(policy)}`);
  v8.setFlagsFromString(`--heap-growing-percent=${LEAN_HEAP_GROWTH_PERCENT}`);
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
