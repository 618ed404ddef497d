// Tags: add the required tags (values from the facility policy) to an instance or a volume.
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
} from '@aws-sdk/client-ec2';
import { isAwsError } from '../clients.js';
import type { ParamsOf } from '../params.js';
import { ec2Arn, ec2DryRun, resourceGone, settingAction, type ActionContext } from './types.js';

type OnTags = ParamsOf<'tags.add_required_tags'>;
export interface TagsState {
  /** The required keys only: their values, or null when missing. */
  tags: Record<string, string | null>;
}
const isInstance = (p: OnTags) => p.resourceId.startsWith('i-');
const arnOf = (p: OnTags, account: string) =>
  ec2Arn(p.region, account, isInstance(p) ? 'instance' : 'volume', p.resourceId);

async function currentTags(ctx: ActionContext, p: OnTags) {
  const ec2 = ctx.aws.ec2(p.region);
  try {
    const tags = isInstance(p)
      ? (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [p.resourceId] })))
          .Reservations?.[0]?.Instances?.[0]?.Tags
      : (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [p.resourceId] }))).Volumes?.[0]
          ?.Tags;
    if (!tags) return [];
    return tags;
  } catch (e) {
    if (isAwsError(e, 'InvalidInstanceID.NotFound', 'InvalidVolume.NotFound'))
      throw resourceGone(p.resourceId);
    throw e;
  }
}

export const addRequiredTags = settingAction({
  id: 'tags.add_required_tags',
  what: (p) => `the required tags of ${p.resourceId}`,
  async observe(ctx, p): Promise<TagsState> {
    const now = await currentTags(ctx, p);
    return {
      tags: Object.fromEntries(
        Object.keys(p.tags)
          .sort()
          .map((k) => [k, now.find((t) => t.Key === k)?.Value ?? null]),
      ),
    };
  },
  target: (pre, p) => ({
    tags: Object.fromEntries(
      Object.keys(pre.tags).map((k) => [k, p.tags[k] ?? pre.tags[k] ?? null]),
    ),
  }),
  async write(ctx, p, desired) {
    const ec2 = ctx.aws.ec2(p.region);
    const set = Object.entries(desired.tags).filter((e): e is [string, string] => e[1] !== null);
    const unset = Object.entries(desired.tags).filter(([, v]) => v === null);
    if (set.length)
      await ec2.send(
        new CreateTagsCommand({
          Resources: [p.resourceId],
          Tags: set.map(([Key, Value]) => ({ Key, Value })),
        }),
      );
    if (unset.length)
      await ec2.send(
        new DeleteTagsCommand({ Resources: [p.resourceId], Tags: unset.map(([Key]) => ({ Key })) }),
      );
  },
  permissions: (p, account) => [
    {
      phase: 'read',
      action: isInstance(p) ? 'ec2:DescribeInstances' : 'ec2:DescribeVolumes',
      resource: '*',
    },
    {
      phase: 'apply',
      action: 'ec2:CreateTags',
      resource: arnOf(p, account),
      dryRun: (ctx) =>
        ec2DryRun(() =>
          ctx.aws.ec2(p.region).send(
            new CreateTagsCommand({
              Resources: [p.resourceId],
              Tags: Object.entries(p.tags).map(([Key, Value]) => ({ Key, Value })),
              DryRun: true,
            }),
          ),
        ),
    },
    {
      phase: 'rollback',
      action: 'ec2:DeleteTags',
      resource: arnOf(p, account),
      dryRun: (ctx) =>
        ec2DryRun(() =>
          ctx.aws.ec2(p.region).send(
            new DeleteTagsCommand({
              Resources: [p.resourceId],
              Tags: Object.keys(p.tags).map((Key) => ({ Key })),
              DryRun: true,
            }),
          ),
        ),
    },
  ],
  rollbackStrategy: (p, pre) => {
    const missing = Object.entries(pre.state.tags)
      .filter(([, v]) => v === null)
      .map(([k]) => `Key=${k}`);
    return `aws ec2 delete-tags --resources ${p.resourceId} --tags ${missing.join(' ')} --region ${p.region}`;
  },
});
