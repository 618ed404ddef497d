// What a new version of a controlled record changes, key by key, for the reviewer who signs it (the
// dashboard's change request page and `axiom change-request show`): a key added, removed, or given
// another value (compared as JSON: nested objects and lists as a whole). No imports: the dashboard's
// bundle includes it as it is.

export interface ContentChange {
  key: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/** Keys of `after` that differ from `before`, in key order. Key order inside values does not count. */
export function contentChanges(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): ContentChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const out: ContentChange[] = [];
  for (const key of keys) {
    const had = Object.prototype.hasOwnProperty.call(before, key);
    const has = Object.prototype.hasOwnProperty.call(after, key);
    if (had && !has) out.push({ key, kind: 'removed', before: before[key] });
    else if (!had && has) out.push({ key, kind: 'added', after: after[key] });
    else if (canonical(before[key]) !== canonical(after[key]))
      out.push({ key, kind: 'changed', before: before[key], after: after[key] });
  }
  return out;
}

/** JSON with object keys sorted, so that {a,b} and {b,a} compare equal (as jsonb does). */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : x,
  );
}
