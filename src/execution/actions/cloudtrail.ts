// CloudTrail: log-file validation, logging on, multi-region. Writes happen in the trail's home
// region (the params' region).
import {
  DescribeTrailsCommand,
  GetTrailStatusCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
  type Trail,
} from '@aws-sdk/client-cloudtrail';
import { isAwsError } from '../clients.js';
import type { ParamsOf } from '../params.js';
import { resourceGone, settingAction, type ActionContext, type PermissionNeed } from './types.js';

type OnTrail = ParamsOf<'cloudtrail.start_logging'>;
const trailArn = (p: OnTrail, account: string) =>
  `arn:aws:cloudtrail:${p.region}:${account}:trail/${p.trailName}`;

async function describeTrail(ctx: ActionContext, p: OnTrail): Promise<Trail> {
  const r = await ctx.aws
    .cloudtrail(p.region)
    .send(new DescribeTrailsCommand({ trailNameList: [p.trailName], includeShadowTrails: false }));
  const t = r.trailList?.find((x) => x.Name === p.trailName);
  if (!t) throw resourceGone(`trail ${p.trailName} (home region ${p.region})`);
  return t;
}

const perms =
  (applyAction: string, rollbackAction = applyAction) =>
  (p: OnTrail, account: string): PermissionNeed[] => [
    { phase: 'read', action: 'cloudtrail:DescribeTrails', resource: '*' },
    { phase: 'read', action: 'cloudtrail:GetTrailStatus', resource: trailArn(p, account) },
    { phase: 'apply', action: applyAction, resource: trailArn(p, account) },
    { phase: 'rollback', action: rollbackAction, resource: trailArn(p, account) },
  ];

export const enableLogValidation = settingAction({
  id: 'cloudtrail.enable_log_validation',
  what: (p) => `log-file validation of trail ${p.trailName}`,
  observe: async (ctx, p): Promise<{ logFileValidationEnabled: boolean }> => ({
    logFileValidationEnabled: (await describeTrail(ctx, p)).LogFileValidationEnabled === true,
  }),
  target: () => ({ logFileValidationEnabled: true }),
  async write(ctx, p, d) {
    await ctx.aws.cloudtrail(p.region).send(
      new UpdateTrailCommand({
        Name: p.trailName,
        EnableLogFileValidation: d.logFileValidationEnabled,
      }),
    );
  },
  permissions: perms('cloudtrail:UpdateTrail'),
  rollbackStrategy: (p) =>
    `aws cloudtrail update-trail --name ${p.trailName} --no-enable-log-file-validation --region ${p.region}`,
});

export const startLogging = settingAction({
  id: 'cloudtrail.start_logging',
  what: (p) => `logging of trail ${p.trailName}`,
  async observe(ctx, p): Promise<{ isLogging: boolean }> {
    try {
      const r = await ctx.aws
        .cloudtrail(p.region)
        .send(new GetTrailStatusCommand({ Name: p.trailName }));
      return { isLogging: r.IsLogging === true };
    } catch (e) {
      if (isAwsError(e, 'TrailNotFoundException')) throw resourceGone(`trail ${p.trailName}`);
      throw e;
    }
  },
  target: () => ({ isLogging: true }),
  async write(ctx, p, d) {
    await ctx.aws
      .cloudtrail(p.region)
      .send(
        d.isLogging
          ? new StartLoggingCommand({ Name: p.trailName })
          : new StopLoggingCommand({ Name: p.trailName }),
      );
  },
  permissions: perms('cloudtrail:StartLogging', 'cloudtrail:StopLogging'),
  rollbackStrategy: (p) => `aws cloudtrail stop-logging --name ${p.trailName} --region ${p.region}`,
});

export interface MultiRegionState {
  isMultiRegionTrail: boolean;
}

export const enableMultiRegion = settingAction({
  id: 'cloudtrail.enable_multi_region',
  what: (p) => `IsMultiRegionTrail of trail ${p.trailName}`,
  observe: async (ctx, p): Promise<MultiRegionState> => ({
    isMultiRegionTrail: (await describeTrail(ctx, p)).IsMultiRegionTrail === true,
  }),
  // A multi-region trail must include global service events: remembered so the rollback
  // restores that flag too.
  capture: async (ctx, p) => ({
    includeGlobalServiceEvents: (await describeTrail(ctx, p)).IncludeGlobalServiceEvents === true,
  }),
  target: () => ({ isMultiRegionTrail: true }),
  async write(ctx, p, d, phase, pre) {
    await ctx.aws.cloudtrail(p.region).send(
      new UpdateTrailCommand({
        Name: p.trailName,
        IsMultiRegionTrail: d.isMultiRegionTrail,
        IncludeGlobalServiceEvents:
          phase === 'apply' ? true : (pre.capture?.includeGlobalServiceEvents ?? true),
      }),
    );
  },
  permissions: perms('cloudtrail:UpdateTrail'),
  rollbackStrategy: (p, pre) =>
    `aws cloudtrail update-trail --name ${p.trailName} --no-is-multi-region-trail${pre.capture?.includeGlobalServiceEvents === false ? ' --no-include-global-service-events' : ''} --region ${p.region}`,
});
