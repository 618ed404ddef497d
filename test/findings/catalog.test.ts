// The catalog as data: valid against its schema, every sandbox problem covered by a check of the same
// id, remediation descriptors consistent with the action vocabulary, compliance references well formed,
// prices present for every cost check, and docs/findings.md generated from it.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { ACTION_FOR_CHECK } from '../../src/execution/catalog.js';
import { ACTIONS } from '../../src/findings/actions.js';
import { CHECKS, checkSchema } from '../../src/findings/catalog.js';
import { renderDoc } from '../../src/findings/docs.js';
import { PROBLEMS } from '../../src/sandbox/generator.js';

describe('the check catalog', () => {
  it('has at least 40 valid checks with unique ids', () => {
    expect(CHECKS.length).toBeGreaterThanOrEqual(40);
    for (const c of CHECKS) expect(checkSchema.parse(c)).toEqual(c);
    expect(new Set(CHECKS.map((c) => c.id)).size).toBe(CHECKS.length);
  });

  it('covers every sandbox problem with a check of the same id, and the drift checks the issue lists', () => {
    const ids = new Set(CHECKS.map((c) => c.id));
    expect(PROBLEMS.filter((p) => !ids.has(p))).toEqual([]);
    for (const id of [
      'tags_missing',
      'drift_configuration_baseline',
      'drift_changed_since_baseline',
    ])
      expect(ids.has(id)).toBe(true);
    expect(new Set(CHECKS.map((c) => c.domain))).toEqual(new Set(['security', 'cost', 'drift']));
  });

  it('derives each remediation descriptor from the action vocabulary', () => {
    const actions = new Map(ACTIONS.map((a) => [a.id, a]));
    for (const c of CHECKS) {
      const a = actions.get(c.remediation.action)!;
      expect(a, c.id).toBeDefined();
      expect(c.remediation.reversibility).toBe(a.reversibility);
      expect(c.remediation.riskTier).toBe(a.riskTier);
      expect(c.remediation.executionPermissions).toEqual(a.executionPermissions);
      expect(c.remediation.manualReviewRequired).toBe(a.id === 'manual');
      if (a.id !== 'manual') {
        expect(a.executionPermissions.length, c.id).toBeGreaterThan(0);
        // Cost actions fix cost checks, security actions security checks, tag actions drift.
        expect(a.actionClass, c.id).toBe(c.domain);
      }
    }
    // The execution engine's map from check to action is the catalog's (drift baselines: manual).
    for (const c of CHECKS)
      expect({ check: c.id, action: c.remediation.action }).toEqual({
        check: c.id,
        action: ACTION_FOR_CHECK[c.id] ?? 'manual',
      });
    const byId = new Map(ACTIONS.map((a) => [a.id, a]));
    expect(byId.get('ec2.release_address')!.riskTier).toBe('high');
    expect(byId.get('ec2.modify_volume_gp3')!.riskTier).toBe('medium');
    expect(byId.get('ec2.stop_instance')!.riskTier).toBe('medium');
    expect(byId.get('ec2.require_imdsv2')!.riskTier).toBe('low');
  });

  it('estimates savings for exactly the cost checks, and names its thresholds', () => {
    for (const c of CHECKS) expect(c.estimatesSavings, c.id).toBe(c.domain === 'cost');
    const byId = new Map(CHECKS.map((c) => [c.id, c]));
    expect(byId.get('ec2_idle')!.thresholds).toEqual([
      'ec2_idle_cpu_percent',
      'ec2_idle_network_bytes_per_day',
      'ec2_idle_window_days',
    ]);
    expect(byId.get('ec2_idle')!.services).toEqual(['ec2', 'cloudwatch']);
  });

  it('uses only CIS v3.0.0 recommendation numbers and FSBP control ids in its references', () => {
    const refs = CHECKS.flatMap((c) => [
      ...c.compliance.cisAwsFoundationsV3,
      ...c.compliance.awsFsbp,
    ]);
    expect(refs.length).toBeGreaterThan(30);
    for (const c of CHECKS) {
      for (const r of c.compliance.cisAwsFoundationsV3) expect(r).toMatch(/^[1-5](\.\d+){1,2}$/);
      for (const r of c.compliance.awsFsbp) expect(r).toMatch(/^(S3|EC2|RDS|IAM|CloudTrail)\.\d+$/);
    }
  });

  it('is the table in docs/findings.md (regenerate with npx tsx scripts/findings-docs.ts)', async () => {
    const file = fileURLToPath(new URL('../../docs/findings.md', import.meta.url));
    const doc = fs.readFileSync(file, 'utf8');
    const options = { ...(await prettier.resolveConfig(file)), filepath: file };
    expect(await prettier.format(renderDoc(doc), options)).toBe(doc);
    for (const c of CHECKS) expect(doc).toContain(`\`${c.id}\``);
  });
});
