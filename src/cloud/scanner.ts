// One scan, end to end: claim it (agent session), release the sealed role ARN (only for a running
// scan), assume the role with the External ID for at most an hour, collect every (service, region)
// unit in parallel under the account's rate limiter, ingest in batches, write the final status last.
// The temporary credentials live only in this function's AwsSession and are dropped at the end.
import { completeServices, syncScanFindings, type FindingsSummary } from '../findings/scan.js';
import { DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import type { Api, Caller } from '../db/api.js';
import type { Logger } from '../logger.js';
import type { DataKeys } from '../security/datakeys.js';
import { redactSecrets } from '../security/redact.js';
import { AwsSession, HOME_REGION, assumeRole, platformSts, type CloudSettings } from './aws.js';
import {
  collectCloudTrail,
  collectEc2,
  collectIam,
  collectKms,
  collectRds,
  collectS3,
  collectUtilization,
  type CollectContext,
} from './collectors.js';
import { FirewallRefusal } from './firewall.js';
import { SERVICE_OF, type AnyInventoryResource } from './inventory.js';
import { AccountLimiter, BudgetExceeded, UnitCaller, errorCode } from './limiter.js';

export interface ScanLimits {
  /** Concurrent calls per (region, service). */
  concurrency: number;
  /** Calls per second for the whole account. */
  ratePerSecond: number;
  /** Time budget of one (service, region). */
  serviceBudgetMs: number;
}

export interface ScannerDeps {
  api: Api;
  dataKeys: DataKeys;
  settings: CloudSettings;
  logger: Logger;
  limits: ScanLimits;
}

export interface ScanError {
  unit: string;
  service: string;
  region: string;
  code: string;
  message: string;
  httpStatus?: number;
}

export interface ScanOutcome {
  status: 'succeeded' | 'partial' | 'failed' | 'cancelled';
  resources: number;
  errors: ScanError[];
  calls: number;
}

const BATCH = 500;

export function sealContext(organizationId: string, connectionId: string, slot: string): string {
  return `connection:${organizationId}:${connectionId}:${slot}`;
}

/** The scan unit (service:region) whose complete collection vouches for a resource's absence. */
export function unitOf(r: AnyInventoryResource): string {
  const service = SERVICE_OF[r.type];
  return service === 's3' || service === 'iam' ? `${service}:global` : `${service}:${r.region}`;
}

function describeError(unit: string, e: unknown): ScanError {
  const [service = unit, region = 'global'] = unit.split(':');
  const err = e as { message?: string; $metadata?: { httpStatusCode?: number } };
  return {
    unit,
    service,
    region,
    code:
      e instanceof FirewallRefusal
        ? 'FirewallRefusal'
        : e instanceof BudgetExceeded
          ? 'TimeBudgetExceeded'
          : errorCode(e),
    // AWS messages name ARNs ("User: arn:aws:sts::…:assumed-role/… is not authorized"): redacted.
    message: redactSecrets(String(err.message ?? e)).slice(0, 1000),
    ...(err.$metadata?.httpStatusCode ? { httpStatus: err.$metadata.httpStatusCode } : {}),
  };
}

interface Claim {
  scan: { id: string; status: string };
  connection?: { id: string; account_id: string; regions: string[] | null; facility_id: string };
}

export async function runScan(
  deps: ScannerDeps,
  agent: Caller,
  organizationId: string,
  scanId: string,
  onProgress?: (p: Record<string, unknown>) => void,
): Promise<ScanOutcome> {
  const { api, logger } = deps;
  const log = logger.child({ scanId });
  const claim = await api.call<Claim>('scan_claim', agent, scanId);
  if (!claim.connection || claim.scan.status !== 'running') {
    log.info({ status: claim.scan.status }, 'scan not run');
    return { status: 'cancelled', resources: 0, errors: [], calls: 0 };
  }
  const conn = claim.connection;
  const started = Date.now();
  const errors: ScanError[] = [];
  const finish = async (
    status: 'succeeded' | 'partial' | 'failed',
    summary: Record<string, unknown>,
    complete: string[],
    assumeRefused = false,
  ) => {
    try {
      await api.call(
        'scan_finish',
        agent,
        scanId,
        status,
        errors,
        summary,
        complete,
        assumeRefused,
      );
    } catch (e) {
      // Disconnected (and so cancelled) while running: nothing more to write.
      if ((e as { reason?: string }).reason !== 'scan_not_running') throw e;
    }
  };

  let roleArn: string;
  let externalIds: string[];
  try {
    const creds = await api.call<{ role_arn_sealed: string; external_ids: string[] }>(
      'connection_credentials',
      agent,
      conn.id,
      'scan',
      scanId,
    );
    roleArn = await deps.dataKeys.open(
      agent,
      organizationId,
      creds.role_arn_sealed,
      sealContext(organizationId, conn.id, 'scan'),
    );
    externalIds = creds.external_ids;
  } catch (e) {
    errors.push(describeError('sts:global', e));
    await finish('failed', { durationMs: Date.now() - started }, []);
    return { status: 'failed', resources: 0, errors, calls: 0 };
  }

  const ownRoleNames = new Set([roleArn.split('/').pop()!]);
  for (const cls of ['cost', 'security', 'drift']) {
    try {
      const x = await api.call<{ role_arn_sealed: string }>(
        'connection_credentials',
        agent,
        conn.id,
        cls,
      );
      const arn = await deps.dataKeys.open(
        agent,
        organizationId,
        x.role_arn_sealed,
        sealContext(organizationId, conn.id, cls),
      );
      ownRoleNames.add(arn.split('/').pop()!);
    } catch {
      // no execution role of this class
    }
  }

  log.debug({ phase: 'credentials', ms: Date.now() - started }, 'scan phase');
  const sts = platformSts(deps.settings);
  const assumed = await assumeRole(sts, roleArn, externalIds, `axiom-scan-${scanId}`, 3600);
  sts.destroy();
  if (!assumed.ok) {
    errors.push({
      unit: 'sts:global',
      service: 'sts',
      region: 'global',
      code: assumed.code,
      message: redactSecrets(assumed.message).slice(0, 1000),
      ...(assumed.httpStatus ? { httpStatus: assumed.httpStatus } : {}),
    });
    log.warn({ code: assumed.code }, 'AssumeRole refused');
    await finish(
      'failed',
      { durationMs: Date.now() - started },
      [],
      assumed.code === 'AccessDenied',
    );
    return { status: 'failed', resources: 0, errors, calls: 1 };
  }

  log.debug({ phase: 'assumed', ms: Date.now() - started }, 'scan phase');
  const refused: string[] = [];
  const session = new AwsSession(deps.settings, assumed.credentials, (service, operation) => {
    refused.push(`${service}:${operation}`);
    void api
      .call('cloud_call_refused', agent, conn.id, scanId, service, operation)
      .catch((e: unknown) => log.error({ err: e }, 'could not record a refused call'));
  });
  const limiter = new AccountLimiter(deps.limits.ratePerSecond);
  const now = new Date();
  const unitCaller = (): UnitCaller['call'] => {
    const u = new UnitCaller(limiter, deps.limits.concurrency, {
      deadline: Date.now() + deps.limits.serviceBudgetMs,
    });
    return (fn) => u.call(fn);
  };
  const ctx = (region: string): CollectContext => ({
    session,
    accountId: conn.account_id,
    region,
    call: unitCaller(),
    now,
    ownRoleNames,
  });

  // Ingest and progress are written one at a time, in order.
  let chain: Promise<unknown> = Promise.resolve();
  let found = 0;
  const collected: AnyInventoryResource[] = [];
  const byType: Record<string, number> = {};
  const complete: string[] = [];
  const progress: {
    units_total: number;
    units_done: number;
    services: Record<string, { regions_total: number; regions_done: string[]; failed: string[] }>;
    resources_found: number;
    calls: number;
  } = { units_total: 0, units_done: 0, services: {}, resources_found: 0, calls: 0 };
  const enqueue = (fn: () => Promise<unknown>): Promise<unknown> => {
    chain = chain.then(fn);
    chain.catch(() => {});
    return chain;
  };
  const report = (): Promise<unknown> =>
    enqueue(async () => {
      progress.calls = limiter.calls;
      onProgress?.({ ...progress });
      await api.call('scan_progress', agent, scanId, progress);
    });
  const ingest = (items: AnyInventoryResource[]): Promise<unknown> =>
    enqueue(async () => {
      for (let i = 0; i < items.length; i += BATCH) {
        const batch = items.slice(i, i + BATCH).map((r) => ({ ...r, unit: unitOf(r) }));
        const t0 = Date.now();
        await api.call('scan_ingest', agent, scanId, batch);
        log.debug({ items: batch.length, ms: Date.now() - t0 }, 'scan ingest');
      }
    });
  const done = (
    unit: string,
    items: AnyInventoryResource[] | null,
    e?: unknown,
  ): Promise<unknown> => {
    log.debug({ unit, ms: Date.now() - started, items: items?.length }, 'scan unit done');
    const [service = unit, region = 'global'] = unit.split(':');
    const s = (progress.services[service] ??= { regions_total: 0, regions_done: [], failed: [] });
    progress.units_done++;
    if (e !== undefined) {
      errors.push(describeError(unit, e));
      s.failed.push(region);
      log.warn({ unit, code: errors.at(-1)!.code }, 'scan unit failed');
    } else {
      s.regions_done.push(region);
      if (items) complete.push(unit);
    }
    if (items) {
      found += items.length;
      progress.resources_found = found;
      for (const r of items) {
        byType[r.type] = (byType[r.type] ?? 0) + 1;
        collected.push(r);
      }
      void ingest(items);
    }
    return report();
  };
  const plan = (unit: string): void => {
    const [service = unit] = unit.split(':');
    progress.units_total++;
    (progress.services[service] ??= { regions_total: 0, regions_done: [], failed: [] })
      .regions_total++;
  };

  let regions: string[];
  try {
    const all = await ctx(HOME_REGION).call(() =>
      session.ec2(HOME_REGION).send(new DescribeRegionsCommand({})),
    );
    const enabled = (all.Regions ?? []).map((r) => r.RegionName!).filter(Boolean);
    regions = conn.regions ? conn.regions.filter((r) => enabled.includes(r)) : enabled;
  } catch (e) {
    errors.push(describeError(`ec2:${HOME_REGION}`, e));
    regions = conn.regions ?? [HOME_REGION];
  }

  try {
    const units: Promise<unknown>[] = [];
    const run = (unit: string, fn: () => Promise<AnyInventoryResource[]>): void => {
      plan(unit);
      units.push(
        fn().then(
          (items) => done(unit, items),
          (e: unknown) => done(unit, null, e),
        ),
      );
    };
    // S3 is one unit (its listing is global) but each bucket's calls go to the bucket's region: those get
    // the concurrency of (region, s3), under the same account limiter and the unit's time budget.
    run('s3:global', () => {
      const deadline = Date.now() + deps.limits.serviceBudgetMs;
      const regional = new Map<string, UnitCaller['call']>();
      return collectS3({
        ...ctx(HOME_REGION),
        callIn: (region) => {
          let call = regional.get(region);
          if (!call) {
            const u = new UnitCaller(limiter, deps.limits.concurrency, { deadline });
            call = (fn) => u.call(fn);
            regional.set(region, call);
          }
          return call;
        },
      });
    });
    run('iam:global', () => collectIam(ctx(HOME_REGION)));
    for (const region of regions) {
      run(`cloudtrail:${region}`, () => collectCloudTrail(ctx(region)));
      run(`kms:${region}`, () => collectKms(ctx(region)));
      plan(`cloudwatch:${region}`);
      // EC2 and RDS first, then their CloudWatch utilization; a CloudWatch failure leaves it null.
      let ec2Items: AnyInventoryResource[] | null = null;
      let rdsItems: AnyInventoryResource[] | null = null;
      const ec2 = collectEc2(ctx(region)).then(
        (items) => (ec2Items = items),
        (e: unknown) => done(`ec2:${region}`, null, e),
      );
      const rds = collectRds(ctx(region)).then(
        (items) => (rdsItems = items),
        (e: unknown) => done(`rds:${region}`, null, e),
      );
      plan(`ec2:${region}`);
      plan(`rds:${region}`);
      units.push(
        Promise.all([ec2, rds]).then(async () => {
          const regional = [...(ec2Items ?? []), ...(rdsItems ?? [])];
          try {
            await collectUtilization(ctx(region), regional);
            await done(`cloudwatch:${region}`, null);
          } catch (e) {
            await done(`cloudwatch:${region}`, null, e);
          }
          if (ec2Items) await done(`ec2:${region}`, ec2Items);
          if (rdsItems) await done(`rds:${region}`, rdsItems);
        }),
      );
    }
    await Promise.all(units);
    log.debug({ phase: 'collected', ms: Date.now() - started }, 'scan phase');
    await chain;
    log.debug({ phase: 'ingested', ms: Date.now() - started }, 'scan phase');
  } catch (e) {
    // An ingest or progress call failed: the database refused something. Nothing more is written
    // but the final status.
    errors.push(describeError('ingest:global', e));
  } finally {
    session.close();
  }

  // The checks over what was collected, and the findings reconciled (only complete services resolve).
  let findings: FindingsSummary | undefined;
  if (collected.length > 0 || complete.length > 0) {
    try {
      findings = await syncScanFindings(
        api,
        agent,
        { id: scanId, facilityId: conn.facility_id, connectionId: conn.id, at: now },
        collected,
        completeServices(progress.services),
      );
      log.debug({ phase: 'findings', ms: Date.now() - started }, 'scan phase');
    } catch (e) {
      errors.push(describeError('findings:global', e));
      log.error({ err: e }, 'findings could not be reconciled');
    }
  }

  const status = errors.length === 0 ? 'succeeded' : complete.length > 0 ? 'partial' : 'failed';
  const summary = {
    ...(findings ? { findings } : {}),
    resources: found,
    byType,
    regions,
    calls: limiter.calls,
    throttles: limiter.throttles,
    retries: limiter.retries,
    refusedCalls: refused,
    durationMs: Date.now() - started,
    externalIdUsed: assumed.externalId === externalIds[0] ? 'current' : 'previous',
  };
  await finish(status, summary, complete);
  log.info(
    { status, resources: found, calls: limiter.calls, errors: errors.length },
    'scan finished',
  );
  return { status, resources: found, errors, calls: limiter.calls };
}
