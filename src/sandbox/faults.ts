// Fault injection: rules matched per (service, operation, account), decided with a seeded PRNG
// so a run is reproducible for the same sequence of calls.
import { createRng, type Rng } from './prng.js';

export type FaultKind =
  'throttle' | 'latency' | 'error' | 'accessDenied' | 'deleteRole' | 'expireCredentials';

export interface FaultRule {
  /** Assigned when added unless given. */
  id?: string;
  kind: FaultKind;
  /** Service name as in the sandbox (sts, iam, ec2, s3, s3control, rds, cloudtrail, cloudwatch, kms, secretsmanager) or '*'. */
  service: string;
  /** Operation name (DescribeInstances) or '*' (default). */
  operation?: string;
  /** Only calls made in this account. */
  accountId?: string;
  /** Only calls signed for this region (e.g. a regional outage). */
  region?: string;
  /** Probability that a matching call is affected (throttle, latency, error, accessDenied); default 1. */
  rate?: number;
  /** latency: added delay in ms. */
  latencyMs?: number;
  /** error: 500 (InternalError) or 503 (ServiceUnavailable); default 500. */
  status?: 500 | 503;
  /** deleteRole / expireCredentials: fire once, after this many matching calls (default 0). */
  afterCalls?: number;
  /** deleteRole: the role to delete; expireCredentials: only sessions of this role. */
  roleName?: string;
  /** Stop affecting calls after this many hits. */
  maxHits?: number;
}

export interface FaultDecision {
  delayMs: number;
  error?: 'throttle' | 'error500' | 'error503' | 'accessDenied';
  deleteRoles: { accountId?: string; roleName: string }[];
  expireSessions: { accountId?: string; roleName?: string }[];
}

interface LiveRule {
  rule: FaultRule & { id: string };
  rng: Rng;
  calls: number;
  hits: number;
  fired: boolean;
}

export class FaultEngine {
  private rules: LiveRule[] = [];
  private counter = 0;
  constructor(private readonly seed: string) {}

  add(rule: FaultRule): string {
    const id = rule.id ?? `fault-${++this.counter}`;
    if (this.rules.some((r) => r.rule.id === id)) throw new Error(`fault ${id} already exists`);
    this.rules.push({
      rule: { ...rule, id },
      rng: createRng(`${this.seed}/fault/${id}`),
      calls: 0,
      hits: 0,
      fired: false,
    });
    return id;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.rule.id !== id);
    return this.rules.length < before;
  }

  clear(): void {
    this.rules = [];
  }

  list(): (FaultRule & { id: string; calls: number; hits: number })[] {
    return this.rules.map((r) => ({ ...r.rule, calls: r.calls, hits: r.hits }));
  }

  get active(): boolean {
    return this.rules.length > 0;
  }

  decide(service: string, operation: string, accountId: string, region?: string): FaultDecision {
    const d: FaultDecision = { delayMs: 0, deleteRoles: [], expireSessions: [] };
    for (const r of this.rules) {
      const rule = r.rule;
      if (rule.service !== '*' && rule.service !== service) continue;
      if (rule.operation && rule.operation !== '*' && rule.operation !== operation) continue;
      if (rule.accountId && rule.accountId !== accountId) continue;
      if (rule.region && rule.region !== region) continue;
      if (rule.maxHits !== undefined && r.hits >= rule.maxHits) continue;
      r.calls++;
      if (rule.kind === 'deleteRole' || rule.kind === 'expireCredentials') {
        if (!r.fired && r.calls > (rule.afterCalls ?? 0)) {
          r.fired = true;
          r.hits++;
          if (rule.kind === 'deleteRole' && rule.roleName)
            d.deleteRoles.push({ accountId: rule.accountId, roleName: rule.roleName });
          if (rule.kind === 'expireCredentials')
            d.expireSessions.push({ accountId: rule.accountId, roleName: rule.roleName });
        }
        continue;
      }
      if (!r.rng.chance(rule.rate ?? 1)) continue;
      r.hits++;
      if (rule.kind === 'latency') d.delayMs += rule.latencyMs ?? 0;
      else if (!d.error) {
        d.error =
          rule.kind === 'throttle'
            ? 'throttle'
            : rule.kind === 'accessDenied'
              ? 'accessDenied'
              : rule.status === 503
                ? 'error503'
                : 'error500';
      }
    }
    return d;
  }
}
