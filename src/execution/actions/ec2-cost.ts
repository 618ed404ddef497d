// EC2 cost remediations: snapshot-then-delete an unattached volume, gp2 → gp3, release an
// unassociated Elastic IP, stop an idle instance, delete an old snapshot.
import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeleteVolumeCommand,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  ModifyVolumeCommand,
  ReleaseAddressCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  type Volume,
  type VolumeType,
} from '@aws-sdk/client-ec2';
import { AppError } from '../../errors.js';
import { isAwsError } from '../clients.js';
import type { ParamsOf } from '../params.js';
import { waitFor } from '../wait.js';
import {
  ec2Arn,
  ec2ArnNoAccount,
  ec2DryRun,
  expectState,
  resourceGone,
  sameState,
  verificationFailed,
  type ActionContext,
  type ActionHandler,
  type PermissionNeed,
} from './types.js';

type Tag = { Key: string; Value: string };
const userTags = (tags: { Key?: string; Value?: string }[] | undefined): Tag[] =>
  (tags ?? [])
    .filter((t) => t.Key && !t.Key.startsWith('aws:'))
    .map((t) => ({ Key: t.Key!, Value: t.Value ?? '' }))
    .sort((a, b) => (a.Key < b.Key ? -1 : 1));
const ABSENT = { absent: true } as const;
type Absent = typeof ABSENT;
const isAbsent = (s: unknown): s is Absent => !!s && (s as Absent).absent === true;

async function describeVolume(
  ctx: ActionContext,
  region: string,
  volumeId: string,
): Promise<Volume | null> {
  try {
    const r = await ctx.aws.ec2(region).send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    return r.Volumes?.[0] ?? null;
  } catch (e) {
    if (isAwsError(e, 'InvalidVolume.NotFound')) return null;
    throw e;
  }
}

// ---------- snapshot, then delete an unattached volume ----------

/** A volume as the inventory describes it (VolumeData without ids and times). */
export interface VolumeState {
  state: string;
  volumeType: string;
  sizeGiB: number;
  iops: number | null;
  throughput: number | null;
  encrypted: boolean;
  kmsKeyId: string | null;
  attachments: { instanceId: string; device: string }[];
}
export const volumeState = (v: Volume): VolumeState => ({
  state: v.State ?? 'unknown',
  volumeType: v.VolumeType ?? 'standard',
  sizeGiB: v.Size ?? 0,
  iops: v.Iops ?? null,
  throughput: v.Throughput ?? null,
  encrypted: v.Encrypted ?? false,
  kmsKeyId: v.KmsKeyId ?? null,
  attachments: (v.Attachments ?? []).map((a) => ({
    instanceId: a.InstanceId ?? '',
    device: a.Device ?? '',
  })),
});
interface VolumeCapture {
  availabilityZone: string;
  tags: Tag[];
  /** The snapshot taken at pre-flight (completed before anything was deleted). */
  snapshotId: string;
}

const markerTag = (ctx: ActionContext, purpose: string): Tag => ({
  Key: `axiom:${purpose}`,
  Value: `${ctx.executionId}/${ctx.stepIndex}`,
});

async function findByTag(
  ctx: ActionContext,
  region: string,
  kind: 'snapshot' | 'volume',
  tag: Tag,
): Promise<string | undefined> {
  const Filters = [{ Name: `tag:${tag.Key}`, Values: [tag.Value] }];
  const ec2 = ctx.aws.ec2(region);
  if (kind === 'snapshot') {
    const r = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters }));
    return r.Snapshots?.[0]?.SnapshotId;
  }
  const r = await ec2.send(new DescribeVolumesCommand({ Filters }));
  return r.Volumes?.[0]?.VolumeId;
}

async function observeVolume(
  ctx: ActionContext,
  p: ParamsOf<'ec2.snapshot_and_delete_volume'>,
): Promise<VolumeState | Absent> {
  const v = await describeVolume(ctx, p.region, p.volumeId);
  return v ? volumeState(v) : ABSENT;
}

export const snapshotAndDeleteVolume: ActionHandler<'ec2.snapshot_and_delete_volume'> = {
  id: 'ec2.snapshot_and_delete_volume',
  observe: (ctx, p) => observeVolume(ctx, p),
  async preflight(ctx, p, dryRun) {
    const v = await describeVolume(ctx, p.region, p.volumeId);
    if (!v) throw resourceGone(`volume ${p.volumeId}`);
    const state = volumeState(v);
    if (state.attachments.length || state.state !== 'available')
      throw new AppError('conflict', `volume ${p.volumeId} is ${state.state}, not available`, {
        reason: 'volume_in_use',
      });
    const capture: VolumeCapture = {
      availabilityZone: v.AvailabilityZone ?? '',
      tags: userTags(v.Tags),
      snapshotId: '',
    };
    if (dryRun) return { state, capture };
    // The restore point: found again after a crash (artifact or tag), never taken twice.
    const marker = markerTag(ctx, 'preflight-of');
    let snapshotId =
      ctx.artifacts.snapshotId ?? (await findByTag(ctx, p.region, 'snapshot', marker));
    if (!snapshotId) {
      const r = await ctx.aws.ec2(p.region).send(
        new CreateSnapshotCommand({
          VolumeId: p.volumeId,
          Description: `Axiom pre-flight of ${p.volumeId} (execution ${ctx.executionId}, step ${ctx.stepIndex})`,
          TagSpecifications: [
            {
              ResourceType: 'snapshot',
              Tags: [
                marker,
                { Key: 'axiom:source-volume', Value: p.volumeId },
                ...capture.tags.filter((t) => !t.Key.startsWith('axiom:')),
              ],
            },
          ],
        }),
      );
      snapshotId = r.SnapshotId;
      if (!snapshotId)
        throw new AppError('internal', 'CreateSnapshot returned no snapshot id', {
          reason: 'aws_bad_response',
        });
    }
    await ctx.checkpoint({ snapshotId });
    const id = snapshotId;
    const snap = await waitFor(
      `snapshot ${id} to complete`,
      async () =>
        (
          await ctx.aws
            .ec2(p.region)
            .send(new DescribeSnapshotsCommand({ SnapshotIds: [id], OwnerIds: ['self'] }))
        ).Snapshots?.[0],
      (s) => s?.State === 'completed' || s?.State === 'error',
      ctx.wait,
    );
    if (snap?.State !== 'completed')
      throw new AppError('unavailable', `pre-flight snapshot ${id} failed`, {
        reason: 'snapshot_failed',
      });
    capture.snapshotId = id;
    return { state, capture };
  },
  isApplied: (state) => isAbsent(state),
  async apply(ctx, p) {
    try {
      await ctx.aws.ec2(p.region).send(new DeleteVolumeCommand({ VolumeId: p.volumeId }));
    } catch (e) {
      if (!isAwsError(e, 'InvalidVolume.NotFound')) throw e;
    }
    return null;
  },
  async verify(ctx, p) {
    return expectState(ctx, `volume ${p.volumeId}`, () => observeVolume(ctx, p), isAbsent, ABSENT);
  },
  expected: () => ABSENT,
  async rollback(ctx, p, pre) {
    // Nothing deleted (a failure before or during the delete): nothing to restore.
    if (await describeVolume(ctx, p.region, p.volumeId))
      return { alreadyRolledBack: true, volumeId: p.volumeId };
    const before = pre.state as VolumeState;
    const capture = pre.capture as VolumeCapture;
    const marker = markerTag(ctx, 'restore-of');
    let volumeId =
      ctx.artifacts.restoredVolumeId ?? (await findByTag(ctx, p.region, 'volume', marker));
    if (!volumeId) {
      const t = before.volumeType;
      const r = await ctx.aws.ec2(p.region).send(
        new CreateVolumeCommand({
          AvailabilityZone: capture.availabilityZone,
          SnapshotId: capture.snapshotId,
          VolumeType: t as VolumeType,
          Size: before.sizeGiB,
          ...(before.iops !== null && ['io1', 'io2', 'gp3'].includes(t)
            ? { Iops: before.iops }
            : {}),
          ...(before.throughput !== null && t === 'gp3' ? { Throughput: before.throughput } : {}),
          Encrypted: before.encrypted,
          ...(before.encrypted && before.kmsKeyId ? { KmsKeyId: before.kmsKeyId } : {}),
          ClientToken: ctx.token('restore-volume'),
          TagSpecifications: [{ ResourceType: 'volume', Tags: [...capture.tags, marker] }],
        }),
      );
      volumeId = r.VolumeId;
      if (!volumeId)
        throw new AppError('internal', 'CreateVolume returned no volume id', {
          reason: 'aws_bad_response',
        });
    }
    await ctx.checkpoint({ restoredVolumeId: volumeId });
    const id = volumeId;
    await waitFor(
      `restored volume ${id} to become available`,
      () => describeVolume(ctx, p.region, id),
      (v) => v?.State === 'available',
      ctx.wait,
    );
    // The marker only served to find the volume again after a crash; the restored volume
    // carries exactly the original tags.
    await ctx.aws
      .ec2(p.region)
      .send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: marker.Key }] }));
    return { volumeId: id };
  },
  async verifyRollback(ctx, p, pre, rolledBack) {
    const before = pre.state as VolumeState;
    const capture = pre.capture as VolumeCapture;
    const id = (rolledBack as { volumeId?: string } | null)?.volumeId ?? p.volumeId;
    const v = await describeVolume(ctx, p.region, id);
    const now = v ? { ...volumeState(v), tags: userTags(v.Tags) } : null;
    const want = { ...before, tags: capture.tags };
    if (!now || !sameState(now, want)) throw verificationFailed(`restored volume ${id}`, want, now);
    return { volumeId: id, ...now };
  },
  permissions(p, account) {
    const vol = ec2Arn(p.region, account, 'volume', p.volumeId);
    const anySnapshot = ec2ArnNoAccount(p.region, 'snapshot', '*');
    return [
      { phase: 'read', action: 'ec2:DescribeVolumes', resource: '*' },
      { phase: 'read', action: 'ec2:DescribeSnapshots', resource: '*' },
      {
        phase: 'preflight',
        action: 'ec2:CreateSnapshot',
        resource: vol,
        dryRun: (ctx) =>
          ec2DryRun(() =>
            ctx.aws
              .ec2(p.region)
              .send(new CreateSnapshotCommand({ VolumeId: p.volumeId, DryRun: true })),
          ),
      },
      { phase: 'preflight', action: 'ec2:CreateSnapshot', resource: anySnapshot },
      { phase: 'preflight', action: 'ec2:CreateTags', resource: anySnapshot },
      {
        phase: 'apply',
        action: 'ec2:DeleteVolume',
        resource: vol,
        dryRun: (ctx) =>
          ec2DryRun(() =>
            ctx.aws
              .ec2(p.region)
              .send(new DeleteVolumeCommand({ VolumeId: p.volumeId, DryRun: true })),
          ),
      },
      {
        // The restored volume has an id nobody knows yet: CreateVolume cannot be narrower.
        phase: 'rollback',
        action: 'ec2:CreateVolume',
        resource: '*',
        dryRun: (ctx, observed) =>
          ec2DryRun(() =>
            ctx.aws.ec2(p.region).send(
              new CreateVolumeCommand({
                AvailabilityZone: `${p.region}a`,
                Size: (observed as VolumeState).sizeGiB || 1,
                DryRun: true,
              }),
            ),
          ),
      },
      {
        phase: 'rollback',
        action: 'ec2:CreateTags',
        resource: ec2Arn(p.region, account, 'volume', '*'),
      },
      {
        phase: 'rollback',
        action: 'ec2:DeleteTags',
        resource: ec2Arn(p.region, account, 'volume', '*'),
      },
    ];
  },
  rollbackStrategy(p, pre) {
    const before = pre.state as VolumeState;
    const c: VolumeCapture = (pre.capture as VolumeCapture | null) ?? {
      availabilityZone: '<its availability zone>',
      tags: [],
      snapshotId: '',
    };
    return `aws ec2 create-volume --snapshot-id ${c.snapshotId || '<pre-flight snapshot>'} --availability-zone ${c.availabilityZone} --volume-type ${before.volumeType} --size ${before.sizeGiB}${before.encrypted ? ' --encrypted' : ''} --region ${p.region} (a new volume id; the pre-flight snapshot is kept)`;
  },
};

// ---------- gp2 → gp3 ----------

export interface VolumeTypeState {
  volumeType: string;
  sizeGiB: number;
  iops: number | null;
  throughput: number | null;
}
const typeState = (v: Volume): VolumeTypeState => ({
  volumeType: v.VolumeType ?? 'standard',
  sizeGiB: v.Size ?? 0,
  iops: v.Iops ?? null,
  throughput: v.Throughput ?? null,
});
/** gp3 with at least the IOPS and throughput the gp2 volume had (gp2: 3 IOPS/GiB, 250 MiB/s above 170 GiB). */
export const gp3Target = (pre: VolumeTypeState): VolumeTypeState => ({
  volumeType: 'gp3',
  sizeGiB: pre.sizeGiB,
  iops: Math.min(16_000, Math.max(3000, pre.iops ?? 0)),
  throughput: pre.sizeGiB > 170 ? 250 : 125,
});
const modifyInput = (volumeId: string, s: VolumeTypeState) => ({
  VolumeId: volumeId,
  VolumeType: s.volumeType as VolumeType,
  ...(s.iops !== null && ['io1', 'io2', 'gp3'].includes(s.volumeType) ? { Iops: s.iops } : {}),
  ...(s.throughput !== null && s.volumeType === 'gp3' ? { Throughput: s.throughput } : {}),
});

async function observeVolumeType(
  ctx: ActionContext,
  p: ParamsOf<'ec2.modify_volume_gp3'>,
): Promise<VolumeTypeState> {
  const v = await describeVolume(ctx, p.region, p.volumeId);
  if (!v) throw resourceGone(`volume ${p.volumeId}`);
  return typeState(v);
}

async function waitModification(
  ctx: ActionContext,
  p: ParamsOf<'ec2.modify_volume_gp3'>,
  targetType: string,
): Promise<void> {
  await waitFor(
    `the modification of ${p.volumeId} to ${targetType}`,
    async () =>
      (
        await ctx.aws
          .ec2(p.region)
          .send(new DescribeVolumesModificationsCommand({ VolumeIds: [p.volumeId] }))
      ).VolumesModifications?.[0],
    // 'optimizing' already serves the new type (AWS); 'completed' is the end.
    (m) =>
      m?.TargetVolumeType === targetType &&
      (m.ModificationState === 'optimizing' ||
        m.ModificationState === 'completed' ||
        m.ModificationState === 'failed'),
    ctx.wait,
  );
}

export const modifyVolumeGp3: ActionHandler<'ec2.modify_volume_gp3'> = {
  id: 'ec2.modify_volume_gp3',
  observe: (ctx, p) => observeVolumeType(ctx, p),
  async preflight(ctx, p) {
    return { state: await observeVolumeType(ctx, p), capture: null };
  },
  isApplied: (state, _p, pre) => sameState(state, gp3Target(pre.state as VolumeTypeState)),
  async apply(ctx, p, pre) {
    const r = await ctx.aws
      .ec2(p.region)
      .send(
        new ModifyVolumeCommand(modifyInput(p.volumeId, gp3Target(pre.state as VolumeTypeState))),
      );
    return { modificationStartTime: r.VolumeModification?.StartTime?.toISOString() ?? null };
  },
  async verify(ctx, p, pre) {
    const target = gp3Target(pre.state as VolumeTypeState);
    await waitModification(ctx, p, 'gp3');
    return expectState(
      ctx,
      `volume ${p.volumeId}`,
      () => observeVolumeType(ctx, p),
      (s) => sameState(s, target),
      target,
    );
  },
  expected: (_p, pre) => gp3Target(pre.state as VolumeTypeState),
  async rollback(ctx, p, pre) {
    const before = pre.state as VolumeTypeState;
    if (sameState(await observeVolumeType(ctx, p), before)) return { alreadyRolledBack: true };
    try {
      await ctx.aws.ec2(p.region).send(new ModifyVolumeCommand(modifyInput(p.volumeId, before)));
    } catch (e) {
      if (!isAwsError(e, 'IncorrectModificationState')) throw e;
      const m = (
        await ctx.aws
          .ec2(p.region)
          .send(new DescribeVolumesModificationsCommand({ VolumeIds: [p.volumeId] }))
      ).VolumesModifications?.[0];
      const retryAt = m?.StartTime
        ? new Date(m.StartTime.getTime() + 6 * 3600_000).toISOString()
        : 'six hours after the last modification';
      throw new AppError(
        'conflict',
        `AWS allows one modification of ${p.volumeId} every 6 hours: retry the rollback after ${retryAt}`,
        { reason: 'volume_modification_cooldown', cause: e },
      );
    }
    return null;
  },
  async verifyRollback(ctx, p, pre) {
    const before = pre.state as VolumeTypeState;
    await waitModification(ctx, p, before.volumeType);
    return expectState(
      ctx,
      `volume ${p.volumeId}`,
      () => observeVolumeType(ctx, p),
      (s) => sameState(s, before),
      before,
    );
  },
  permissions(p, account) {
    const resource = ec2Arn(p.region, account, 'volume', p.volumeId);
    const dry =
      (type: VolumeType) =>
      (ctx: ActionContext): Promise<unknown> =>
        ec2DryRun(() =>
          ctx.aws
            .ec2(p.region)
            .send(
              new ModifyVolumeCommand({ VolumeId: p.volumeId, VolumeType: type, DryRun: true }),
            ),
        );
    return [
      { phase: 'read', action: 'ec2:DescribeVolumes', resource: '*' },
      { phase: 'read', action: 'ec2:DescribeVolumesModifications', resource: '*' },
      { phase: 'apply', action: 'ec2:ModifyVolume', resource, dryRun: dry('gp3') },
      { phase: 'rollback', action: 'ec2:ModifyVolume', resource, dryRun: dry('gp2') },
    ];
  },
  rollbackStrategy(p, pre) {
    const s = pre.state as VolumeTypeState;
    return `aws ec2 modify-volume --volume-id ${p.volumeId} --volume-type ${s.volumeType}${s.iops !== null && ['io1', 'io2', 'gp3'].includes(s.volumeType) ? ` --iops ${s.iops}` : ''} --region ${p.region} (not before 6 hours after the change: AWS's per-volume modification limit)`;
  },
};

// ---------- release an unassociated Elastic IP (irreversible) ----------

export interface AddressState {
  publicIp: string;
  associationId: string | null;
}

async function observeAddress(
  ctx: ActionContext,
  p: ParamsOf<'ec2.release_address'>,
): Promise<AddressState | Absent> {
  try {
    const r = await ctx.aws
      .ec2(p.region)
      .send(new DescribeAddressesCommand({ AllocationIds: [p.allocationId] }));
    const a = r.Addresses?.[0];
    if (!a) return ABSENT;
    return { publicIp: a.PublicIp ?? '', associationId: a.AssociationId ?? null };
  } catch (e) {
    if (isAwsError(e, 'InvalidAllocationID.NotFound')) return ABSENT;
    throw e;
  }
}

export const releaseAddress: ActionHandler<'ec2.release_address'> = {
  id: 'ec2.release_address',
  observe: (ctx, p) => observeAddress(ctx, p),
  async preflight(ctx, p) {
    const state = await observeAddress(ctx, p);
    if (isAbsent(state)) throw resourceGone(`Elastic IP ${p.allocationId}`);
    const r = await ctx.aws
      .ec2(p.region)
      .send(new DescribeAddressesCommand({ AllocationIds: [p.allocationId] }));
    const a = r.Addresses?.[0];
    return {
      state,
      capture: {
        domain: a?.Domain ?? 'vpc',
        publicIpv4Pool: a?.PublicIpv4Pool ?? null,
        tags: userTags(a?.Tags),
      },
    };
  },
  isApplied: (state) => isAbsent(state),
  async apply(ctx, p) {
    try {
      await ctx.aws.ec2(p.region).send(new ReleaseAddressCommand({ AllocationId: p.allocationId }));
    } catch (e) {
      if (!isAwsError(e, 'InvalidAllocationID.NotFound')) throw e;
    }
    return null;
  },
  async verify(ctx, p) {
    return expectState(
      ctx,
      `Elastic IP ${p.allocationId}`,
      () => observeAddress(ctx, p),
      isAbsent,
      ABSENT,
    );
  },
  expected: () => ABSENT,
  permissions(p, account) {
    return [
      { phase: 'read', action: 'ec2:DescribeAddresses', resource: '*' },
      {
        phase: 'apply',
        action: 'ec2:ReleaseAddress',
        resource: ec2Arn(p.region, account, 'elastic-ip', p.allocationId),
        dryRun: (ctx) =>
          ec2DryRun(() =>
            ctx.aws
              .ec2(p.region)
              .send(new ReleaseAddressCommand({ AllocationId: p.allocationId, DryRun: true })),
          ),
      },
    ];
  },
  rollbackStrategy(p, pre) {
    const s = pre.state as AddressState;
    return `none: releasing ${s.publicIp} is irreversible (aws ec2 allocate-address --address ${s.publicIp} --region ${p.region} works only if nobody has taken the address since)`;
  },
};

// ---------- stop an idle instance ----------

export interface InstanceRunState {
  state: string;
}
interface InstanceCapture {
  instanceType: string;
  publicIp: string | null;
  /** An Elastic IP stays with the instance across stop/start; an auto-assigned IP does not. */
  elasticIp: { allocationId: string; publicIp: string } | null;
}

async function describeInstance(ctx: ActionContext, p: ParamsOf<'ec2.stop_instance'>) {
  try {
    const r = await ctx.aws
      .ec2(p.region)
      .send(new DescribeInstancesCommand({ InstanceIds: [p.instanceId] }));
    const i = r.Reservations?.[0]?.Instances?.[0];
    if (!i) throw resourceGone(`instance ${p.instanceId}`);
    return i;
  } catch (e) {
    if (isAwsError(e, 'InvalidInstanceID.NotFound')) throw resourceGone(`instance ${p.instanceId}`);
    throw e;
  }
}

async function observeRun(
  ctx: ActionContext,
  p: ParamsOf<'ec2.stop_instance'>,
): Promise<InstanceRunState> {
  return { state: (await describeInstance(ctx, p)).State?.Name ?? 'unknown' };
}

export const stopInstance: ActionHandler<'ec2.stop_instance'> = {
  id: 'ec2.stop_instance',
  observe: (ctx, p) => observeRun(ctx, p),
  async preflight(ctx, p) {
    const i = await describeInstance(ctx, p);
    const asg = (i.Tags ?? []).find((t) => t.Key === 'aws:autoscaling:groupName');
    if (asg)
      throw new AppError(
        'conflict',
        `instance ${p.instanceId} belongs to an Auto Scaling group, which would replace it`,
        { reason: 'autoscaling_member' },
      );
    const eip = (
      await ctx.aws.ec2(p.region).send(
        new DescribeAddressesCommand({
          Filters: [{ Name: 'instance-id', Values: [p.instanceId] }],
        }),
      )
    ).Addresses?.[0];
    const capture: InstanceCapture = {
      instanceType: i.InstanceType ?? '',
      publicIp: i.PublicIpAddress ?? null,
      elasticIp: eip?.AllocationId
        ? { allocationId: eip.AllocationId, publicIp: eip.PublicIp ?? '' }
        : null,
    };
    return { state: { state: i.State?.Name ?? 'unknown' } satisfies InstanceRunState, capture };
  },
  isApplied: (state) => ['stopping', 'stopped'].includes((state as InstanceRunState).state),
  async apply(ctx, p) {
    const r = await ctx.aws
      .ec2(p.region)
      .send(new StopInstancesCommand({ InstanceIds: [p.instanceId] }));
    return { previousState: r.StoppingInstances?.[0]?.PreviousState?.Name ?? null };
  },
  async verify(ctx, p) {
    return waitFor(
      `instance ${p.instanceId} to stop`,
      () => observeRun(ctx, p),
      (s) => s.state === 'stopped',
      ctx.wait,
    );
  },
  expected: () => ({ state: 'stopped' }),
  async rollback(ctx, p) {
    const now = (await observeRun(ctx, p)).state;
    if (now === 'running' || now === 'pending') return { alreadyRolledBack: true };
    if (now === 'stopping')
      await waitFor(
        `instance ${p.instanceId} to stop`,
        () => observeRun(ctx, p),
        (s) => s.state === 'stopped',
        ctx.wait,
      );
    await ctx.aws.ec2(p.region).send(new StartInstancesCommand({ InstanceIds: [p.instanceId] }));
    return null;
  },
  async verifyRollback(ctx, p, pre) {
    const capture = pre.capture as InstanceCapture;
    const s = await waitFor(
      `instance ${p.instanceId} to run`,
      () => observeRun(ctx, p),
      (x) => x.state === 'running',
      ctx.wait,
    );
    if (capture.elasticIp) {
      const i = await describeInstance(ctx, p);
      if (i.PublicIpAddress !== capture.elasticIp.publicIp)
        throw verificationFailed(
          `the public IP of ${p.instanceId}`,
          capture.elasticIp.publicIp,
          i.PublicIpAddress ?? null,
        );
    }
    return s;
  },
  permissions(p, account) {
    const resource = ec2Arn(p.region, account, 'instance', p.instanceId);
    return [
      { phase: 'read', action: 'ec2:DescribeInstances', resource: '*' },
      { phase: 'read', action: 'ec2:DescribeAddresses', resource: '*' },
      {
        phase: 'apply',
        action: 'ec2:StopInstances',
        resource,
        dryRun: (ctx) =>
          ec2DryRun(() =>
            ctx.aws
              .ec2(p.region)
              .send(new StopInstancesCommand({ InstanceIds: [p.instanceId], DryRun: true })),
          ),
      },
      {
        phase: 'rollback',
        action: 'ec2:StartInstances',
        resource,
        dryRun: (ctx) =>
          ec2DryRun(() =>
            ctx.aws
              .ec2(p.region)
              .send(new StartInstancesCommand({ InstanceIds: [p.instanceId], DryRun: true })),
          ),
      },
    ];
  },
  rollbackStrategy(p, pre) {
    const c = pre.capture as InstanceCapture | null;
    return `aws ec2 start-instances --instance-ids ${p.instanceId} --region ${p.region}${c?.elasticIp ? ' (its Elastic IP stays associated)' : c?.publicIp ? ` (the auto-assigned public IP ${c.publicIp} will change)` : ''}`;
  },
};

// ---------- delete an old snapshot (irreversible) ----------

export interface SnapshotState {
  volumeId: string | null;
  volumeSizeGiB: number;
  encrypted: boolean;
}

async function observeSnapshot(
  ctx: ActionContext,
  p: ParamsOf<'ec2.delete_snapshot'>,
): Promise<SnapshotState | Absent> {
  try {
    const r = await ctx.aws
      .ec2(p.region)
      .send(new DescribeSnapshotsCommand({ SnapshotIds: [p.snapshotId], OwnerIds: ['self'] }));
    const s = r.Snapshots?.[0];
    if (!s) return ABSENT;
    return {
      volumeId: s.VolumeId ?? null,
      volumeSizeGiB: s.VolumeSize ?? 0,
      encrypted: s.Encrypted ?? false,
    };
  } catch (e) {
    if (isAwsError(e, 'InvalidSnapshot.NotFound')) return ABSENT;
    throw e;
  }
}

export const deleteSnapshot: ActionHandler<'ec2.delete_snapshot'> = {
  id: 'ec2.delete_snapshot',
  observe: (ctx, p) => observeSnapshot(ctx, p),
  async preflight(ctx, p) {
    const ec2 = ctx.aws.ec2(p.region);
    const r = await ec2
      .send(new DescribeSnapshotsCommand({ SnapshotIds: [p.snapshotId], OwnerIds: ['self'] }))
      .catch((e: unknown) => {
        if (isAwsError(e, 'InvalidSnapshot.NotFound'))
          throw resourceGone(`snapshot ${p.snapshotId}`);
        throw e;
      });
    const s = r.Snapshots?.[0];
    if (!s) throw resourceGone(`snapshot ${p.snapshotId}`);
    const perms = await ec2.send(
      new DescribeSnapshotAttributeCommand({
        SnapshotId: p.snapshotId,
        Attribute: 'createVolumePermission',
      }),
    );
    const state: SnapshotState = {
      volumeId: s.VolumeId ?? null,
      volumeSizeGiB: s.VolumeSize ?? 0,
      encrypted: s.Encrypted ?? false,
    };
    // What is lost, for the record: the snapshot's description, age, tags and sharing.
    const capture = {
      description: s.Description ?? '',
      startTime: s.StartTime?.toISOString() ?? null,
      tags: userTags(s.Tags),
      createVolumePermissions: (perms.CreateVolumePermissions ?? []).map(
        (x) => x.Group ?? x.UserId ?? '',
      ),
    };
    return { state, capture };
  },
  isApplied: (state) => isAbsent(state),
  async apply(ctx, p) {
    try {
      await ctx.aws.ec2(p.region).send(new DeleteSnapshotCommand({ SnapshotId: p.snapshotId }));
    } catch (e) {
      if (!isAwsError(e, 'InvalidSnapshot.NotFound')) throw e;
    }
    return null;
  },
  async verify(ctx, p) {
    return expectState(
      ctx,
      `snapshot ${p.snapshotId}`,
      () => observeSnapshot(ctx, p),
      isAbsent,
      ABSENT,
    );
  },
  expected: () => ABSENT,
  permissions(p): PermissionNeed[] {
    const resource = ec2ArnNoAccount(p.region, 'snapshot', p.snapshotId);
    return [
      { phase: 'read', action: 'ec2:DescribeSnapshots', resource: '*' },
      { phase: 'read', action: 'ec2:DescribeSnapshotAttribute', resource },
      {
        phase: 'apply',
        action: 'ec2:DeleteSnapshot',
        resource,
        dryRun: (ctx) =>
          ec2DryRun(() =>
            ctx.aws
              .ec2(p.region)
              .send(new DeleteSnapshotCommand({ SnapshotId: p.snapshotId, DryRun: true })),
          ),
      },
    ];
  },
  rollbackStrategy: (p) =>
    `none: deleting ${p.snapshotId} is irreversible (only a Recycle Bin retention rule, if the account has one, could restore it)`,
};
