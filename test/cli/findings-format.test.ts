// `axiom finding list` lines (src/cli/commands/findings.ts findingLines): the columns after the check id
// line up when a listed check id is longer than the usual column.
import { describe, expect, it } from 'vitest';
import { findingLine, findingLines, type Finding } from '../../src/cli/commands/findings.js';

const finding = (id: string, checkId: string, resource: string): Finding => ({
  id,
  check_id: checkId,
  resource_arn: `arn:aws:s3:::${resource}`,
  resource_id: resource,
  region: 'us-east-1',
  domain: 'security',
  severity: 'high',
  status: 'open',
  suppressed_until: null,
  suppression_reason: null,
  first_seen_at: '2026-12-03T00:00:00Z',
  last_seen_at: '2026-12-03T00:00:00Z',
  resolved_at: null,
  evidence: {},
  estimated_monthly_saving_usd: null,
  version: 1,
});

describe('findingLine', () => {
  it('pads the check ids of a list to the longest, so resources start in one column', () => {
    const [a, b] = findingLines([
      finding('f1', 'sg_open_ssh', 'sg-1'),
      finding('f2', 'iam_role_third_party_trust_no_external_id', 'vendor-access-0'),
    ]);
    expect(a!.indexOf('sg-1 (us-east-1)')).toBe(b!.indexOf('vendor-access-0 (us-east-1)'));
    expect(b).toMatch(/iam_role_third_party_trust_no_external_id {2}vendor-access-0/);
  });

  it('keeps the usual 30-character column for a single line', () => {
    expect(findingLine(finding('f1', 'sg_open_ssh', 'sg-1'))).toBe(
      `f1  high      open          ${'sg_open_ssh'.padEnd(30)}  sg-1 (us-east-1)`,
    );
  });
});
