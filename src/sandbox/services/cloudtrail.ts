// CloudTrail (JSON 1.1): trails, status, event selectors, updates, start/stop logging, create
// and delete, and LookupEvents.
import * as sdk from '@aws-sdk/client-cloudtrail';
import { AwsError } from '../errors.js';
import { op, type Ctx, type AnyOp, type ServiceDef } from '../framework.js';
import type { OperationSchema } from '../protocols/serde.js';
import type { Trail } from '../state.js';
import { date, page, req } from '../util.js';

const s = (x: unknown): OperationSchema => x as OperationSchema;

const trailArn = (accountId: string, t: Trail): string =>
  `arn:aws:cloudtrail:${t.homeRegion}:${accountId}:trail/${t.name}`;

function trailOut(ctx: Ctx, t: Trail): sdk.Trail {
  return {
    Name: t.name,
    S3BucketName: t.s3BucketName,
    S3KeyPrefix: t.s3KeyPrefix,
    IncludeGlobalServiceEvents: t.includeGlobalServiceEvents,
    IsMultiRegionTrail: t.isMultiRegion,
    HomeRegion: t.homeRegion,
    TrailARN: trailArn(ctx.account.id, t),
    LogFileValidationEnabled: t.logFileValidation,
    KmsKeyId: t.kmsKeyId,
    HasCustomEventSelectors: false,
    HasInsightSelectors: false,
    IsOrganizationTrail: false,
  };
}

/** Trails visible in this region: its own, plus multi-region trails homed elsewhere. */
function visibleTrails(ctx: Ctx, shadows = true): Trail[] {
  const out: Trail[] = [...ctx.regionState.trails.values()];
  if (shadows)
    for (const [name, r] of ctx.account.regions) {
      if (name === ctx.region) continue;
      for (const t of r.trails.values()) if (t.isMultiRegion) out.push(t);
    }
  return out;
}

function findTrail(ctx: Ctx, nameOrArn: string | undefined, homeOnly = false): Trail {
  const n = nameOrArn ?? '';
  const name = n.startsWith('arn:') ? n.slice(n.lastIndexOf('/') + 1) : n;
  const t = visibleTrails(ctx).find((x) => x.name === name);
  if (!t)
    throw new AwsError(
      'TrailNotFoundException',
      `Unknown trail: ${n} for the user: ${ctx.account.id}`,
    );
  if (homeOnly && t.homeRegion !== ctx.region)
    throw new AwsError(
      'InvalidHomeRegionException',
      "This operation must be called from the trail's home region.",
    );
  return t;
}

function bucketExists(ctx: Ctx, name: string): boolean {
  return ctx.engine.bucketOwners.has(name);
}

const arnOf = (ctx: Ctx, name: string | undefined): string =>
  name?.startsWith('arn:')
    ? name
    : `arn:aws:cloudtrail:${ctx.region}:${ctx.account.id}:trail/${name ?? '*'}`;

const ops: Record<string, AnyOp> = {
  DescribeTrails: op<sdk.DescribeTrailsRequest, sdk.DescribeTrailsResponse>({
    schema: s(sdk.DescribeTrails$),
    handler: (ctx, input) => {
      let list = visibleTrails(ctx, input.includeShadowTrails ?? true);
      if (input.trailNameList?.length) {
        const names = input.trailNameList.map((n) =>
          n.startsWith('arn:') ? n.slice(n.lastIndexOf('/') + 1) : n,
        );
        list = list.filter((t) => names.includes(t.name));
      }
      return { trailList: list.map((t) => trailOut(ctx, t)) };
    },
  }),
  GetTrail: op<sdk.GetTrailRequest, sdk.GetTrailResponse>({
    schema: s(sdk.GetTrail$),
    resource: (i, ctx) => arnOf(ctx, i.Name),
    handler: (ctx, input) => ({ Trail: trailOut(ctx, findTrail(ctx, req(ctx, input, 'Name'))) }),
  }),
  ListTrails: op<sdk.ListTrailsRequest, sdk.ListTrailsResponse>({
    schema: s(sdk.ListTrails$),
    handler: (ctx) => ({
      Trails: visibleTrails(ctx).map((t) => ({
        TrailARN: trailArn(ctx.account.id, t),
        Name: t.name,
        HomeRegion: t.homeRegion,
      })),
    }),
  }),
  GetTrailStatus: op<sdk.GetTrailStatusRequest, sdk.GetTrailStatusResponse>({
    schema: s(sdk.GetTrailStatus$),
    resource: (i, ctx) => arnOf(ctx, i.Name),
    handler: (ctx, input) => {
      const t = findTrail(ctx, req(ctx, input, 'Name'));
      const lastDelivery = t.isLogging ? ctx.now - 5 * 60 * 1000 : t.stopLoggingTime;
      return {
        IsLogging: t.isLogging,
        StartLoggingTime: t.startLoggingTime !== undefined ? date(t.startLoggingTime) : undefined,
        StopLoggingTime: t.stopLoggingTime !== undefined ? date(t.stopLoggingTime) : undefined,
        LatestDeliveryTime: lastDelivery !== undefined ? date(lastDelivery) : undefined,
        LatestDigestDeliveryTime:
          t.logFileValidation && lastDelivery !== undefined ? date(lastDelivery) : undefined,
        TimeLoggingStarted:
          t.startLoggingTime !== undefined ? new Date(t.startLoggingTime).toISOString() : undefined,
        TimeLoggingStopped:
          t.stopLoggingTime !== undefined ? new Date(t.stopLoggingTime).toISOString() : undefined,
      };
    },
  }),
  GetEventSelectors: op<sdk.GetEventSelectorsRequest, sdk.GetEventSelectorsResponse>({
    schema: s(sdk.GetEventSelectors$),
    resource: (i, ctx) => arnOf(ctx, i.TrailName),
    handler: (ctx, input) => {
      const t = findTrail(ctx, req(ctx, input, 'TrailName'));
      return {
        TrailARN: trailArn(ctx.account.id, t),
        EventSelectors: t.eventSelectors.map((e) => ({ ...e })),
      };
    },
  }),
  PutEventSelectors: op<sdk.PutEventSelectorsRequest, sdk.PutEventSelectorsResponse>({
    schema: s(sdk.PutEventSelectors$),
    resource: (i, ctx) => arnOf(ctx, i.TrailName),
    handler: (ctx, input) => {
      const t = findTrail(ctx, req(ctx, input, 'TrailName'), true);
      const sel = req<sdk.EventSelector[]>(ctx, input, 'EventSelectors');
      t.eventSelectors = sel.map((e) => ({
        ReadWriteType: e.ReadWriteType ?? 'All',
        IncludeManagementEvents: e.IncludeManagementEvents ?? true,
        DataResources: (e.DataResources ?? []).map((d) => ({
          Type: d.Type ?? '',
          Values: d.Values ?? [],
        })),
        ExcludeManagementEventSources: e.ExcludeManagementEventSources ?? [],
      }));
      return { TrailARN: trailArn(ctx.account.id, t), EventSelectors: t.eventSelectors };
    },
  }),
  UpdateTrail: op<sdk.UpdateTrailRequest, sdk.UpdateTrailResponse>({
    schema: s(sdk.UpdateTrail$),
    resource: (i, ctx) => arnOf(ctx, i.Name),
    handler: (ctx, input) => {
      const t = findTrail(ctx, req(ctx, input, 'Name'), true);
      if (input.S3BucketName !== undefined) {
        if (!bucketExists(ctx, input.S3BucketName))
          throw new AwsError(
            'S3BucketDoesNotExistException',
            `S3 bucket ${input.S3BucketName} does not exist.`,
          );
        t.s3BucketName = input.S3BucketName;
      }
      if (input.S3KeyPrefix !== undefined) t.s3KeyPrefix = input.S3KeyPrefix || undefined;
      if (input.IsMultiRegionTrail !== undefined) t.isMultiRegion = input.IsMultiRegionTrail;
      if (input.IncludeGlobalServiceEvents !== undefined)
        t.includeGlobalServiceEvents = input.IncludeGlobalServiceEvents;
      if (input.EnableLogFileValidation !== undefined)
        t.logFileValidation = input.EnableLogFileValidation;
      if (input.KmsKeyId !== undefined) t.kmsKeyId = input.KmsKeyId || undefined;
      if (t.isMultiRegion && !t.includeGlobalServiceEvents)
        throw new AwsError(
          'InvalidParameterCombinationException',
          'Multi-Region trail must include global service events.',
        );
      const { HasCustomEventSelectors: _a, HasInsightSelectors: _b, ...out } = trailOut(ctx, t);
      return out;
    },
  }),
  CreateTrail: op<sdk.CreateTrailRequest, sdk.CreateTrailResponse>({
    schema: s(sdk.CreateTrail$),
    resource: (i, ctx) => arnOf(ctx, i.Name),
    handler: (ctx, input) => {
      const name = req<string>(ctx, input, 'Name');
      const bucket = req<string>(ctx, input, 'S3BucketName');
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$/.test(name))
        throw new AwsError(
          'InvalidTrailNameException',
          'Trail name must start with a letter or number and be 3-128 characters.',
        );
      if (visibleTrails(ctx).some((t) => t.name === name))
        throw new AwsError(
          'TrailAlreadyExistsException',
          `Trail ${name} already exists for customer: ${ctx.account.id}`,
        );
      if (!bucketExists(ctx, bucket))
        throw new AwsError('S3BucketDoesNotExistException', `S3 bucket ${bucket} does not exist.`);
      const t: Trail = {
        name,
        homeRegion: ctx.region,
        s3BucketName: bucket,
        s3KeyPrefix: input.S3KeyPrefix,
        isMultiRegion: input.IsMultiRegionTrail ?? false,
        includeGlobalServiceEvents: input.IncludeGlobalServiceEvents ?? true,
        logFileValidation: input.EnableLogFileValidation ?? false,
        kmsKeyId: input.KmsKeyId,
        isLogging: false,
        eventSelectors: [
          {
            ReadWriteType: 'All',
            IncludeManagementEvents: true,
            DataResources: [],
            ExcludeManagementEventSources: [],
          },
        ],
        tags: (input.TagsList ?? []).map((x) => ({ Key: x.Key ?? '', Value: x.Value ?? '' })),
      };
      ctx.regionState.trails.set(name, t);
      const {
        HasCustomEventSelectors: _a,
        HasInsightSelectors: _b,
        HomeRegion: _c,
        ...out
      } = trailOut(ctx, t);
      return out;
    },
  }),
  DeleteTrail: op<sdk.DeleteTrailRequest, sdk.DeleteTrailResponse>({
    schema: s(sdk.DeleteTrail$),
    resource: (i, ctx) => arnOf(ctx, i.Name),
    handler: (ctx, input) => {
      const t = findTrail(ctx, req(ctx, input, 'Name'), true);
      ctx.regionState.trails.delete(t.name);
      return {};
    },
  }),
  StartLogging: op<sdk.StartLoggingRequest, sdk.StartLoggingResponse>({
    schema: s(sdk.StartLogging$),
    resource: (i, ctx) => arnOf(ctx, i.Name),
    handler: (ctx, input) => {
      const t = findTrail(ctx, req(ctx, input, 'Name'), true);
      if (!t.isLogging) {
        t.isLogging = true;
        t.startLoggingTime = ctx.now;
      }
      return {};
    },
  }),
  StopLogging: op<sdk.StopLoggingRequest, sdk.StopLoggingResponse>({
    schema: s(sdk.StopLogging$),
    resource: (i, ctx) => arnOf(ctx, i.Name),
    handler: (ctx, input) => {
      const t = findTrail(ctx, req(ctx, input, 'Name'), true);
      if (t.isLogging) {
        t.isLogging = false;
        t.stopLoggingTime = ctx.now;
      }
      return {};
    },
  }),
  LookupEvents: op<sdk.LookupEventsRequest, sdk.LookupEventsResponse>({
    schema: s(sdk.LookupEvents$),
    handler: (ctx, input) => {
      const max = input.MaxResults ?? 50;
      if (max < 1 || max > 50)
        throw new AwsError('InvalidMaxResultsException', 'MaxResults must be between 1 and 50.');
      const start = input.StartTime?.getTime() ?? 0;
      const end = input.EndTime?.getTime() ?? Number.MAX_SAFE_INTEGER;
      const events = ctx.regionState.events
        .filter((e) => e.time >= start && e.time <= end)
        .filter((e) =>
          (input.LookupAttributes ?? []).every((a) =>
            a.AttributeKey === 'EventName'
              ? e.name === a.AttributeValue
              : a.AttributeKey === 'Username'
                ? e.username === a.AttributeValue
                : true,
          ),
        )
        .sort((a, b) => b.time - a.time);
      const p = page(
        events,
        input.NextToken,
        max,
        `ct:${ctx.region}`,
        () => new AwsError('InvalidNextTokenException', 'Invalid NextToken.'),
      );
      return {
        Events: p.items.map((e) => ({
          EventId: e.id,
          EventName: e.name,
          EventTime: date(e.time),
          EventSource: e.source,
          Username: e.username,
          ReadOnly:
            e.name.startsWith('Describe') || e.name.startsWith('Get') || e.name.startsWith('List')
              ? 'true'
              : 'false',
          CloudTrailEvent: JSON.stringify({
            eventID: e.id,
            eventName: e.name,
            eventSource: e.source,
            eventTime: new Date(e.time).toISOString(),
            awsRegion: ctx.region,
          }),
        })),
        NextToken: p.next,
      };
    },
  }),
};

export const cloudTrailService: ServiceDef = {
  signingName: 'cloudtrail',
  name: 'cloudtrail',
  protocol: 'json',
  jsonVersion: '1.1',
  targetPrefix: 'CloudTrail_20131101',
  targetAliases: ['com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101'],
  actionPrefix: 'cloudtrail',
  ops,
};
