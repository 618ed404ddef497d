// Check configurations, required-tag policies and baselines: the same content rules in TypeScript (zod)
// and in the database (bad content refused at record_propose), changed only through change management,
// and read back by the scan job as the engine's configuration. Also: the database's check registry is
// the catalog.
import { describe, expect, it, beforeAll } from 'vitest';
import { RESOURCE_TYPES } from '../../src/cloud/inventory.js';
import { CHECKS } from '../../src/findings/catalog.js';
import {
  THRESHOLDS,
  THRESHOLD_KEYS,
  baselineSchema,
  checkConfigurationSchema,
  effectiveConfiguration,
  requiredTagsPolicySchema,
  type ConfigurationRecord,
} from '../../src/findings/config.js';
import { catalogDefaults, serviceOfType } from '../../src/findings/engine.js';
import { useTestDatabase } from '../support/db.js';
import {
  agentSession,
  approveChange,
  createFacility,
  createOrg,
  createUser,
  refused,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';

const db = useTestDatabase();
let org: TestOrg;
let site: string;
let author: TestUser;
let reviewer: TestUser;

beforeAll(async () => {
  const t = db();
  org = await createOrg(t);
  site = await createFacility(t, org);
  author = await createUser(t, org, [{ domain: 'configuration', level: 'author', facility: site }]);
  reviewer = await createUser(t, org, [
    { domain: 'configuration', level: 'review', facility: site },
  ]);
});

let keyCounter = 0;
async function dbAccepts(kind: string, content: unknown): Promise<boolean> {
  const t = db();
  try {
    await t.api.call(
      'record_propose',
      author.caller,
      kind,
      site,
      null,
      `k${++keyCounter}`,
      content,
      'a title',
      'a reason',
    );
    return true;
  } catch (e) {
    const err = e as { code?: string; reason?: string };
    if (err.code === 'invalid_input' && err.reason === 'invalid_content') return false;
    throw e;
  }
}

const zodAccepts = (kind: string, content: unknown): boolean =>
  (kind === 'check_configuration'
    ? checkConfigurationSchema
    : kind === 'baseline'
      ? baselineSchema
      : requiredTagsPolicySchema
  ).safeParse(content).success;

const rule = {
  id: 'imdsv2',
  resource_type: 'AWS::EC2::Instance',
  path: 'metadataOptions.httpTokens',
  equals: 'required',
};
const samples: Array<[string, unknown, boolean]> = [
  ['check_configuration', {}, true],
  [
    'check_configuration',
    {
      disabled_checks: ['ebs_volume_gp2'],
      enabled_checks: ['drift_new_since_baseline'],
      thresholds: { ec2_idle_cpu_percent: 2.5 },
    },
    true,
  ],
  ['check_configuration', { enabled: true }, false],
  ['check_configuration', { disabled_checks: ['no_such_check'] }, false],
  ['check_configuration', { disabled_checks: 'ebs_volume_gp2' }, false],
  ['check_configuration', { disabled_checks: [42] }, false],
  ['check_configuration', { thresholds: { unknown_threshold: 1 } }, false],
  ['check_configuration', { thresholds: { ec2_stopped_days: 'thirty' } }, false],
  ['check_configuration', { thresholds: [] }, false],
  [
    'policy',
    { type: 'required_tags', tags: [{ key: 'Owner' }], resource_types: ['AWS::EC2::Instance'] },
    true,
  ],
  [
    'policy',
    {
      type: 'required_tags',
      tags: [{ key: 'Env', allowed_values: ['prod', 'dev'] }],
      resource_types: [...RESOURCE_TYPES],
    },
    true,
  ],
  ['policy', { type: 'required_tags', tags: [], resource_types: ['AWS::EC2::Instance'] }, false],
  [
    'policy',
    { type: 'required_tags', tags: [{ key: '' }], resource_types: ['AWS::EC2::Instance'] },
    false,
  ],
  [
    'policy',
    {
      type: 'required_tags',
      tags: [{ key: 'Owner', colour: 'red' }],
      resource_types: ['AWS::EC2::Instance'],
    },
    false,
  ],
  [
    'policy',
    {
      type: 'required_tags',
      tags: [{ key: 'Owner', allowed_values: [] }],
      resource_types: ['AWS::EC2::Instance'],
    },
    false,
  ],
  [
    'policy',
    { type: 'required_tags', tags: [{ key: 'Owner' }], resource_types: ['AWS::Fake::Thing'] },
    false,
  ],
  ['policy', { type: 'required_tags', tags: ['Owner', 'CostCenter'] }, true],
  ['policy', { type: 'required_tags', tags: ['Owner', { key: 'Env' }] }, true],
  ['policy', { type: 'required_tags', tags: [''] }, false],
  ['policy', { type: 'required_tags', tags: [7] }, false],
  ['policy', { type: 'required_tags', note: 'no tags' }, false],
  ['policy', { type: 'required_tags', tags: ['Owner'], resource_types: [] }, false],
  ['baseline', { type: 'configuration', rules: [rule] }, true],
  [
    'baseline',
    { type: 'configuration', rules: [{ ...rule, equals: undefined, in: ['gp3', null, 1, true] }] },
    true,
  ],
  [
    'baseline',
    { type: 'configuration', rules: [{ ...rule, equals: undefined, exists: false }] },
    true,
  ],
  ['baseline', { type: 'configuration', rules: [] }, false],
  ['baseline', { type: 'configuration', rules: [{ ...rule, in: ['x'] }] }, false],
  ['baseline', { type: 'configuration', rules: [{ ...rule, equals: undefined }] }, false],
  ['baseline', { type: 'configuration', rules: [{ ...rule, path: 'a..b' }] }, false],
  ['baseline', { type: 'configuration', rules: [{ ...rule, path: "x'; drop table" }] }, false],
  ['baseline', { type: 'configuration', rules: [{ ...rule, equals: { nested: 1 } }] }, false],
  ['baseline', { type: 'configuration', rules: [rule, rule] }, false],
  [
    'baseline',
    { type: 'configuration', rules: [{ ...rule, resource_type: 'AWS::Nope::X' }] },
    false,
  ],
  [
    'baseline',
    {
      type: 'accepted_inventory',
      accepted_at: '2026-11-01T00:00:00Z',
      resources: { 'arn:aws:s3:::b': '0123456789abcdef' },
    },
    true,
  ],
  [
    'baseline',
    {
      type: 'accepted_inventory',
      accepted_at: '2026-11-01T00:00:00.123+02:00',
      connection_id: '7f6c2a46-0b1b-4a7c-9d40-1f6a2c9b1e11',
      resources: {},
    },
    true,
  ],
  ['baseline', { type: 'accepted_inventory', accepted_at: 'yesterday', resources: {} }, false],
  [
    'baseline',
    {
      type: 'accepted_inventory',
      accepted_at: '2026-11-01T00:00:00Z',
      resources: { 'not-an-arn': '0123456789abcdef' },
    },
    false,
  ],
  [
    'baseline',
    {
      type: 'accepted_inventory',
      accepted_at: '2026-11-01T00:00:00Z',
      resources: { 'arn:aws:s3:::b': 'XYZ' },
    },
    false,
  ],
  [
    'baseline',
    {
      type: 'accepted_inventory',
      accepted_at: '2026-11-01T00:00:00Z',
      scan_id: 'nope',
      resources: {},
    },
    false,
  ],
  ['baseline', { type: 'something_else' }, false],
];

describe('content rules', () => {
  it('are the same in TypeScript and in the database', async () => {
    const disagreements: string[] = [];
    for (const [kind, content, valid] of samples) {
      const z = zodAccepts(kind, content);
      const d = await dbAccepts(kind, content);
      if (z !== valid || d !== valid)
        disagreements.push(
          `${kind} ${JSON.stringify(content)}: expected ${valid}, zod ${z}, db ${d}`,
        );
    }
    expect(disagreements).toEqual([]);
  });

  it('hold every threshold to its bounds in both places', async () => {
    const disagreements: string[] = [];
    for (const key of THRESHOLD_KEYS) {
      const s = THRESHOLDS[key];
      const cases: Array<[number, boolean]> = [
        [s.min, true],
        [s.max, true],
        [s.min - (s.integer ? 1 : 0.05), false],
        [s.max + 1, false],
      ];
      if (s.integer) cases.push([s.min + 0.5, false]);
      for (const [value, valid] of cases) {
        const content = { thresholds: { [key]: value } };
        const z = zodAccepts('check_configuration', content);
        const d = await dbAccepts('check_configuration', content);
        if (z !== valid || d !== valid)
          disagreements.push(`${key}=${value}: expected ${valid}, zod ${z}, db ${d}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('leave other policy types alone', async () => {
    expect(await dbAccepts('policy', { type: 'approval_rules', min: 1 })).toBe(true);
  });
});

describe('the check registry in the database', () => {
  it('is the catalog: ids, domains, severities, services and resource types', async () => {
    const t = db();
    const rows = (
      await t.superuser.query<{
        check_id: string;
        domain: string;
        severity: string;
        services: string[];
        resource_types: string[];
      }>(
        'select check_id, domain::text as domain, severity, services, resource_types from internal.finding_checks order by check_id',
      )
    ).rows;
    expect(rows).toEqual(
      [...CHECKS]
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((c) => ({
          check_id: c.id,
          domain: c.domain,
          severity: c.severity,
          services: c.services,
          resource_types: c.resourceTypes,
        })),
    );
  });

  it('maps resource types to services as the inventory contract does, and knows the same types', async () => {
    const t = db();
    for (const type of RESOURCE_TYPES) {
      const r = await t.superuser.query<{ s: string }>(
        'select internal.finding_service_of($1) as s',
        [type],
      );
      expect({ type, s: r.rows[0]!.s }).toEqual({ type, s: serviceOfType(type) });
    }
    const types = await t.superuser.query<{ a: string[] }>(
      'select internal.findings_resource_types() as a',
    );
    expect(types.rows[0]!.a).toEqual([...RESOURCE_TYPES]);
  });
});

describe('configuration through change management', () => {
  it('takes effect only when approved, then reaches the engine through finding_configuration', async () => {
    const t = db();
    const agent = await agentSession(t, org);
    const cr = await t.api.call<{ id: string; proposed_record_hash: string }>(
      'record_propose',
      author.caller,
      'check_configuration',
      site,
      null,
      'checks',
      { disabled_checks: ['ebs_volume_gp2'], thresholds: { ebs_snapshot_age_days: 30 } },
      'Shorter snapshot retention',
      'compliance asks for 30 days',
    );
    const before = await t.api.call<{ records: ConfigurationRecord[] }>(
      'finding_configuration',
      agent,
      site,
    );
    expect(before.records.filter((r) => r.kind === 'check_configuration')).toEqual([]);
    await t.api.call('change_request_submit', author.caller, cr.id);
    await approveChange(t, reviewer, cr);
    const after = await t.api.call<{ records: ConfigurationRecord[] }>(
      'finding_configuration',
      agent,
      site,
    );
    const cfg = effectiveConfiguration(catalogDefaults(), after.records);
    expect(cfg.thresholds.ebs_snapshot_age_days).toBe(30);
    expect(cfg.enabledChecks.has('ebs_volume_gp2')).toBe(false);
    expect(cfg.enabledChecks.has('ec2_idle')).toBe(true);
    // The agent reads configuration but never changes it.
    await refused(
      t.api.call(
        'record_propose',
        agent,
        'check_configuration',
        site,
        null,
        'mine',
        {},
        'agent change',
        'because',
      ),
      'forbidden',
      'missing_grant',
    );
    const stranger = await createUser(t, org, []);
    await refused(
      t.api.call('finding_configuration', stranger.caller, site),
      'forbidden',
      'missing_grant',
    );
    await refused(
      t.api.call('finding_configuration', agent, null),
      'invalid_input',
      'invalid_facility',
    );
  });

  it('keeps baselines change-managed: a baseline is a draft until reviewed', async () => {
    const t = db();
    const reader = await createUser(t, org, [
      { domain: 'configuration', level: 'read', facility: site },
    ]);
    await refused(
      t.api.call(
        'record_propose',
        reader.caller,
        'baseline',
        site,
        null,
        'configuration',
        { type: 'configuration', rules: [rule] },
        'a baseline',
        'no author grant',
      ),
      'forbidden',
      'missing_grant',
    );
    const cr = await t.api.call<{ id: string; state: string }>(
      'record_propose',
      author.caller,
      'baseline',
      site,
      null,
      'configuration',
      { type: 'configuration', rules: [rule] },
      'IMDSv2 everywhere',
      'baseline for prod',
    );
    expect(cr.state).toBe('draft');
    const agent = await agentSession(t, org);
    const now = await t.api.call<{ records: ConfigurationRecord[] }>(
      'finding_configuration',
      agent,
      site,
    );
    expect(now.records.filter((r) => r.kind === 'baseline')).toEqual([]);
  });
});
