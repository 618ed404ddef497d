import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ec2 from '@aws-sdk/client-ec2';
import type { Sandbox } from '../../src/sandbox/index.js';
import { cfg, expectAwsError, sandbox } from './helpers.js';

let sb: Sandbox;
let client: ec2.EC2Client;
let acct: string;

beforeAll(async () => {
  sb = await sandbox();
  acct = sb.accounts[0]!.accountId;
  client = new ec2.EC2Client(cfg(sb, sb.accounts[0]!.adminCredentials));
});
afterAll(() => sb.stop());

const allInstances = async (filters?: ec2.Filter[]) => {
  const out: ec2.Instance[] = [];
  let token: string | undefined;
  do {
    const r = await client.send(
      new ec2.DescribeInstancesCommand({ MaxResults: 50, NextToken: token, Filters: filters }),
    );
    for (const res of r.Reservations ?? []) out.push(...(res.Instances ?? []));
    token = r.NextToken;
  } while (token);
  return out;
};

describe('EC2 reads', () => {
  it('DescribeRegions lists the enabled regions, AllRegions lists all', async () => {
    const r = await client.send(new ec2.DescribeRegionsCommand({}));
    expect(r.Regions!.map((x) => x.RegionName).sort()).toEqual(['eu-west-1', 'us-east-1']);
    const all = await client.send(new ec2.DescribeRegionsCommand({ AllRegions: true }));
    expect(all.Regions!.length).toBeGreaterThan(10);
    expect(all.Regions!.find((x) => x.RegionName === 'ap-south-1')!.OptInStatus).toBe(
      'not-opted-in',
    );
  });

  it('DescribeInstances returns full instances with volumes, groups, ENIs and metadata options', async () => {
    const list = await allInstances();
    expect(list.length).toBeGreaterThan(10);
    const i = list.find((x) => x.State!.Name === 'running')!;
    expect(i.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(i.State!.Code).toBe(16);
    expect(i.LaunchTime).toBeInstanceOf(Date);
    expect(i.MetadataOptions!.HttpTokens).toMatch(/required|optional/);
    expect(i.BlockDeviceMappings![0]!.Ebs!.VolumeId).toMatch(/^vol-/);
    expect(i.SecurityGroups![0]!.GroupId).toMatch(/^sg-/);
    expect(i.NetworkInterfaces![0]!.NetworkInterfaceId).toBe(
      i.NetworkInterfaces![0]!.NetworkInterfaceId,
    );
    expect(i.Tags!.map((t) => t.Key)).toContain('Name');
    const stopped = list.filter((x) => x.State!.Name === 'stopped');
    expect(stopped.length).toBeGreaterThan(0);
    expect(stopped[0]!.StateTransitionReason).toMatch(
      /^User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)$/,
    );
    const filtered = await allInstances([{ Name: 'instance-state-name', Values: ['stopped'] }]);
    expect(filtered.map((x) => x.InstanceId).sort()).toEqual(
      stopped.map((x) => x.InstanceId).sort(),
    );
    const byTag = await allInstances([
      { Name: 'tag:Name', Values: [i.Tags!.find((t) => t.Key === 'Name')!.Value!] },
    ]);
    expect(byTag.map((x) => x.InstanceId)).toEqual([i.InstanceId]);
    const byId = await client.send(
      new ec2.DescribeInstancesCommand({ InstanceIds: [i.InstanceId!] }),
    );
    expect(byId.Reservations![0]!.Instances![0]!.InstanceId).toBe(i.InstanceId);
    await expectAwsError(
      client.send(new ec2.DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
      'InvalidInstanceID.NotFound',
      400,
    );
    await expectAwsError(
      client.send(new ec2.DescribeInstancesCommand({ MaxResults: 3 })),
      'InvalidParameterValue',
      400,
    );
    await expectAwsError(
      client.send(
        new ec2.DescribeInstancesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] }),
      ),
      'InvalidParameterValue',
      400,
    );
  });

  it('volumes, modifications, snapshots and their attribute', async () => {
    const vols: ec2.Volume[] = [];
    for (const region of ['us-east-1', 'eu-west-1'])
      vols.push(
        ...(
          await new ec2.EC2Client(cfg(sb, sb.accounts[0]!.adminCredentials, region)).send(
            new ec2.DescribeVolumesCommand({}),
          )
        ).Volumes!,
      );
    expect(vols.some((v) => v.State === 'available' && v.Attachments!.length === 0)).toBe(true);
    expect(vols.some((v) => v.VolumeType === 'gp2')).toBe(true);
    expect(vols.some((v) => v.Encrypted === false)).toBe(true);
    const unattached = await client.send(
      new ec2.DescribeVolumesCommand({ Filters: [{ Name: 'status', Values: ['available'] }] }),
    );
    expect(unattached.Volumes!.every((v) => v.State === 'available')).toBe(true);
    const mods = await client.send(new ec2.DescribeVolumesModificationsCommand({}));
    expect(mods.VolumesModifications).toEqual([]);
    const snaps = (await client.send(new ec2.DescribeSnapshotsCommand({ OwnerIds: ['self'] })))
      .Snapshots!;
    expect(snaps.length).toBeGreaterThan(2);
    expect(snaps[0]!.OwnerId).toBe(acct);
    const attrs = await Promise.all(
      snaps.map((s) =>
        client.send(
          new ec2.DescribeSnapshotAttributeCommand({
            SnapshotId: s.SnapshotId!,
            Attribute: 'createVolumePermission',
          }),
        ),
      ),
    );
    expect(attrs.some((a) => a.CreateVolumePermissions!.some((p) => p.Group === 'all'))).toBe(true);
    expect(
      (await client.send(new ec2.DescribeSnapshotsCommand({ OwnerIds: ['amazon'] }))).Snapshots,
    ).toEqual([]);
  });

  it('security groups, rules with ids, ENIs by group, addresses, images, EBS default encryption', async () => {
    const groups = (await client.send(new ec2.DescribeSecurityGroupsCommand({}))).SecurityGroups!;
    expect(groups.some((g) => g.GroupName === 'default')).toBe(true);
    const open = groups.find((g) =>
      g.IpPermissions!.some(
        (p) => p.FromPort === 22 && p.IpRanges!.some((r) => r.CidrIp === '0.0.0.0/0'),
      ),
    );
    expect(open).toBeTruthy();
    const rules = (
      await client.send(
        new ec2.DescribeSecurityGroupRulesCommand({
          Filters: [{ Name: 'group-id', Values: [open!.GroupId!] }],
        }),
      )
    ).SecurityGroupRules!;
    expect(rules.find((r) => r.FromPort === 22 && !r.IsEgress)!.SecurityGroupRuleId).toMatch(
      /^sgr-/,
    );
    const app = groups.find((g) => g.GroupName!.startsWith('app-'))!;
    const enis = (
      await client.send(
        new ec2.DescribeNetworkInterfacesCommand({
          Filters: [{ Name: 'group-id', Values: [app.GroupId!] }],
        }),
      )
    ).NetworkInterfaces!;
    expect(enis.length).toBeGreaterThan(0);
    expect(enis.every((n) => n.Groups!.some((g) => g.GroupId === app.GroupId))).toBe(true);
    const addrs = (await client.send(new ec2.DescribeAddressesCommand({}))).Addresses!;
    expect(addrs.some((a) => !a.AssociationId)).toBe(true);
    expect(addrs.some((a) => a.AssociationId && a.InstanceId)).toBe(true);
    const perms: ec2.DescribeImageAttributeCommandOutput[] = [];
    for (const region of ['us-east-1', 'eu-west-1']) {
      const c = new ec2.EC2Client(cfg(sb, sb.accounts[0]!.adminCredentials, region));
      const images = (await c.send(new ec2.DescribeImagesCommand({ Owners: ['self'] }))).Images!;
      expect(images.length).toBeGreaterThan(0);
      for (const i of images)
        perms.push(
          await c.send(
            new ec2.DescribeImageAttributeCommand({
              ImageId: i.ImageId!,
              Attribute: 'launchPermission',
            }),
          ),
        );
    }
    expect(perms.some((p) => p.LaunchPermissions!.some((l) => l.Group === 'all'))).toBe(true);
    const enc = await client.send(new ec2.GetEbsEncryptionByDefaultCommand({}));
    expect(enc.EbsEncryptionByDefault).toBe(true);
    const encEu = await new ec2.EC2Client(
      cfg(sb, sb.accounts[0]!.adminCredentials, 'eu-west-1'),
    ).send(new ec2.GetEbsEncryptionByDefaultCommand({}));
    expect(encEu.EbsEncryptionByDefault).toBe(false);
  });
});

describe('EC2 writes', () => {
  it('stop, modify type (only when stopped), start; metadata options; DryRun', async () => {
    const i = (await allInstances([{ Name: 'instance-state-name', Values: ['running'] }]))[0]!;
    const id = i.InstanceId!;
    await expectAwsError(
      client.send(
        new ec2.ModifyInstanceAttributeCommand({
          InstanceId: id,
          InstanceType: { Value: 't3.nano' },
        }),
      ),
      'IncorrectInstanceState',
      400,
    );
    await expectAwsError(
      client.send(new ec2.StopInstancesCommand({ InstanceIds: [id], DryRun: true })),
      'DryRunOperation',
      412,
    );
    const stop = await client.send(new ec2.StopInstancesCommand({ InstanceIds: [id] }));
    expect(stop.StoppingInstances![0]!.PreviousState!.Name).toBe('running');
    await client.send(
      new ec2.ModifyInstanceAttributeCommand({
        InstanceId: id,
        InstanceType: { Value: 't3.nano' },
      }),
    );
    const start = await client.send(new ec2.StartInstancesCommand({ InstanceIds: [id] }));
    expect(start.StartingInstances![0]!.PreviousState!.Name).toBe('stopped');
    const after = (await client.send(new ec2.DescribeInstancesCommand({ InstanceIds: [id] })))
      .Reservations![0]!.Instances![0]!;
    expect(after.InstanceType).toBe('t3.nano');
    expect(after.State!.Name).toBe('running');
    const md = await client.send(
      new ec2.ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'optional' }),
    );
    expect(md.InstanceMetadataOptions!.HttpTokens).toBe('optional');
    const again = (await client.send(new ec2.DescribeInstancesCommand({ InstanceIds: [id] })))
      .Reservations![0]!.Instances![0]!;
    expect(again.MetadataOptions!.HttpTokens).toBe('optional');
  });

  it('DryRun without permission answers UnauthorizedOperation', async () => {
    sb.control.createScanRole(acct, { externalId: 'dry-run-ext', roleName: 'ReadOnlyScan' });
    const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
    const out = await new STSClient(cfg(sb, sb.platform.credentials)).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${acct}:role/ReadOnlyScan`,
        RoleSessionName: 'dry',
        ExternalId: 'dry-run-ext',
      }),
    );
    const c = out.Credentials!;
    const ro = new ec2.EC2Client(
      cfg(sb, {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken!,
      }),
    );
    const i = (await allInstances())[0]!;
    await expectAwsError(
      ro.send(new ec2.StopInstancesCommand({ InstanceIds: [i.InstanceId!], DryRun: true })),
      'UnauthorizedOperation',
      403,
    );
    await expectAwsError(
      ro.send(new ec2.DescribeVolumesCommand({ DryRun: true })),
      'DryRunOperation',
      412,
    );
  });

  it('snapshot pending → completed, volume from snapshot, delete, modify with the 6-hour cooldown', async () => {
    const slow = await sandbox({
      delays: { snapshotMs: 60_000, instanceTransitionMs: 0, volumeModificationMs: 1000 },
    });
    try {
      const c = new ec2.EC2Client(cfg(slow, slow.accounts[0]!.adminCredentials));
      const vol = (
        await c.send(
          new ec2.DescribeVolumesCommand({ Filters: [{ Name: 'status', Values: ['available'] }] }),
        )
      ).Volumes![0]!;
      const snap = await c.send(
        new ec2.CreateSnapshotCommand({
          VolumeId: vol.VolumeId!,
          Description: 'pre-flight',
          TagSpecifications: [
            { ResourceType: 'snapshot', Tags: [{ Key: 'axiom:plan', Value: 'p1' }] },
          ],
        }),
      );
      expect(snap.State).toBe('pending');
      await expectAwsError(
        c.send(
          new ec2.CreateVolumeCommand({
            SnapshotId: snap.SnapshotId!,
            AvailabilityZone: vol.AvailabilityZone!,
          }),
        ),
        'IncorrectState',
      );
      slow.control.advanceTime(60_001);
      const done = (
        await c.send(new ec2.DescribeSnapshotsCommand({ SnapshotIds: [snap.SnapshotId!] }))
      ).Snapshots![0]!;
      expect(done.State).toBe('completed');
      expect(done.Tags).toEqual([{ Key: 'axiom:plan', Value: 'p1' }]);
      await c.send(new ec2.DeleteVolumeCommand({ VolumeId: vol.VolumeId! }));
      await expectAwsError(
        c.send(new ec2.DescribeVolumesCommand({ VolumeIds: [vol.VolumeId!] })),
        'InvalidVolume.NotFound',
      );
      const restored = await c.send(
        new ec2.CreateVolumeCommand({
          SnapshotId: snap.SnapshotId!,
          AvailabilityZone: vol.AvailabilityZone!,
          VolumeType: vol.VolumeType,
        }),
      );
      expect(restored.VolumeId).not.toBe(vol.VolumeId);
      expect(restored.Size).toBe(vol.Size);
      const mod = await c.send(
        new ec2.ModifyVolumeCommand({ VolumeId: restored.VolumeId!, VolumeType: 'gp3' }),
      );
      expect(mod.VolumeModification!.TargetVolumeType).toBe('gp3');
      slow.control.advanceTime(2000);
      const m = await c.send(
        new ec2.DescribeVolumesModificationsCommand({ VolumeIds: [restored.VolumeId!] }),
      );
      expect(m.VolumesModifications![0]!.ModificationState).toBe('completed');
      const e = await expectAwsError(
        c.send(new ec2.ModifyVolumeCommand({ VolumeId: restored.VolumeId!, VolumeType: 'gp2' })),
        'IncorrectModificationState',
        400,
      );
      expect(e.message).toMatch(/6 hours/);
      slow.control.advanceTime(6 * 3600 * 1000);
      await c.send(
        new ec2.ModifyVolumeCommand({ VolumeId: restored.VolumeId!, VolumeType: 'gp2' }),
      );
      const attached = (
        await c.send(
          new ec2.DescribeVolumesCommand({ Filters: [{ Name: 'status', Values: ['in-use'] }] }),
        )
      ).Volumes![0]!;
      await expectAwsError(
        c.send(new ec2.DeleteVolumeCommand({ VolumeId: attached.VolumeId! })),
        'VolumeInUse',
      );
    } finally {
      await slow.stop();
    }
  });

  it('revoke by rule id, re-authorize (new id), duplicate refused', async () => {
    const rules = (await client.send(new ec2.DescribeSecurityGroupRulesCommand({})))
      .SecurityGroupRules!;
    const ssh = rules.find(
      (r) =>
        !r.IsEgress && r.FromPort === 22 && r.CidrIpv4 === '0.0.0.0/0' && r.IpProtocol === 'tcp',
    )!;
    const rev = await client.send(
      new ec2.RevokeSecurityGroupIngressCommand({
        GroupId: ssh.GroupId!,
        SecurityGroupRuleIds: [ssh.SecurityGroupRuleId!],
      }),
    );
    expect(rev.Return).toBe(true);
    expect(rev.RevokedSecurityGroupRules![0]!.SecurityGroupRuleId).toBe(ssh.SecurityGroupRuleId);
    await expectAwsError(
      client.send(
        new ec2.RevokeSecurityGroupIngressCommand({
          GroupId: ssh.GroupId!,
          SecurityGroupRuleIds: [ssh.SecurityGroupRuleId!],
        }),
      ),
      'InvalidSecurityGroupRuleId.NotFound',
    );
    const perm = {
      IpProtocol: 'tcp',
      FromPort: 22,
      ToPort: 22,
      IpRanges: [{ CidrIp: '0.0.0.0/0', Description: ssh.Description }],
    };
    const auth = await client.send(
      new ec2.AuthorizeSecurityGroupIngressCommand({
        GroupId: ssh.GroupId!,
        IpPermissions: [perm],
      }),
    );
    expect(auth.SecurityGroupRules![0]!.SecurityGroupRuleId).toMatch(/^sgr-/);
    expect(auth.SecurityGroupRules![0]!.SecurityGroupRuleId).not.toBe(ssh.SecurityGroupRuleId);
    await expectAwsError(
      client.send(
        new ec2.AuthorizeSecurityGroupIngressCommand({
          GroupId: ssh.GroupId!,
          IpPermissions: [perm],
        }),
      ),
      'InvalidPermission.Duplicate',
    );
  });

  it('release address, tags, EBS default encryption, snapshot and image attributes', async () => {
    const addr = (await client.send(new ec2.DescribeAddressesCommand({}))).Addresses!;
    const free = addr.find((a) => !a.AssociationId)!;
    const used = addr.find((a) => a.AssociationId)!;
    await expectAwsError(
      client.send(new ec2.ReleaseAddressCommand({ AllocationId: used.AllocationId! })),
      'InvalidIPAddress.InUse',
    );
    await client.send(new ec2.ReleaseAddressCommand({ AllocationId: free.AllocationId! }));
    await expectAwsError(
      client.send(new ec2.DescribeAddressesCommand({ AllocationIds: [free.AllocationId!] })),
      'InvalidAllocationID.NotFound',
    );
    const vol = (await client.send(new ec2.DescribeVolumesCommand({ MaxResults: 5 }))).Volumes![0]!;
    await client.send(
      new ec2.CreateTagsCommand({
        Resources: [vol.VolumeId!],
        Tags: [{ Key: 'axiom:grace', Value: '2026-12-01' }],
      }),
    );
    let v = (await client.send(new ec2.DescribeVolumesCommand({ VolumeIds: [vol.VolumeId!] })))
      .Volumes![0]!;
    expect(v.Tags).toContainEqual({ Key: 'axiom:grace', Value: '2026-12-01' });
    await client.send(
      new ec2.DeleteTagsCommand({ Resources: [vol.VolumeId!], Tags: [{ Key: 'axiom:grace' }] }),
    );
    v = (await client.send(new ec2.DescribeVolumesCommand({ VolumeIds: [vol.VolumeId!] })))
      .Volumes![0]!;
    expect(v.Tags!.some((t) => t.Key === 'axiom:grace')).toBe(false);
    const eu = new ec2.EC2Client(cfg(sb, sb.accounts[0]!.adminCredentials, 'eu-west-1'));
    expect(
      (await eu.send(new ec2.EnableEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault,
    ).toBe(true);
    expect(
      (await eu.send(new ec2.GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault,
    ).toBe(true);
    expect(
      (await eu.send(new ec2.DisableEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault,
    ).toBe(false);
    for (const c of [client, eu]) {
      const snaps = (await c.send(new ec2.DescribeSnapshotsCommand({ OwnerIds: ['self'] })))
        .Snapshots!;
      for (const s of snaps) {
        const a = await c.send(
          new ec2.DescribeSnapshotAttributeCommand({
            SnapshotId: s.SnapshotId!,
            Attribute: 'createVolumePermission',
          }),
        );
        if (!a.CreateVolumePermissions!.some((p) => p.Group === 'all')) continue;
        await c.send(
          new ec2.ModifySnapshotAttributeCommand({
            SnapshotId: s.SnapshotId!,
            Attribute: 'createVolumePermission',
            CreateVolumePermission: { Remove: [{ Group: 'all' }] },
          }),
        );
        const b = await c.send(
          new ec2.DescribeSnapshotAttributeCommand({
            SnapshotId: s.SnapshotId!,
            Attribute: 'createVolumePermission',
          }),
        );
        expect(b.CreateVolumePermissions).toEqual([]);
      }
      for (const img of (await c.send(new ec2.DescribeImagesCommand({ Owners: ['self'] })))
        .Images!) {
        if (!img.Public) continue;
        await c.send(
          new ec2.ModifyImageAttributeCommand({
            ImageId: img.ImageId!,
            LaunchPermission: { Remove: [{ Group: 'all' }] },
          }),
        );
        const after = (await c.send(new ec2.DescribeImagesCommand({ ImageIds: [img.ImageId!] })))
          .Images![0]!;
        expect(after.Public).toBe(false);
      }
    }
  });
});

describe('EC2 pagination at scale', () => {
  it('3,000+ instances paged with MaxResults 100 yield every id exactly once', async () => {
    const big = await sandbox({
      accounts: [{ seed: 'big', size: 15_000, regions: ['us-east-1'] }],
    });
    try {
      const c = new ec2.EC2Client(cfg(big, big.accounts[0]!.adminCredentials));
      const ids: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const r = await c.send(
          new ec2.DescribeInstancesCommand({ MaxResults: 100, NextToken: token }),
        );
        for (const res of r.Reservations!) for (const i of res.Instances!) ids.push(i.InstanceId!);
        token = r.NextToken;
        pages++;
      } while (token);
      expect(ids.length).toBeGreaterThanOrEqual(3000);
      expect(new Set(ids).size).toBe(ids.length);
      expect(pages).toBe(Math.ceil(ids.length / 100));
      const paginated: string[] = [];
      for await (const p of ec2.paginateDescribeVolumes({ client: c, pageSize: 500 }, {}))
        for (const v of p.Volumes!) paginated.push(v.VolumeId!);
      expect(new Set(paginated).size).toBe(paginated.length);
      expect(paginated.length).toBeGreaterThan(3000);
      await expectAwsError(
        c.send(new ec2.DescribeInstancesCommand({ MaxResults: 100, NextToken: 'bm90LWEtdG9rZW4' })),
        'InvalidParameterValue',
      );
    } finally {
      await big.stop();
    }
  });
});
