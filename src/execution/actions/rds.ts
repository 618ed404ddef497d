// RDS: public access off, automated backups on, deletion protection on, public snapshot private.
import {
  DescribeDBInstancesCommand,
  DescribeDBSnapshotAttributesCommand,
  ModifyDBInstanceCommand,
  ModifyDBSnapshotAttributeCommand,
  type DBInstance,
} from '@aws-sdk/client-rds';
import { isAwsError } from '../clients.js';
import type { ParamsOf } from '../params.js';
import { resourceGone, settingAction, type ActionContext, type PermissionNeed } from './types.js';

type OnDb = ParamsOf<'rds.disable_public_access'>;
const dbArn = (p: OnDb, account: string) =>
  `arn:aws:rds:${p.region}:${account}:db:${p.dbInstanceIdentifier}`;

async function describeDb(ctx: ActionContext, p: OnDb): Promise<DBInstance> {
  try {
    const r = await ctx.aws
      .rds(p.region)
      .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: p.dbInstanceIdentifier }));
    const d = r.DBInstances?.[0];
    if (!d) throw resourceGone(`DB instance ${p.dbInstanceIdentifier}`);
    return d;
  } catch (e) {
    if (isAwsError(e, 'DBInstanceNotFound', 'DBInstanceNotFoundFault'))
      throw resourceGone(`DB instance ${p.dbInstanceIdentifier}`);
    throw e;
  }
}

const modify = (ctx: ActionContext, p: OnDb, change: Record<string, unknown>) =>
  ctx.aws.rds(p.region).send(
    new ModifyDBInstanceCommand({
      DBInstanceIdentifier: p.dbInstanceIdentifier,
      ApplyImmediately: true,
      ...change,
    }),
  );

const dbPerms = (p: OnDb, account: string): PermissionNeed[] => [
  // DescribeDBInstances is authorised on '*' by the sandbox; AWS also accepts the db ARN.
  { phase: 'read', action: 'rds:DescribeDBInstances', resource: '*' },
  { phase: 'apply', action: 'rds:ModifyDBInstance', resource: dbArn(p, account) },
  { phase: 'rollback', action: 'rds:ModifyDBInstance', resource: dbArn(p, account) },
];

export const disablePublicAccess = settingAction({
  id: 'rds.disable_public_access',
  what: (p) => `PubliclyAccessible of ${p.dbInstanceIdentifier}`,
  observe: async (ctx, p): Promise<{ publiclyAccessible: boolean }> => ({
    publiclyAccessible: (await describeDb(ctx, p)).PubliclyAccessible === true,
  }),
  target: () => ({ publiclyAccessible: false }),
  write: async (ctx, p, d) => {
    await modify(ctx, p, { PubliclyAccessible: d.publiclyAccessible });
  },
  permissions: dbPerms,
  rollbackStrategy: (p, pre) =>
    `aws rds modify-db-instance --db-instance-identifier ${p.dbInstanceIdentifier} --${pre.state.publiclyAccessible ? '' : 'no-'}publicly-accessible --apply-immediately --region ${p.region}`,
});

export const enableBackups = settingAction({
  id: 'rds.enable_backups',
  what: (p) => `BackupRetentionPeriod of ${p.dbInstanceIdentifier}`,
  observe: async (ctx, p): Promise<{ backupRetentionPeriod: number }> => ({
    backupRetentionPeriod: (await describeDb(ctx, p)).BackupRetentionPeriod ?? 0,
  }),
  target: () => ({ backupRetentionPeriod: 7 }),
  write: async (ctx, p, d) => {
    await modify(ctx, p, { BackupRetentionPeriod: d.backupRetentionPeriod });
  },
  permissions: dbPerms,
  rollbackStrategy: (p, pre) =>
    `aws rds modify-db-instance --db-instance-identifier ${p.dbInstanceIdentifier} --backup-retention-period ${pre.state.backupRetentionPeriod} --apply-immediately --region ${p.region}`,
});

export const enableDeletionProtection = settingAction({
  id: 'rds.enable_deletion_protection',
  what: (p) => `DeletionProtection of ${p.dbInstanceIdentifier}`,
  observe: async (ctx, p): Promise<{ deletionProtection: boolean }> => ({
    deletionProtection: (await describeDb(ctx, p)).DeletionProtection === true,
  }),
  target: () => ({ deletionProtection: true }),
  write: async (ctx, p, d) => {
    await modify(ctx, p, { DeletionProtection: d.deletionProtection });
  },
  permissions: dbPerms,
  rollbackStrategy: (p, pre) =>
    `aws rds modify-db-instance --db-instance-identifier ${p.dbInstanceIdentifier} --${pre.state.deletionProtection ? '' : 'no-'}deletion-protection --apply-immediately --region ${p.region}`,
});

export const disableDbSnapshotPublic = settingAction({
  id: 'rds.disable_snapshot_public',
  what: (p) => `the restore attribute of ${p.dbSnapshotIdentifier}`,
  async observe(ctx, p): Promise<{ restore: string[] }> {
    try {
      const r = await ctx.aws
        .rds(p.region)
        .send(
          new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: p.dbSnapshotIdentifier }),
        );
      const attr = r.DBSnapshotAttributesResult?.DBSnapshotAttributes?.find(
        (a) => a.AttributeName === 'restore',
      );
      return { restore: [...(attr?.AttributeValues ?? [])].sort() };
    } catch (e) {
      if (isAwsError(e, 'DBSnapshotNotFound', 'DBSnapshotNotFoundFault'))
        throw resourceGone(`DB snapshot ${p.dbSnapshotIdentifier}`);
      throw e;
    }
  },
  target: (pre) => ({ restore: pre.restore.filter((v) => v !== 'all') }),
  async write(ctx, p, d) {
    await ctx.aws.rds(p.region).send(
      new ModifyDBSnapshotAttributeCommand({
        DBSnapshotIdentifier: p.dbSnapshotIdentifier,
        AttributeName: 'restore',
        ...(d.restore.includes('all') ? { ValuesToAdd: ['all'] } : { ValuesToRemove: ['all'] }),
      }),
    );
  },
  permissions: (p, account) => {
    const resource = `arn:aws:rds:${p.region}:${account}:snapshot:${p.dbSnapshotIdentifier}`;
    return [
      { phase: 'read', action: 'rds:DescribeDBSnapshotAttributes', resource },
      { phase: 'apply', action: 'rds:ModifyDBSnapshotAttribute', resource },
      { phase: 'rollback', action: 'rds:ModifyDBSnapshotAttribute', resource },
    ];
  },
  rollbackStrategy: (p) =>
    `aws rds modify-db-snapshot-attribute --db-snapshot-identifier ${p.dbSnapshotIdentifier} --attribute-name restore --values-to-add all --region ${p.region}`,
});
