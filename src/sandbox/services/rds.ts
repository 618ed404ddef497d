// RDS (awsQuery): DB instances and snapshots, snapshot attributes, ModifyDBInstance,
// CreateDBSnapshot; Marker pagination.
import * as sdk from '@aws-sdk/client-rds';
import { AwsError } from '../errors.js';
import { op, type Ctx, type AnyOp, type ServiceDef } from '../framework.js';
import { globMatch } from '../policy.js';
import type { OperationSchema } from '../protocols/serde.js';
import type { DbInstance, DbSnapshot } from '../state.js';
import { date, page, req } from '../util.js';

const s = (x: unknown): OperationSchema => x as OperationSchema;

const dbArn = (ctx: Ctx, id: string): string =>
  `arn:aws:rds:${ctx.region}:${ctx.account.id}:db:${id}`;
const snapArn = (ctx: Ctx, id: string): string =>
  `arn:aws:rds:${ctx.region}:${ctx.account.id}:snapshot:${id}`;

export function settleDbSnapshot(sn: DbSnapshot, now: number): DbSnapshot {
  if (sn.status === 'creating' && sn.completeAt <= now) sn.status = 'available';
  return sn;
}

function paged<T>(ctx: Ctx, items: T[], input: { MaxRecords?: number; Marker?: string }) {
  const max = input.MaxRecords ?? 100;
  if (max < 20 || max > 100)
    throw new AwsError(
      'InvalidParameterValue',
      `Invalid value ${max} for MaxRecords. Must be between 20 and 100`,
    );
  return page(
    items,
    input.Marker,
    max,
    `rds:${ctx.operation}:${ctx.region}`,
    () => new AwsError('InvalidParameterValue', 'The parameter Marker is not a valid marker.'),
  );
}

function applyFilters<T>(
  items: T[],
  filters: sdk.Filter[] | undefined,
  ex: Record<string, (x: T) => string | undefined>,
): T[] {
  if (!filters?.length) return items;
  return items.filter((x) =>
    filters.every((f) => {
      const get = ex[f.Name ?? ''];
      if (!get) throw new AwsError('InvalidParameterValue', `Unrecognized filter name: ${f.Name}`);
      const v = get(x);
      return v !== undefined && (f.Values ?? []).some((w) => globMatch(w, v));
    }),
  );
}

function instanceOut(ctx: Ctx, d: DbInstance): sdk.DBInstance {
  return {
    DBInstanceIdentifier: d.id,
    DBInstanceClass: d.instanceClass,
    Engine: d.engine,
    EngineVersion: d.engineVersion,
    DBInstanceStatus: d.status,
    MasterUsername: d.masterUsername,
    Endpoint: {
      Address: `${d.id}.c${d.resourceId.slice(3, 13).toLowerCase()}.${ctx.region}.rds.amazonaws.com`,
      Port: d.port,
      HostedZoneId: 'Z2R2ITUGPM61AM',
    },
    AllocatedStorage: d.allocatedStorage,
    InstanceCreateTime: date(d.createTime),
    PreferredBackupWindow: '03:00-04:00',
    PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
    BackupRetentionPeriod: d.backupRetentionPeriod,
    DBSecurityGroups: [],
    VpcSecurityGroups: d.securityGroupIds.map((g) => ({ VpcSecurityGroupId: g, Status: 'active' })),
    AvailabilityZone: d.az,
    MultiAZ: d.multiAZ,
    AutoMinorVersionUpgrade: true,
    PubliclyAccessible: d.publiclyAccessible,
    StorageType: 'gp3',
    StorageEncrypted: d.storageEncrypted,
    KmsKeyId: d.kmsKeyId,
    DbiResourceId: d.resourceId,
    DBInstanceArn: dbArn(ctx, d.id),
    DeletionProtection: d.deletionProtection,
    CopyTagsToSnapshot: false,
    TagList: d.tags.map((t) => ({ ...t })),
    PendingModifiedValues: d.pending
      ? {
          DBInstanceClass: d.pending.instanceClass,
          BackupRetentionPeriod: d.pending.backupRetentionPeriod,
        }
      : {},
  };
}

function snapshotOut(ctx: Ctx, sn: DbSnapshot): sdk.DBSnapshot {
  settleDbSnapshot(sn, ctx.now);
  return {
    DBSnapshotIdentifier: sn.id,
    DBInstanceIdentifier: sn.dbInstanceId,
    SnapshotCreateTime: date(sn.createTime),
    Engine: sn.engine,
    EngineVersion: sn.engineVersion,
    AllocatedStorage: sn.allocatedStorage,
    Status: sn.status,
    AvailabilityZone: sn.az,
    SnapshotType: sn.type,
    Encrypted: sn.encrypted,
    PercentProgress: sn.status === 'available' ? 100 : 0,
    DBSnapshotArn: snapArn(ctx, sn.id),
    TagList: sn.tags.map((t) => ({ ...t })),
  };
}

function db(ctx: Ctx, id: string): DbInstance {
  const d = ctx.regionState.rds.instances.get(id);
  if (!d) throw new AwsError('DBInstanceNotFound', `DBInstance ${id} not found.`, 404);
  return d;
}
function snap(ctx: Ctx, id: string): DbSnapshot {
  const sn = ctx.regionState.rds.snapshots.get(id);
  if (!sn) throw new AwsError('DBSnapshotNotFound', `DBSnapshot ${id} not found.`, 404);
  return settleDbSnapshot(sn, ctx.now);
}

const attrsOut = (sn: DbSnapshot): sdk.DBSnapshotAttributesResult => ({
  DBSnapshotIdentifier: sn.id,
  DBSnapshotAttributes: [{ AttributeName: 'restore', AttributeValues: [...sn.restoreAttrs] }],
});

const ops: Record<string, AnyOp> = {
  DescribeDBInstances: op<sdk.DescribeDBInstancesMessage, sdk.DBInstanceMessage>({
    schema: s(sdk.DescribeDBInstances$),
    handler: (ctx, input) => {
      let list = [...ctx.regionState.rds.instances.values()];
      if (input.DBInstanceIdentifier) list = [db(ctx, input.DBInstanceIdentifier)];
      list = applyFilters(list, input.Filters, {
        'db-instance-id': (d) => d.id,
        engine: (d) => d.engine,
        'dbi-resource-id': (d) => d.resourceId,
      });
      const p = paged(ctx, list, input);
      return { DBInstances: p.items.map((d) => instanceOut(ctx, d)), Marker: p.next };
    },
  }),
  DescribeDBSnapshots: op<sdk.DescribeDBSnapshotsMessage, sdk.DBSnapshotMessage>({
    schema: s(sdk.DescribeDBSnapshots$),
    handler: (ctx, input) => {
      let list = [...ctx.regionState.rds.snapshots.values()];
      if (input.DBSnapshotIdentifier) list = [snap(ctx, input.DBSnapshotIdentifier)];
      if (input.DBInstanceIdentifier)
        list = list.filter((x) => x.dbInstanceId === input.DBInstanceIdentifier);
      if (input.SnapshotType) list = list.filter((x) => x.type === input.SnapshotType);
      list = applyFilters(list, input.Filters, {
        'db-snapshot-id': (x) => x.id,
        'db-instance-id': (x) => x.dbInstanceId,
        'snapshot-type': (x) => x.type,
        engine: (x) => x.engine,
      });
      const p = paged(ctx, list, input);
      return { DBSnapshots: p.items.map((x) => snapshotOut(ctx, x)), Marker: p.next };
    },
  }),
  DescribeDBSnapshotAttributes: op<
    sdk.DescribeDBSnapshotAttributesMessage,
    sdk.DescribeDBSnapshotAttributesResult
  >({
    schema: s(sdk.DescribeDBSnapshotAttributes$),
    resource: (i, ctx) => snapArn(ctx, i.DBSnapshotIdentifier ?? '*'),
    handler: (ctx, input) => ({
      DBSnapshotAttributesResult: attrsOut(snap(ctx, req(ctx, input, 'DBSnapshotIdentifier'))),
    }),
  }),
  ModifyDBSnapshotAttribute: op<
    sdk.ModifyDBSnapshotAttributeMessage,
    sdk.ModifyDBSnapshotAttributeResult
  >({
    schema: s(sdk.ModifyDBSnapshotAttribute$),
    resource: (i, ctx) => snapArn(ctx, i.DBSnapshotIdentifier ?? '*'),
    handler: (ctx, input) => {
      const sn = snap(ctx, req(ctx, input, 'DBSnapshotIdentifier'));
      const name = req<string>(ctx, input, 'AttributeName');
      if (name !== 'restore')
        throw new AwsError('InvalidParameterValue', `Invalid snapshot attribute name: ${name}`);
      if (sn.type === 'automated')
        throw new AwsError('InvalidDBSnapshotState', 'Automated snapshots cannot be shared.');
      const add = input.ValuesToAdd ?? [];
      if (sn.encrypted && add.includes('all'))
        throw new AwsError(
          'InvalidParameterValue',
          'Encrypted snapshots cannot be shared publicly.',
        );
      for (const v of add) if (!sn.restoreAttrs.includes(v)) sn.restoreAttrs.push(v);
      const remove = new Set(input.ValuesToRemove ?? []);
      sn.restoreAttrs = sn.restoreAttrs.filter((v) => !remove.has(v));
      return { DBSnapshotAttributesResult: attrsOut(sn) };
    },
  }),
  ModifyDBInstance: op<sdk.ModifyDBInstanceMessage, sdk.ModifyDBInstanceResult>({
    schema: s(sdk.ModifyDBInstance$),
    resource: (i, ctx) => dbArn(ctx, i.DBInstanceIdentifier ?? '*'),
    handler: (ctx, input) => {
      const d = db(ctx, req(ctx, input, 'DBInstanceIdentifier'));
      if (d.status !== 'available')
        throw new AwsError(
          'InvalidDBInstanceState',
          `Database instance is not in available state.`,
        );
      const now = !!input.ApplyImmediately;
      if (
        input.BackupRetentionPeriod !== undefined &&
        (input.BackupRetentionPeriod < 0 || input.BackupRetentionPeriod > 35)
      )
        throw new AwsError(
          'InvalidParameterValue',
          'Invalid backup retention period: must be between 0 and 35 days.',
        );
      if (input.PubliclyAccessible !== undefined) d.publiclyAccessible = input.PubliclyAccessible;
      if (input.DeletionProtection !== undefined) d.deletionProtection = input.DeletionProtection;
      if (input.BackupRetentionPeriod !== undefined) {
        if (now) d.backupRetentionPeriod = input.BackupRetentionPeriod;
        else d.pending = { ...d.pending, backupRetentionPeriod: input.BackupRetentionPeriod };
      }
      if (input.DBInstanceClass !== undefined) {
        if (!/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(input.DBInstanceClass))
          throw new AwsError(
            'InvalidParameterValue',
            `Invalid DB Instance class: ${input.DBInstanceClass}`,
          );
        if (now) d.instanceClass = input.DBInstanceClass;
        else d.pending = { ...d.pending, instanceClass: input.DBInstanceClass };
      }
      return { DBInstance: instanceOut(ctx, d) };
    },
  }),
  CreateDBSnapshot: op<sdk.CreateDBSnapshotMessage, sdk.CreateDBSnapshotResult>({
    schema: s(sdk.CreateDBSnapshot$),
    resource: (i, ctx) => dbArn(ctx, i.DBInstanceIdentifier ?? '*'),
    handler: (ctx, input) => {
      const id = req<string>(ctx, input, 'DBSnapshotIdentifier');
      const d = db(ctx, req(ctx, input, 'DBInstanceIdentifier'));
      if (!/^[a-zA-Z][a-zA-Z0-9-]{0,254}$/.test(id) || id.endsWith('-') || id.includes('--'))
        throw new AwsError(
          'InvalidParameterValue',
          `The parameter DBSnapshotIdentifier is not a valid identifier.`,
        );
      if (ctx.regionState.rds.snapshots.has(id))
        throw new AwsError(
          'DBSnapshotAlreadyExists',
          `Cannot create the snapshot because a snapshot with the identifier ${id} already exists.`,
        );
      const sn: DbSnapshot = {
        id,
        dbInstanceId: d.id,
        type: 'manual',
        status: 'creating',
        createTime: ctx.now,
        completeAt: ctx.now + ctx.engine.delays.snapshotMs,
        encrypted: d.storageEncrypted,
        engine: d.engine,
        engineVersion: d.engineVersion,
        allocatedStorage: d.allocatedStorage,
        az: d.az,
        restoreAttrs: [],
        tags: (input.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
      };
      ctx.regionState.rds.snapshots.set(id, sn);
      const out = snapshotOut(ctx, sn);
      return { DBSnapshot: { ...out, Status: 'creating' } };
    },
  }),
};

export const rdsService: ServiceDef = {
  signingName: 'rds',
  name: 'rds',
  protocol: 'query',
  actionPrefix: 'rds',
  xmlns: 'http://rds.amazonaws.com/doc/2014-10-31/',
  ops,
};
