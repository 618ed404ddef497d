// After a scan: run the checks over what it collected, with the configuration in force at the
// connection's facility, and reconcile the connection's findings in one transaction (api.finding_sync,
// as the agent). Only services the scan collected completely can resolve findings.
import type { AnyInventoryResource, ScannedService } from '../cloud/inventory.js';
import { SCANNED_SERVICES } from '../cloud/inventory.js';
import type { Api, Caller } from '../db/api.js';
import { effectiveConfiguration, type ConfigurationRecord } from './config.js';
import { catalogDefaults, evaluate, toSyncCandidates } from './engine.js';

export interface FindingsSummary {
  /** Findings this scan saw, by severity and by domain (what the dashboard charts over time). */
  bySeverity: Record<string, number>;
  byDomain: Record<string, number>;
  estimatedMonthlySavingsUsd: number;
  /** What the reconciliation did: opened, reopened, resolved, seen, suppression_expired. */
  sync: Record<string, unknown>;
}

/** Services whose every planned (service, region) unit was collected without an error. */
export function completeServices(
  services: Record<string, { regions_total: number; regions_done: string[]; failed: string[] }>,
): ScannedService[] {
  return SCANNED_SERVICES.filter((s) => {
    const p = services[s];
    return p !== undefined && p.failed.length === 0 && p.regions_done.length === p.regions_total;
  });
}

export async function syncScanFindings(
  api: Api,
  agent: Caller,
  scan: { id: string; facilityId: string; connectionId: string; at: Date },
  resources: readonly AnyInventoryResource[],
  complete: readonly ScannedService[],
): Promise<FindingsSummary> {
  const config = await api.call<{ records: ConfigurationRecord[] }>(
    'finding_configuration',
    agent,
    scan.facilityId,
  );
  const candidates = evaluate(resources, {
    now: scan.at,
    configuration: effectiveConfiguration(catalogDefaults(), config.records),
    completeServices: complete,
  });
  const sync = await api.call<Record<string, unknown>>(
    'finding_sync',
    agent,
    scan.facilityId,
    scan.connectionId,
    scan.id,
    complete,
    toSyncCandidates(candidates),
  );
  const bySeverity: Record<string, number> = {};
  const byDomain: Record<string, number> = {};
  let savings = 0;
  for (const c of candidates) {
    bySeverity[c.severity] = (bySeverity[c.severity] ?? 0) + 1;
    byDomain[c.domain] = (byDomain[c.domain] ?? 0) + 1;
    savings += c.estimatedMonthlySavingUsd ?? 0;
  }
  return {
    bySeverity,
    byDomain,
    estimatedMonthlySavingsUsd: Math.round(savings * 100) / 100,
    sync,
  };
}
