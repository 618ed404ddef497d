// CloudWatch (JSON 1.0, awsQueryCompatible, as the installed SDK sends it): GetMetricData and
// GetMetricStatistics over the deterministic generated series.
import * as sdk from '@aws-sdk/client-cloudwatch';
import { AwsError } from '../errors.js';
import { op, type AnyOp, type ServiceDef } from '../framework.js';
import { series, statistic } from '../metrics.js';
import type { OperationSchema } from '../protocols/serde.js';
import { req } from '../util.js';

const s = (x: unknown): OperationSchema => x as OperationSchema;
const STATS = new Set(['Average', 'Sum', 'Minimum', 'Maximum', 'SampleCount']);

const dimsOf = (d: sdk.Dimension[] | undefined): Record<string, string> => {
  const o: Record<string, string> = {};
  for (const x of d ?? []) if (x.Name) o[x.Name] = x.Value ?? '';
  return o;
};

const invalid = (message: string): AwsError => new AwsError('InvalidParameterValue', message, 400);

const ops: Record<string, AnyOp> = {
  GetMetricStatistics: op<sdk.GetMetricStatisticsInput, sdk.GetMetricStatisticsOutput>({
    schema: s(sdk.GetMetricStatistics$),
    handler: (ctx, input) => {
      const ns = req<string>(ctx, input, 'Namespace');
      const metric = req<string>(ctx, input, 'MetricName');
      const start = req<Date>(ctx, input, 'StartTime').getTime();
      const end = req<Date>(ctx, input, 'EndTime').getTime();
      const period = req<number>(ctx, input, 'Period');
      if (period < 1 || (period >= 60 && period % 60 !== 0))
        throw invalid('The parameter Period must be a multiple of 60.');
      if (end <= start)
        throw invalid('The parameter StartTime must be less than the parameter EndTime.');
      const stats = input.Statistics ?? [];
      const ext = input.ExtendedStatistics ?? [];
      if (!stats.length && !ext.length)
        throw new AwsError(
          'MissingParameter',
          'The parameter Statistics or ExtendedStatistics is required.',
          400,
        );
      const points = series(
        ctx.account,
        ctx.region,
        ns,
        metric,
        dimsOf(input.Dimensions),
        start,
        end,
        period,
      );
      if (points.length > 1440)
        throw invalid(
          'You have requested up to 1,440 datapoints, which exceeds the limit of 1,440.',
        );
      const unit =
        metric === 'CPUUtilization' ? 'Percent' : metric.startsWith('Network') ? 'Bytes' : 'Count';
      return {
        Label: metric,
        Datapoints: points.map((p) => {
          const dp: sdk.Datapoint = { Timestamp: new Date(p.timestamp), Unit: unit };
          for (const st of stats) dp[st as 'Average'] = statistic(p.values, st);
          if (ext.length) {
            dp.ExtendedStatistics = {};
            for (const e of ext) dp.ExtendedStatistics[e] = statistic(p.values, e);
          }
          return dp;
        }),
      };
    },
  }),
  GetMetricData: op<sdk.GetMetricDataInput, sdk.GetMetricDataOutput>({
    schema: s(sdk.GetMetricData$),
    handler: (ctx, input) => {
      const queries = req<sdk.MetricDataQuery[]>(ctx, input, 'MetricDataQueries');
      const start = req<Date>(ctx, input, 'StartTime').getTime();
      const end = req<Date>(ctx, input, 'EndTime').getTime();
      if (queries.length > 500)
        throw invalid('The collection MetricDataQueries must not have a size greater than 500.');
      const ascending = input.ScanBy === 'TimestampAscending';
      const results: sdk.MetricDataResult[] = queries.map((q) => {
        if (!q.Id)
          throw new AwsError(
            'MissingParameter',
            'The parameter MetricDataQueries.member.Id is required.',
            400,
          );
        if (q.Expression !== undefined)
          throw invalid('Metric math expressions are not supported by the sandbox.');
        const ms = q.MetricStat;
        if (!ms?.Metric?.MetricName || !ms.Metric.Namespace || !ms.Period || !ms.Stat)
          throw invalid(
            `The parameter MetricDataQueries.member.MetricStat is incomplete for query ${q.Id}.`,
          );
        const stat = ms.Stat;
        if (!STATS.has(stat) && !/^p\d+(\.\d+)?$/.test(stat))
          throw invalid(`Invalid statistic ${stat}.`);
        const points = series(
          ctx.account,
          ctx.region,
          ms.Metric.Namespace,
          ms.Metric.MetricName,
          dimsOf(ms.Metric.Dimensions),
          start,
          end,
          ms.Period,
        );
        if (!ascending) points.reverse();
        return {
          Id: q.Id,
          Label: q.Label ?? ms.Metric.MetricName,
          Timestamps: points.map((p) => new Date(p.timestamp)),
          Values: points.map((p) => statistic(p.values, stat)),
          StatusCode: 'Complete',
        };
      });
      return {
        MetricDataResults: results.filter((_, i) => queries[i]!.ReturnData !== false),
        Messages: [],
      };
    },
  }),
};

export const cloudWatchService: ServiceDef = {
  signingName: 'monitoring',
  name: 'cloudwatch',
  protocol: 'json',
  jsonVersion: '1.0',
  queryCompatible: true,
  targetPrefix: 'GraniteServiceVersion20100801',
  actionPrefix: 'cloudwatch',
  ops,
};
