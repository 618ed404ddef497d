// A resource's configuration fingerprint: what "changed since the accepted baseline" compares. It
// covers the type, the metadata and the tags, minus what changes without anyone changing anything
// (utilization series, last-used stamps).
import { hash } from 'node:crypto';
import type { AnyInventoryResource } from '../cloud/inventory.js';

/** Fields left out of the fingerprint, per type: usage, not configuration. */
export const VOLATILE_FIELDS: Partial<Record<string, readonly string[]>> = {
  'AWS::EC2::Instance': ['utilization'],
  'AWS::RDS::DBInstance': ['utilization'],
  'AWS::IAM::AccessKey': ['lastUsedDate', 'lastUsedService'],
  'AWS::IAM::User': ['passwordLastUsed'],
};

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + stableStringify(v[i]);
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const x = o[k];
    if (x === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${stableStringify(x)}`;
    first = false;
  }
  return `${out}}`;
}

/** First 16 hex digits of SHA-256 over the canonical JSON of {type, data (less volatile fields), tags}. */
export function fingerprintResource(r: AnyInventoryResource): string {
  const volatile = VOLATILE_FIELDS[r.type];
  let data = r.data as unknown as Record<string, unknown>;
  if (volatile) {
    data = { ...data };
    for (const f of volatile) delete data[f];
  }
  return hash('sha256', stableStringify({ type: r.type, data, tags: r.tags }), 'hex').slice(0, 16);
}
