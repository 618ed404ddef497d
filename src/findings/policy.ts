// Reading resource and trust policies: who a statement lets in, and whether its Condition pins it
// down. Shared by the S3 public evaluation and the third-party trust check.
import type { PolicyStatement, PublicAccessBlock } from '../cloud/inventory.js';

export const ALL_USERS_URI = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS_URI = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';

export function asList(v: string | string[] | undefined | null): string[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** The AWS principals a statement names ('*' for anyone). Service and federated principals are left out. */
export function awsPrincipals(p: PolicyStatement['Principal']): string[] {
  if (p === undefined) return [];
  if (p === '*') return ['*'];
  const out: string[] = [];
  for (const [k, v] of Object.entries(p)) if (k === 'AWS') out.push(...asList(v));
  return out;
}

/** Principal "*" or {"AWS": "*"} (in any position of a list). */
export function namesEveryone(s: PolicyStatement): boolean {
  if (s.Principal === '*') return true;
  return awsPrincipals(s.Principal).includes('*');
}

/** The account a principal belongs to: a 12-digit id or an IAM/STS ARN's account; null for '*'. */
export function principalAccount(p: string): string | null {
  if (/^\d{12}$/.test(p)) return p;
  const m = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(p);
  return m ? m[1]! : null;
}

/** Condition keys that, pinned to wildcard-free values, keep a Principal-"*" statement from being public. */
export const PINNING_KEYS = [
  'aws:sourcearn',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourceaccount',
  'aws:sourceowner',
  'aws:principalorgid',
  'aws:principalaccount',
  'aws:principalarn',
  'aws:userid',
  'aws:sourceip',
] as const;

const PINNING_OPERATORS = new Set([
  'stringequals',
  'stringequalsignorecase',
  'stringlike',
  'arnequals',
  'arnlike',
  'ipaddress',
]);

const wildcardFree = (v: string): boolean => v.length > 0 && !/[*?]/.test(v);

/** An IP condition value narrow enough to pin: IPv4 /8 or longer, IPv6 /32 or longer. */
function narrowCidr(v: string): boolean {
  const [addr, len] = v.split('/');
  if (!addr) return false;
  const isV6 = addr.includes(':');
  if (len === undefined) return true;
  const n = Number(len);
  if (!Number.isInteger(n)) return false;
  return isV6 ? n >= 32 : n >= 8;
}

export interface Pin {
  operator: string;
  key: string;
}

/**
 * The condition entries that pin the statement to a specific source or principal (empty: not pinned).
 * `…IfExists` and `ForAllValues:` do not pin: they hold when the key is absent.
 */
export function pinningConditions(s: PolicyStatement): Pin[] {
  const pins: Pin[] = [];
  for (const [rawOp, block] of Object.entries(s.Condition ?? {})) {
    let op = rawOp.toLowerCase();
    if (op.endsWith('ifexists') || op.startsWith('forallvalues:')) continue;
    if (op.startsWith('foranyvalue:')) op = op.slice('foranyvalue:'.length);
    if (!PINNING_OPERATORS.has(op) || typeof block !== 'object' || block === null) continue;
    for (const [rawKey, value] of Object.entries(block)) {
      const key = rawKey.toLowerCase();
      if (!(PINNING_KEYS as readonly string[]).includes(key)) continue;
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0) continue;
      const ok = values.every((x) => {
        if (typeof x !== 'string') return false;
        if (key === 'aws:sourceip') return op === 'ipaddress' && narrowCidr(x);
        return op !== 'ipaddress' && wildcardFree(x);
      });
      if (ok) pins.push({ operator: rawOp, key: rawKey });
    }
  }
  return pins;
}

/** A statement that grants anyone access: Allow, Principal "*" (or NotPrincipal), not pinned by a Condition. */
export function isPublicStatement(s: PolicyStatement): boolean {
  if (s.Effect !== 'Allow') return false;
  const everyone = namesEveryone(s) || s.NotPrincipal !== undefined;
  return everyone && pinningConditions(s).length === 0;
}

export function fullBlock(b: PublicAccessBlock | null | undefined): boolean {
  return (
    !!b && b.blockPublicAcls && b.ignorePublicAcls && b.blockPublicPolicy && b.restrictPublicBuckets
  );
}

/** A trust statement's External ID condition: StringEquals on sts:ExternalId with non-empty values. */
export function hasExternalIdCondition(s: PolicyStatement): boolean {
  for (const [op, block] of Object.entries(s.Condition ?? {})) {
    if (op !== 'StringEquals' || typeof block !== 'object' || block === null) continue;
    for (const [key, value] of Object.entries(block)) {
      if (key.toLowerCase() !== 'sts:externalid') continue;
      const values = Array.isArray(value) ? value : [value];
      if (values.length > 0 && values.every((v) => typeof v === 'string' && v.length > 0))
        return true;
    }
  }
  return false;
}
