// EC2 security remediations: revoke security-group rules by rule id, require IMDSv2, EBS
// encryption by default, and take the public permission off snapshots and AMIs.
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  DescribeImageAttributeCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSnapshotAttributeCommand,
  DisableEbsEncryptionByDefaultCommand,
  EnableEbsEncryptionByDefaultCommand,
  GetEbsEncryptionByDefaultCommand,
  ModifyImageAttributeCommand,
  ModifyInstanceMetadataOptionsCommand,
  ModifySnapshotAttributeCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
  type SecurityGroupRule as AwsRule,
} from '@aws-sdk/client-ec2';
import { isAwsError } from '../clients.js';
import type { ParamsOf } from '../params.js';
import {
  ec2Arn,
  ec2ArnNoAccount,
  ec2DryRun,
  expectState,
  resourceGone,
  sameState,
  settingAction,
  type ActionContext,
  type ActionHandler,
  type PermissionNeed,
} from './types.js';

// ---------- security-group rules ----------

/** One rule, in the inventory's SecurityGroupRule shape. */
export interface RuleState {
  ruleId: string;
  isEgress: boolean;
  protocol: string;
  fromPort: number | null;
  toPort: number | null;
  cidrIpv4: string | null;
  cidrIpv6: string | null;
  referencedGroupId: string | null;
  prefixListId: string | null;
  description: string | null;
}
export interface GroupRulesState {
  /** Every rule of the group, sorted by content. */
  rules: RuleState[];
}
interface RuleCapture {
  /** Tags of the revoked rules, by rule id (restored with the rule). */
  ruleTags: Record<string, { Key: string; Value: string }[]>;
  /** Network interfaces (and their instances) the group is attached to: who loses the access. */
  attachedTo: { networkInterfaceId: string; instanceId: string | null }[];
}

/** The rule's content, without its id (what AWS compares for duplicates, plus the description). */
export const ruleContent = (r: RuleState): string =>
  [
    r.isEgress ? 'egress' : 'ingress',
    r.protocol,
    r.fromPort ?? '',
    r.toPort ?? '',
    r.cidrIpv4 ?? r.cidrIpv6 ?? r.prefixListId ?? r.referencedGroupId ?? '',
    r.description ?? '',
  ].join('|');
const sortRules = (rules: RuleState[]) =>
  [...rules].sort((a, b) =>
    ruleContent(a) < ruleContent(b) ? -1 : ruleContent(a) > ruleContent(b) ? 1 : 0,
  );
const contents = (rules: RuleState[]) => rules.map(ruleContent).sort().join('\n');

function ruleFrom(r: AwsRule): RuleState {
  return {
    ruleId: r.SecurityGroupRuleId ?? '',
    isEgress: r.IsEgress ?? false,
    protocol: r.IpProtocol ?? '-1',
    fromPort: r.FromPort === undefined || r.FromPort === -1 ? null : r.FromPort,
    toPort: r.ToPort === undefined || r.ToPort === -1 ? null : r.ToPort,
    cidrIpv4: r.CidrIpv4 ?? null,
    cidrIpv6: r.CidrIpv6 ?? null,
    referencedGroupId: r.ReferencedGroupInfo?.GroupId ?? null,
    prefixListId: r.PrefixListId ?? null,
    description: r.Description ? r.Description : null,
  };
}

async function groupRules(
  ctx: ActionContext,
  p: ParamsOf<'ec2.revoke_security_group_rule'>,
): Promise<{ rules: RuleState[]; raw: AwsRule[] }> {
  const raw: AwsRule[] = [];
  let NextToken: string | undefined;
  do {
    const r = await ctx.aws.ec2(p.region).send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: 'group-id', Values: [p.groupId] }],
        MaxResults: 1000,
        NextToken,
      }),
    );
    raw.push(...(r.SecurityGroupRules ?? []));
    NextToken = r.NextToken;
  } while (NextToken);
  return { rules: sortRules(raw.map(ruleFrom)), raw };
}

async function observeRules(
  ctx: ActionContext,
  p: ParamsOf<'ec2.revoke_security_group_rule'>,
): Promise<GroupRulesState> {
  return { rules: (await groupRules(ctx, p)).rules };
}

export function ipPermissionOf(r: RuleState): IpPermission {
  const d = r.description ?? undefined;
  return {
    IpProtocol: r.protocol,
    ...(r.protocol === '-1' ? {} : { FromPort: r.fromPort ?? -1, ToPort: r.toPort ?? -1 }),
    ...(r.cidrIpv4 ? { IpRanges: [{ CidrIp: r.cidrIpv4, Description: d }] } : {}),
    ...(r.cidrIpv6 ? { Ipv6Ranges: [{ CidrIpv6: r.cidrIpv6, Description: d }] } : {}),
    ...(r.prefixListId
      ? { PrefixListIds: [{ PrefixListId: r.prefixListId, Description: d }] }
      : {}),
    ...(r.referencedGroupId
      ? { UserIdGroupPairs: [{ GroupId: r.referencedGroupId, Description: d }] }
      : {}),
  };
}

const targetsOf = (p: ParamsOf<'ec2.revoke_security_group_rule'>, pre: GroupRulesState) =>
  pre.rules.filter((r) => p.ruleIds.includes(r.ruleId));
const withoutTargets = (p: ParamsOf<'ec2.revoke_security_group_rule'>, pre: GroupRulesState) => ({
  rules: pre.rules.filter((r) => !p.ruleIds.includes(r.ruleId)),
});

export const revokeSecurityGroupRule: ActionHandler<'ec2.revoke_security_group_rule'> = {
  id: 'ec2.revoke_security_group_rule',
  observe: (ctx, p) => observeRules(ctx, p),
  async preflight(ctx, p) {
    const { rules, raw } = await groupRules(ctx, p);
    const ruleTags: RuleCapture['ruleTags'] = {};
    for (const r of raw)
      if (r.SecurityGroupRuleId && p.ruleIds.includes(r.SecurityGroupRuleId))
        ruleTags[r.SecurityGroupRuleId] = (r.Tags ?? []).map((t) => ({
          Key: t.Key ?? '',
          Value: t.Value ?? '',
        }));
    const enis = await ctx.aws.ec2(p.region).send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'group-id', Values: [p.groupId] }],
      }),
    );
    const capture: RuleCapture = {
      ruleTags,
      attachedTo: (enis.NetworkInterfaces ?? []).map((n) => ({
        networkInterfaceId: n.NetworkInterfaceId ?? '',
        instanceId: n.Attachment?.InstanceId ?? null,
      })),
    };
    return { state: { rules } satisfies GroupRulesState, capture };
  },
  isApplied(state, p, pre) {
    return sameState(state, withoutTargets(p, pre.state as GroupRulesState));
  },
  canContinue(state, p, pre) {
    // Every non-target rule unchanged, each target either still there or already revoked.
    const s = state as GroupRulesState;
    const before = pre.state as GroupRulesState;
    const others = withoutTargets(p, before).rules;
    const remaining = s.rules.filter((r) => p.ruleIds.includes(r.ruleId));
    const rest = s.rules.filter((r) => !p.ruleIds.includes(r.ruleId));
    return (
      sameState(rest, others) && remaining.every((r) => before.rules.some((b) => sameState(b, r)))
    );
  },
  async apply(ctx, p) {
    const { rules } = await groupRules(ctx, p);
    const present = rules.filter((r) => p.ruleIds.includes(r.ruleId));
    const ingress = present.filter((r) => !r.isEgress).map((r) => r.ruleId);
    const egress = present.filter((r) => r.isEgress).map((r) => r.ruleId);
    const ec2 = ctx.aws.ec2(p.region);
    // By rule id only: never by IpPermissions, which could take other CIDRs with it.
    if (ingress.length)
      await ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: p.groupId,
          SecurityGroupRuleIds: ingress,
        }),
      );
    if (egress.length)
      await ec2.send(
        new RevokeSecurityGroupEgressCommand({ GroupId: p.groupId, SecurityGroupRuleIds: egress }),
      );
    return { revokedRuleIds: [...ingress, ...egress] };
  },
  async verify(ctx, p, pre) {
    const target = withoutTargets(p, pre.state as GroupRulesState);
    return expectState(
      ctx,
      `the rules of ${p.groupId}`,
      () => observeRules(ctx, p),
      (s) => sameState(s, target),
      target,
    );
  },
  expected: (p, pre) => withoutTargets(p, pre.state as GroupRulesState),
  async rollback(ctx, p, pre) {
    const before = pre.state as GroupRulesState;
    const capture = pre.capture as RuleCapture;
    const current = (await groupRules(ctx, p)).rules;
    const have = new Set(current.map(ruleContent));
    const restored: Record<string, string | null> = {};
    for (const r of targetsOf(p, before)) {
      if (have.has(ruleContent(r))) continue;
      const tags = capture.ruleTags[r.ruleId] ?? [];
      const input = {
        GroupId: p.groupId,
        IpPermissions: [ipPermissionOf(r)],
        ...(tags.length
          ? { TagSpecifications: [{ ResourceType: 'security-group-rule' as const, Tags: tags }] }
          : {}),
      };
      try {
        const ec2 = ctx.aws.ec2(p.region);
        const out = r.isEgress
          ? await ec2.send(new AuthorizeSecurityGroupEgressCommand(input))
          : await ec2.send(new AuthorizeSecurityGroupIngressCommand(input));
        restored[r.ruleId] = out.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? null;
      } catch (e) {
        // Someone (or a crashed earlier attempt) put it back already.
        if (!isAwsError(e, 'InvalidPermission.Duplicate')) throw e;
      }
    }
    return { newRuleIds: restored };
  },
  async verifyRollback(ctx, p, pre) {
    const before = pre.state as GroupRulesState;
    return expectState(
      ctx,
      `the rules of ${p.groupId}`,
      () => observeRules(ctx, p),
      // The same rules by content; re-authorised rules carry new ids (AWS cannot keep them).
      (s) => contents(s.rules) === contents(before.rules),
      before,
    );
  },
  permissions(p, account) {
    const sg = ec2Arn(p.region, account, 'security-group', p.groupId);
    const rule = ec2Arn(p.region, account, 'security-group-rule', '*');
    return [
      { phase: 'read', action: 'ec2:DescribeSecurityGroupRules', resource: '*' },
      { phase: 'read', action: 'ec2:DescribeNetworkInterfaces', resource: '*' },
      ...(['ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress'] as const).map(
        (action): PermissionNeed => ({
          phase: 'apply',
          action,
          resource: sg,
          dryRun: (ctx, observed) => {
            const rules = (observed as GroupRulesState).rules.filter(
              (r) => p.ruleIds.includes(r.ruleId) && r.isEgress === action.endsWith('Egress'),
            );
            if (!rules.length) return Promise.resolve('not_needed');
            const input = {
              GroupId: p.groupId,
              SecurityGroupRuleIds: rules.map((r) => r.ruleId),
              DryRun: true,
            };
            const ec2 = ctx.aws.ec2(p.region);
            return ec2DryRun(() =>
              action.endsWith('Egress')
                ? ec2.send(new RevokeSecurityGroupEgressCommand(input))
                : ec2.send(new RevokeSecurityGroupIngressCommand(input)),
            );
          },
        }),
      ),
      ...(['ec2:AuthorizeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupEgress'] as const).map(
        (action): PermissionNeed => ({
          phase: 'rollback',
          action,
          resource: sg,
          dryRun: (ctx, observed) => {
            const rule = (observed as GroupRulesState).rules.find(
              (r) => p.ruleIds.includes(r.ruleId) && r.isEgress === action.endsWith('Egress'),
            );
            if (!rule) return Promise.resolve('not_needed');
            const input = {
              GroupId: p.groupId,
              IpPermissions: [ipPermissionOf(rule)],
              DryRun: true,
            };
            const ec2 = ctx.aws.ec2(p.region);
            return ec2DryRun(() =>
              action.endsWith('Egress')
                ? ec2.send(new AuthorizeSecurityGroupEgressCommand(input))
                : ec2.send(new AuthorizeSecurityGroupIngressCommand(input)),
            );
          },
        }),
      ),
      // Tags on re-authorised rules (AWS authorises TagSpecifications as CreateTags).
      { phase: 'rollback', action: 'ec2:CreateTags', resource: rule },
    ];
  },
  rollbackStrategy(p, pre) {
    const rules = targetsOf(p, pre.state as GroupRulesState);
    return (
      rules
        .map(
          (r) =>
            `aws ec2 authorize-security-group-${r.isEgress ? 'egress' : 'ingress'} --group-id ${p.groupId} --ip-permissions '${JSON.stringify(ipPermissionOf(r))}'`,
        )
        .join('; ') + ' (re-authorised rules get new rule ids)'
    );
  },
};

// ---------- IMDSv2 ----------

export interface MetadataState {
  httpTokens: 'optional' | 'required';
  httpEndpoint: 'enabled' | 'disabled';
}

export const requireImdsv2 = settingAction({
  id: 'ec2.require_imdsv2',
  what: (p) => `the metadata options of ${p.instanceId}`,
  async observe(ctx, p): Promise<MetadataState> {
    try {
      const r = await ctx.aws
        .ec2(p.region)
        .send(new DescribeInstancesCommand({ InstanceIds: [p.instanceId] }));
      const i = r.Reservations?.[0]?.Instances?.[0];
      if (!i) throw resourceGone(`instance ${p.instanceId}`);
      return {
        httpTokens: i.MetadataOptions?.HttpTokens === 'required' ? 'required' : 'optional',
        httpEndpoint: i.MetadataOptions?.HttpEndpoint === 'disabled' ? 'disabled' : 'enabled',
      };
    } catch (e) {
      if (isAwsError(e, 'InvalidInstanceID.NotFound'))
        throw resourceGone(`instance ${p.instanceId}`);
      throw e;
    }
  },
  target: (pre): MetadataState => ({ ...pre, httpTokens: 'required' }),
  async write(ctx, p, desired) {
    await ctx.aws.ec2(p.region).send(
      new ModifyInstanceMetadataOptionsCommand({
        InstanceId: p.instanceId,
        HttpTokens: desired.httpTokens,
        HttpEndpoint: desired.httpEndpoint,
      }),
    );
  },
  permissions: (p, account) => {
    const resource = ec2Arn(p.region, account, 'instance', p.instanceId);
    const dry =
      (tokens: 'optional' | 'required') =>
      (ctx: ActionContext): Promise<unknown> =>
        ec2DryRun(() =>
          ctx.aws.ec2(p.region).send(
            new ModifyInstanceMetadataOptionsCommand({
              InstanceId: p.instanceId,
              HttpTokens: tokens,
              DryRun: true,
            }),
          ),
        );
    return [
      { phase: 'read', action: 'ec2:DescribeInstances', resource: '*' },
      {
        phase: 'apply',
        action: 'ec2:ModifyInstanceMetadataOptions',
        resource,
        dryRun: dry('required'),
      },
      {
        phase: 'rollback',
        action: 'ec2:ModifyInstanceMetadataOptions',
        resource,
        dryRun: dry('optional'),
      },
    ];
  },
  rollbackStrategy: (p, pre) =>
    `aws ec2 modify-instance-metadata-options --instance-id ${p.instanceId} --http-tokens ${pre.state.httpTokens} --region ${p.region}`,
});

// ---------- EBS encryption by default ----------

export const enableEbsDefaultEncryption = settingAction({
  id: 'ec2.enable_ebs_default_encryption',
  what: (p) => `EBS encryption by default in ${p.region}`,
  async observe(ctx, p): Promise<{ enabled: boolean }> {
    const r = await ctx.aws.ec2(p.region).send(new GetEbsEncryptionByDefaultCommand({}));
    return { enabled: r.EbsEncryptionByDefault === true };
  },
  target: () => ({ enabled: true }),
  async write(ctx, p, desired) {
    await ctx.aws
      .ec2(p.region)
      .send(
        desired.enabled
          ? new EnableEbsEncryptionByDefaultCommand({})
          : new DisableEbsEncryptionByDefaultCommand({}),
      );
  },
  permissions: (p) => [
    { phase: 'read', action: 'ec2:GetEbsEncryptionByDefault', resource: '*' },
    {
      phase: 'apply',
      action: 'ec2:EnableEbsEncryptionByDefault',
      resource: '*',
      dryRun: (ctx) =>
        ec2DryRun(() =>
          ctx.aws.ec2(p.region).send(new EnableEbsEncryptionByDefaultCommand({ DryRun: true })),
        ),
    },
    {
      phase: 'rollback',
      action: 'ec2:DisableEbsEncryptionByDefault',
      resource: '*',
      dryRun: (ctx) =>
        ec2DryRun(() =>
          ctx.aws.ec2(p.region).send(new DisableEbsEncryptionByDefaultCommand({ DryRun: true })),
        ),
    },
  ],
  rollbackStrategy: (p, pre) =>
    pre.state.enabled
      ? 'nothing to undo (it was already enabled)'
      : `aws ec2 disable-ebs-encryption-by-default --region ${p.region}`,
});

// ---------- public snapshots and AMIs ----------

export interface SharingState {
  groups: string[];
  userIds: string[];
}
const sharing = (groups: (string | undefined)[], users: (string | undefined)[]): SharingState => ({
  groups: groups.filter((g): g is string => !!g).sort(),
  userIds: users.filter((u): u is string => !!u).sort(),
});
const withoutAll = (s: SharingState): SharingState => ({
  ...s,
  groups: s.groups.filter((g) => g !== 'all'),
});

export const disableSnapshotPublic = settingAction({
  id: 'ec2.disable_snapshot_public',
  what: (p) => `the createVolumePermission of ${p.snapshotId}`,
  async observe(ctx, p): Promise<SharingState> {
    try {
      const r = await ctx.aws.ec2(p.region).send(
        new DescribeSnapshotAttributeCommand({
          SnapshotId: p.snapshotId,
          Attribute: 'createVolumePermission',
        }),
      );
      const perms = r.CreateVolumePermissions ?? [];
      return sharing(
        perms.map((x) => x.Group),
        perms.map((x) => x.UserId),
      );
    } catch (e) {
      if (isAwsError(e, 'InvalidSnapshot.NotFound')) throw resourceGone(`snapshot ${p.snapshotId}`);
      throw e;
    }
  },
  target: withoutAll,
  async write(ctx, p, desired) {
    const change = { Group: 'all' as const };
    await ctx.aws.ec2(p.region).send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: p.snapshotId,
        Attribute: 'createVolumePermission',
        CreateVolumePermission: desired.groups.includes('all')
          ? { Add: [change] }
          : { Remove: [change] },
      }),
    );
  },
  permissions: (p) => {
    const resource = ec2ArnNoAccount(p.region, 'snapshot', p.snapshotId);
    const dry =
      (op: 'Add' | 'Remove') =>
      (ctx: ActionContext): Promise<unknown> =>
        ec2DryRun(() =>
          ctx.aws.ec2(p.region).send(
            new ModifySnapshotAttributeCommand({
              SnapshotId: p.snapshotId,
              Attribute: 'createVolumePermission',
              CreateVolumePermission: { [op]: [{ Group: 'all' }] },
              DryRun: true,
            }),
          ),
        );
    return [
      { phase: 'read', action: 'ec2:DescribeSnapshotAttribute', resource },
      { phase: 'apply', action: 'ec2:ModifySnapshotAttribute', resource, dryRun: dry('Remove') },
      { phase: 'rollback', action: 'ec2:ModifySnapshotAttribute', resource, dryRun: dry('Add') },
    ];
  },
  rollbackStrategy: (p) =>
    `aws ec2 modify-snapshot-attribute --snapshot-id ${p.snapshotId} --attribute createVolumePermission --operation-type add --group-names all --region ${p.region}`,
});

export const disableImagePublic = settingAction({
  id: 'ec2.disable_image_public',
  what: (p) => `the launchPermission of ${p.imageId}`,
  async observe(ctx, p): Promise<SharingState> {
    try {
      const r = await ctx.aws
        .ec2(p.region)
        .send(
          new DescribeImageAttributeCommand({ ImageId: p.imageId, Attribute: 'launchPermission' }),
        );
      const perms = r.LaunchPermissions ?? [];
      return sharing(
        perms.map((x) => x.Group),
        perms.map((x) => x.UserId),
      );
    } catch (e) {
      if (isAwsError(e, 'InvalidAMIID.NotFound')) throw resourceGone(`image ${p.imageId}`);
      throw e;
    }
  },
  target: withoutAll,
  async write(ctx, p, desired) {
    const change = { Group: 'all' as const };
    await ctx.aws.ec2(p.region).send(
      new ModifyImageAttributeCommand({
        ImageId: p.imageId,
        LaunchPermission: desired.groups.includes('all') ? { Add: [change] } : { Remove: [change] },
      }),
    );
  },
  permissions: (p) => {
    const resource = ec2ArnNoAccount(p.region, 'image', p.imageId);
    const dry =
      (op: 'Add' | 'Remove') =>
      (ctx: ActionContext): Promise<unknown> =>
        ec2DryRun(() =>
          ctx.aws.ec2(p.region).send(
            new ModifyImageAttributeCommand({
              ImageId: p.imageId,
              LaunchPermission: { [op]: [{ Group: 'all' }] },
              DryRun: true,
            }),
          ),
        );
    return [
      { phase: 'read', action: 'ec2:DescribeImageAttribute', resource },
      { phase: 'apply', action: 'ec2:ModifyImageAttribute', resource, dryRun: dry('Remove') },
      { phase: 'rollback', action: 'ec2:ModifyImageAttribute', resource, dryRun: dry('Add') },
    ];
  },
  rollbackStrategy: (p) =>
    `aws ec2 modify-image-attribute --image-id ${p.imageId} --launch-permission "Add=[{Group=all}]" --region ${p.region}`,
});
