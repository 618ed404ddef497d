// What the engine is told to do: the effective check configuration (which checks run, thresholds),
// the required tags, the facility's configuration baseline and the last accepted inventory baseline.
// Each comes from controlled records (change-managed, per organization and facility); these zod schemas
// are their content rules, and the database refuses the same bad content (db/migrations/030).
import { z } from 'zod';
import { RESOURCE_TYPES, type ResourceType } from '../cloud/inventory.js';
import { CHECK_IDS } from './catalog.js';
import {
  THRESHOLDS,
  THRESHOLD_KEYS,
  defaultThresholds,
  type ThresholdKey,
  type ThresholdSpec,
  type Thresholds,
} from './thresholds.js';

export {
  THRESHOLDS,
  THRESHOLD_KEYS,
  defaultThresholds,
  type ThresholdKey,
  type ThresholdSpec,
  type Thresholds,
};

const checkId = z
  .string()
  .regex(/^[a-z][a-z0-9_]{2,60}$/, 'a check id')
  .refine((id) => CHECK_IDS.includes(id), { message: 'an unknown check id' });

const thresholdsSchema = z
  .object(
    Object.fromEntries(
      THRESHOLD_KEYS.map((k) => {
        const s: ThresholdSpec = THRESHOLDS[k];
        let n = z.number().min(s.min).max(s.max);
        if (s.integer) n = n.int();
        return [k, n.optional()];
      }),
    ) as Record<ThresholdKey, z.ZodOptional<z.ZodNumber>>,
  )
  .strict();

/** Content of a `check_configuration` record. */
export const checkConfigurationSchema = z
  .object({
    /** Checks that do not run (by id). */
    disabled_checks: z.array(checkId).max(200).optional(),
    /** Checks that are off by default and should run. */
    enabled_checks: z.array(checkId).max(200).optional(),
    thresholds: thresholdsSchema.optional(),
  })
  .strict();
export type CheckConfigurationContent = z.infer<typeof checkConfigurationSchema>;

const resourceType = z.enum(RESOURCE_TYPES);

/** Content of a `policy` record of type `required_tags`: the tag baseline. A tag is its key, or
 * {key, allowed_values}; without resource_types the policy covers instances, volumes and DB instances. */
export const requiredTagsPolicySchema = z
  .object({
    type: z.literal('required_tags'),
    tags: z
      .array(
        z.union([
          z.string().min(1).max(128),
          z
            .object({
              key: z.string().min(1).max(128),
              /** When given, the tag's value must be one of these. */
              allowed_values: z.array(z.string().min(1).max(256)).min(1).max(100).optional(),
            })
            .strict(),
        ]),
      )
      .min(1)
      .max(50),
    resource_types: z.array(resourceType).min(1).max(RESOURCE_TYPES.length).optional(),
  })
  .strict();
export type RequiredTagsPolicy = z.infer<typeof requiredTagsPolicySchema>;

const scalar = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]);

/** A rule of the facility's configuration baseline: one metadata field of one resource type. */
export const baselineRuleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'a rule id'),
    resource_type: resourceType,
    /** A dotted path into the resource's metadata (`data`), e.g. metadataOptions.httpTokens. */
    path: z
      .string()
      .max(200)
      .regex(/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/, 'a dotted metadata path'),
    equals: scalar.optional(),
    in: z.array(scalar).min(1).max(100).optional(),
    not_in: z.array(scalar).min(1).max(100).optional(),
    exists: z.boolean().optional(),
  })
  .strict()
  .refine(
    (r) =>
      [r.equals !== undefined, r.in, r.not_in, r.exists !== undefined].filter(Boolean).length === 1,
    { message: 'a rule has exactly one of equals, in, not_in, exists' },
  );
export type BaselineRule = z.infer<typeof baselineRuleSchema>;

export const configurationBaselineSchema = z
  .object({
    type: z.literal('configuration'),
    rules: z.array(baselineRuleSchema).min(1).max(200),
  })
  .strict()
  .refine((b) => new Set(b.rules.map((r) => r.id)).size === b.rules.length, {
    message: 'rule ids are unique',
  });

/** The accepted state of the inventory: a fingerprint per resource ARN (see fingerprintResource). */
export const acceptedInventorySchema = z
  .object({
    type: z.literal('accepted_inventory'),
    accepted_at: z.iso.datetime({ offset: true }),
    connection_id: z.uuid().optional(),
    scan_id: z.uuid().optional(),
    resources: z.record(
      z.string().min(5).max(2048).startsWith('arn:'),
      z.string().regex(/^[0-9a-f]{16}$/, 'a 16-hex-digit fingerprint'),
    ),
  })
  .strict();

/** Content of a `baseline` record. */
export const baselineSchema = z.union([configurationBaselineSchema, acceptedInventorySchema]);
export type BaselineContent = z.infer<typeof baselineSchema>;

export interface AcceptedInventory {
  acceptedAt: string;
  fingerprints: ReadonlyMap<string, string>;
}

export interface EffectiveConfiguration {
  /** Checks that run (ids). */
  enabledChecks: ReadonlySet<string>;
  thresholds: Thresholds;
  requiredTags: {
    tags: Array<{ key: string; allowedValues: string[] | null }>;
    resourceTypes: ResourceType[];
  };
  baselineRules: BaselineRule[];
  acceptedInventory: AcceptedInventory | null;
}

/** Without any policy: the tag baseline Axiom proposes (and the sandbox plants against). */
export const DEFAULT_REQUIRED_TAGS = {
  type: 'required_tags',
  tags: [{ key: 'Owner' }, { key: 'Environment' }, { key: 'CostCenter' }],
  resource_types: ['AWS::EC2::Instance', 'AWS::EC2::Volume', 'AWS::RDS::DBInstance'],
} as const satisfies RequiredTagsPolicy;

/** A controlled record as api.finding_configuration returns it (organization-wide ones have no facility). */
export interface ConfigurationRecord {
  kind: string;
  facility_id: string | null;
  item_key: string;
  content: unknown;
}

/**
 * The effective configuration for a facility: defaults, then organization-wide records, then the
 * facility's own (a later layer overrides an earlier one; within a layer, records apply in item_key
 * order). Checks are enabled by the catalog's default unless a layer disables or enables them.
 * Required tags: the most specific required_tags policy wins (facility over organization over default).
 * Baseline rules: all of them (organization and facility). Accepted inventory: the facility's newest.
 */
export function effectiveConfiguration(
  defaults: { enabledByDefault: readonly string[]; known: ReadonlySet<string> },
  records: readonly ConfigurationRecord[] = [],
): EffectiveConfiguration {
  const enabled = new Set(defaults.enabledByDefault);
  const thresholds = defaultThresholds();
  let tags: RequiredTagsPolicy = DEFAULT_REQUIRED_TAGS as unknown as RequiredTagsPolicy;
  const rules: BaselineRule[] = [];
  let inventory: AcceptedInventory | null = null;
  const layered = [...records].sort(
    (a, b) =>
      Number(a.facility_id !== null) - Number(b.facility_id !== null) ||
      (a.item_key < b.item_key ? -1 : a.item_key > b.item_key ? 1 : 0),
  );
  for (const r of layered) {
    if (r.kind === 'check_configuration') {
      const c = checkConfigurationSchema.parse(r.content);
      for (const id of c.disabled_checks ?? []) enabled.delete(id);
      for (const id of c.enabled_checks ?? []) if (defaults.known.has(id)) enabled.add(id);
      Object.assign(thresholds, c.thresholds ?? {});
    } else if (r.kind === 'policy') {
      const p = requiredTagsPolicySchema.safeParse(r.content);
      if (p.success) tags = p.data;
    } else if (r.kind === 'baseline') {
      const b = baselineSchema.parse(r.content);
      if (b.type === 'configuration') rules.push(...b.rules);
      else if (!inventory || b.accepted_at >= inventory.acceptedAt)
        inventory = {
          acceptedAt: b.accepted_at,
          fingerprints: new Map(Object.entries(b.resources)),
        };
    }
  }
  return {
    enabledChecks: enabled,
    thresholds,
    requiredTags: {
      tags: tags.tags.map((t) =>
        typeof t === 'string'
          ? { key: t, allowedValues: null }
          : { key: t.key, allowedValues: t.allowed_values ?? null },
      ),
      resourceTypes: [...(tags.resource_types ?? DEFAULT_REQUIRED_TAGS.resource_types)],
    },
    baselineRules: rules,
    acceptedInventory: inventory,
  };
}
