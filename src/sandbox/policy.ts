// IAM policy documents: parsing, evaluation (explicit Deny > Allow > implicit deny; action and
// resource wildcards; the common condition operators), trust-policy principal matching, and
// the "is this bucket policy public" analysis S3 uses for GetBucketPolicyStatus.

export type ConditionBlock = Record<string, Record<string, unknown>>;
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Principal?: '*' | Record<string, string[]>;
  NotPrincipal?: '*' | Record<string, string[]>;
  Condition?: ConditionBlock;
}
export interface PolicyDocument {
  Version?: string;
  Statement: Statement[];
}

export class PolicyParseError extends Error {}

const asList = (v: unknown, what: string): string[] => {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw new PolicyParseError(`${what} must be a string or a list of strings`);
};

function parsePrincipal(v: unknown): '*' | Record<string, string[]> {
  if (v === '*') return '*';
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const out: Record<string, string[]> = {};
    for (const [k, val] of Object.entries(v)) out[k] = asList(val, `Principal.${k}`);
    return out;
  }
  throw new PolicyParseError('Principal must be "*" or an object');
}

/** Parse and validate a policy JSON text; throws PolicyParseError with a reason. */
export function parsePolicy(
  text: string,
  opts: { requirePrincipal?: boolean } = {},
): PolicyDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new PolicyParseError('Syntax errors in policy.');
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new PolicyParseError('Syntax errors in policy.');
  const doc = raw as Record<string, unknown>;
  if (doc.Version !== undefined && doc.Version !== '2012-10-17' && doc.Version !== '2008-10-17')
    throw new PolicyParseError('The policy must contain a valid version string');
  const stmts = doc.Statement;
  if (stmts === undefined) throw new PolicyParseError('Missing required field Statement');
  const list = Array.isArray(stmts) ? stmts : [stmts];
  const out: Statement[] = [];
  for (const s of list) {
    if (!s || typeof s !== 'object') throw new PolicyParseError('Syntax errors in policy.');
    const st = s as Record<string, unknown>;
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny')
      throw new PolicyParseError('Missing required field Effect');
    if (st.Action === undefined && st.NotAction === undefined)
      throw new PolicyParseError('Policy statement must contain actions.');
    const stmt: Statement = { Effect: st.Effect };
    if (typeof st.Sid === 'string') stmt.Sid = st.Sid;
    if (st.Action !== undefined) stmt.Action = asList(st.Action, 'Action');
    if (st.NotAction !== undefined) stmt.NotAction = asList(st.NotAction, 'NotAction');
    if (st.Resource !== undefined) stmt.Resource = asList(st.Resource, 'Resource');
    if (st.NotResource !== undefined) stmt.NotResource = asList(st.NotResource, 'NotResource');
    if (st.Principal !== undefined) stmt.Principal = parsePrincipal(st.Principal);
    if (st.NotPrincipal !== undefined) stmt.NotPrincipal = parsePrincipal(st.NotPrincipal);
    if (opts.requirePrincipal && !stmt.Principal && !stmt.NotPrincipal)
      throw new PolicyParseError('Missing required field Principal');
    if (st.Condition !== undefined) {
      if (!st.Condition || typeof st.Condition !== 'object' || Array.isArray(st.Condition))
        throw new PolicyParseError('Syntax errors in policy.');
      stmt.Condition = st.Condition as ConditionBlock;
    }
    out.push(stmt);
  }
  return { Version: doc.Version as string | undefined, Statement: out };
}

const globCache = new Map<string, RegExp>();
/** Match with IAM wildcards (* and ?); case-insensitive when asked (actions). */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (pattern === '*') return true;
  if (!pattern.includes('*') && !pattern.includes('?'))
    return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  const key = (ignoreCase ? 'i:' : 's:') + pattern;
  let re = globCache.get(key);
  if (!re) {
    const src = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${src}$`, ignoreCase ? 'is' : 's');
    if (globCache.size > 10_000) globCache.clear();
    globCache.set(key, re);
  }
  return re.test(value);
}

export type ContextValue = string | string[] | boolean | number | undefined;
export type RequestContext = Record<string, ContextValue>;

function ctxValues(ctx: RequestContext, key: string): string[] | undefined {
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(ctx)) {
    if (k.toLowerCase() !== lower) continue;
    if (v === undefined) return undefined;
    return Array.isArray(v) ? v : [String(v)];
  }
  return undefined;
}

function ipInCidr(ip: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  const toNum = (s: string): number | undefined => {
    const p = s.split('.').map(Number);
    if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return undefined;
    return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
  };
  const a = toNum(ip);
  const b = toNum(net ?? '');
  if (a === undefined || b === undefined) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (a & mask) === (b & mask);
}

function testOperator(op: string, actual: string, expected: string): boolean | undefined {
  switch (op) {
    case 'StringEquals':
    case 'ArnEquals':
      return actual === expected;
    case 'StringNotEquals':
    case 'ArnNotEquals':
      return actual !== expected;
    case 'StringEqualsIgnoreCase':
      return actual.toLowerCase() === expected.toLowerCase();
    case 'StringNotEqualsIgnoreCase':
      return actual.toLowerCase() !== expected.toLowerCase();
    case 'StringLike':
    case 'ArnLike':
      return globMatch(expected, actual);
    case 'StringNotLike':
    case 'ArnNotLike':
      return !globMatch(expected, actual);
    case 'Bool':
      return actual.toLowerCase() === expected.toLowerCase();
    case 'NumericEquals':
      return Number(actual) === Number(expected);
    case 'NumericNotEquals':
      return Number(actual) !== Number(expected);
    case 'NumericLessThan':
      return Number(actual) < Number(expected);
    case 'NumericLessThanEquals':
      return Number(actual) <= Number(expected);
    case 'NumericGreaterThan':
      return Number(actual) > Number(expected);
    case 'NumericGreaterThanEquals':
      return Number(actual) >= Number(expected);
    case 'DateLessThan':
      return Date.parse(actual) < Date.parse(expected);
    case 'DateGreaterThan':
      return Date.parse(actual) > Date.parse(expected);
    case 'IpAddress':
      return ipInCidr(actual, expected);
    case 'NotIpAddress':
      return !ipInCidr(actual, expected);
    default:
      return undefined;
  }
}

const NEGATED = new Set([
  'StringNotEquals',
  'ArnNotEquals',
  'StringNotEqualsIgnoreCase',
  'StringNotLike',
  'ArnNotLike',
  'NumericNotEquals',
  'NotIpAddress',
]);

/** Evaluate a Condition block against the request context. Unknown operators never match. */
export function conditionsMatch(cond: ConditionBlock | undefined, ctx: RequestContext): boolean {
  if (!cond) return true;
  for (const [rawOp, entries] of Object.entries(cond)) {
    let op = rawOp;
    let setMode: 'any' | 'all' | undefined;
    if (op.startsWith('ForAnyValue:')) {
      setMode = 'any';
      op = op.slice(12);
    } else if (op.startsWith('ForAllValues:')) {
      setMode = 'all';
      op = op.slice(13);
    }
    const ifExists = op.endsWith('IfExists');
    if (ifExists) op = op.slice(0, -8);
    if (!entries || typeof entries !== 'object') return false;
    for (const [key, expectedRaw] of Object.entries(entries)) {
      const expected = (Array.isArray(expectedRaw) ? expectedRaw : [expectedRaw]).map(String);
      const actual = ctxValues(ctx, key);
      if (op === 'Null') {
        const wantNull = expected[0]?.toLowerCase() === 'true';
        if ((actual === undefined) !== wantNull) return false;
        continue;
      }
      if (actual === undefined) {
        if (ifExists || setMode === 'all') continue;
        if (NEGATED.has(op)) continue;
        return false;
      }
      const negated = NEGATED.has(op);
      const one = (a: string): boolean => {
        if (negated) return expected.every((e) => testOperator(op, a, e) === true);
        return expected.some((e) => testOperator(op, a, e) === true);
      };
      const ok = setMode === 'all' ? actual.every(one) : actual.some(one);
      if (!ok) return false;
    }
  }
  return true;
}

export interface EvalRequest {
  action: string;
  resource: string;
  context: RequestContext;
}

function statementApplies(s: Statement, req: EvalRequest): boolean {
  if (s.Action && !s.Action.some((a) => globMatch(a, req.action, true))) return false;
  if (s.NotAction && s.NotAction.some((a) => globMatch(a, req.action, true))) return false;
  if (s.Resource && !s.Resource.some((r) => globMatch(r, req.resource))) return false;
  if (s.NotResource && s.NotResource.some((r) => globMatch(r, req.resource))) return false;
  return conditionsMatch(s.Condition, req.context);
}

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

/** Evaluate one set of policies: Deny wins, then Allow, else implicit deny. */
export function evaluate(policies: PolicyDocument[], req: EvalRequest): Decision {
  let allowed = false;
  for (const p of policies) {
    for (const s of p.Statement) {
      if (!statementApplies(s, req)) continue;
      if (s.Effect === 'Deny') return 'explicit-deny';
      allowed = true;
    }
  }
  return allowed ? 'allow' : 'implicit-deny';
}

export interface CallerPrincipal {
  accountId: string;
  /** The IAM ARN of the principal (for a session: the role's ARN, not the assumed-role ARN). */
  principalArn: string;
}

/** Does a Principal element name this caller? (AWS principals only; "*" matches everyone.) */
export function principalMatches(
  p: '*' | Record<string, string[]> | undefined,
  caller: CallerPrincipal,
): boolean {
  if (!p) return false;
  if (p === '*') return true;
  const aws = p.AWS;
  if (!aws) return false;
  return aws.some((entry) => {
    if (entry === '*') return true;
    if (/^\d{12}$/.test(entry)) return entry === caller.accountId;
    if (entry === `arn:aws:iam::${caller.accountId}:root`) return true;
    return entry === caller.principalArn;
  });
}

/** A resource-based or trust policy: statements whose Principal names the caller. */
export function evaluateResourcePolicy(
  doc: PolicyDocument,
  caller: CallerPrincipal,
  req: EvalRequest,
): Decision {
  let allowed = false;
  for (const s of doc.Statement) {
    if (s.Principal && !principalMatches(s.Principal, caller)) continue;
    if (s.NotPrincipal && principalMatches(s.NotPrincipal, caller)) continue;
    if (!s.Principal && !s.NotPrincipal) continue;
    if (!statementApplies(s, req)) continue;
    if (s.Effect === 'Deny') return 'explicit-deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}

/**
 * Condition keys that, with fixed (wildcard-free) values, make a statement non-public in S3's
 * analysis (the documented "fixed values" keys for Block Public Access / policy status).
 */
const RESTRICTING_KEYS = new Set(
  [
    'aws:SourceArn',
    'aws:SourceVpc',
    'aws:SourceVpce',
    'aws:SourceAccount',
    'aws:SourceOwner',
    'aws:PrincipalOrgID',
    'aws:PrincipalAccount',
    'aws:PrincipalArn',
    'aws:userid',
    'aws:SourceIp',
    's3:DataAccessPointArn',
    's3:DataAccessPointAccount',
  ].map((k) => k.toLowerCase()),
);
const RESTRICTING_OPS = new Set([
  'StringEquals',
  'StringEqualsIgnoreCase',
  'ArnEquals',
  'StringLike',
  'ArnLike',
  'IpAddress',
]);

function statementIsPublic(s: Statement): boolean {
  if (s.Effect !== 'Allow') return false;
  const p = s.Principal;
  const everyone =
    p === '*' || (p !== undefined && Object.values(p).some((list) => list.includes('*')));
  if (!everyone) return false;
  if (!s.Condition) return true;
  for (const [rawOp, entries] of Object.entries(s.Condition)) {
    const op = rawOp.replace(/^ForAnyValue:|^ForAllValues:/, '').replace(/IfExists$/, '');
    if (!RESTRICTING_OPS.has(op) || rawOp.endsWith('IfExists')) continue;
    for (const [key, value] of Object.entries(entries ?? {})) {
      if (!RESTRICTING_KEYS.has(key.toLowerCase())) continue;
      const values = (Array.isArray(value) ? value : [value]).map(String);
      const fixed = values.every((v) => !v.includes('*') && !v.includes('?'));
      if (!fixed) continue;
      if (key.toLowerCase() === 'aws:sourceip') {
        // A range counts as restricting unless it is the whole internet (or close to it).
        const broad = values.some((v) => /\/([0-7])$/.test(v) || v === '0.0.0.0/0' || v === '::/0');
        if (broad) continue;
      }
      return false;
    }
  }
  return true;
}

/** S3's policy-status analysis: public when any Allow statement grants to everyone unrestricted. */
export function isPolicyPublic(doc: PolicyDocument): boolean {
  return doc.Statement.some(statementIsPublic);
}
