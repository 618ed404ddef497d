// IAM (awsQuery): roles and their policies, users, access keys, MFA devices, the account
// password policy, the account summary and the credential report. Policy documents come back
// URL-encoded, as AWS returns them.
import * as sdk from '@aws-sdk/client-iam';
import { AwsError } from '../errors.js';
import { op, type Ctx, type AnyOp, type ServiceDef } from '../framework.js';
import { accessKeyId, principalId, secretAccessKey } from '../ids.js';
import { MANAGED_POLICIES } from '../managed-policies.js';
import { evaluate, parsePolicy, PolicyParseError, type PolicyDocument } from '../policy.js';
import type { OperationSchema } from '../protocols/serde.js';
import type { IamRole, IamUser, PasswordPolicy } from '../state.js';
import { date, page, req, setTags } from '../util.js';

const s = (x: unknown): OperationSchema => x as OperationSchema;
const NAME_RE = /^[\w+=,.@-]{1,64}$/;

const noSuchEntity = (what: string): AwsError => new AwsError('NoSuchEntity', what, 404);

function role(ctx: Ctx, name: string): IamRole {
  const r = ctx.account.iam.roles.get(name);
  if (!r) throw noSuchEntity(`The role with name ${name} cannot be found.`);
  return r;
}
function user(ctx: Ctx, name: string | undefined): IamUser {
  const n = name ?? ctx.caller.userName;
  const u = n ? ctx.account.iam.users.get(n) : undefined;
  if (!u) throw noSuchEntity(`The user with name ${n ?? '(caller)'} cannot be found.`);
  return u;
}
function checkPolicy(text: string, trust = false): void {
  try {
    parsePolicy(text, { requirePrincipal: trust });
  } catch (e) {
    throw new AwsError(
      'MalformedPolicyDocument',
      e instanceof PolicyParseError ? e.message : 'Syntax errors in policy.',
    );
  }
  if (text.length > (trust ? 2048 : 10240))
    throw new AwsError('LimitExceeded', 'Cannot exceed quota for PolicySize.', 409);
}

const roleOut = (r: IamRole): sdk.Role => ({
  Path: r.path,
  RoleName: r.name,
  RoleId: r.id,
  Arn: r.arn,
  CreateDate: date(r.createDate),
  AssumeRolePolicyDocument: encodeURIComponent(r.trustPolicy),
  Description: r.description,
  MaxSessionDuration: r.maxSessionDuration,
  Tags: r.tags.length ? r.tags : undefined,
});
const userOut = (u: IamUser): sdk.User => ({
  Path: u.path,
  UserName: u.name,
  UserId: u.id,
  Arn: u.arn,
  CreateDate: date(u.createDate),
  PasswordLastUsed: u.passwordLastUsed !== undefined ? date(u.passwordLastUsed) : undefined,
  Tags: u.tags.length ? u.tags : undefined,
});

function paged<T>(ctx: Ctx, items: T[], marker: string | undefined, maxItems: number | undefined) {
  const max = maxItems ?? 100;
  if (max < 1 || max > 1000)
    throw new AwsError(
      'ValidationError',
      `1 validation error detected: Value '${max}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000`,
    );
  const p = page(
    items,
    marker,
    max,
    `iam:${ctx.operation}`,
    () => new AwsError('ValidationError', 'Invalid Marker.'),
  );
  return { items: p.items, IsTruncated: !!p.next, Marker: p.next };
}

const roleArn = (ctx: Ctx, name: string | undefined): string =>
  `arn:aws:iam::${ctx.account.id}:role/${name ?? '*'}`;
const userArn = (ctx: Ctx, name: string | undefined): string =>
  `arn:aws:iam::${ctx.account.id}:user/${name ?? ctx.caller.userName ?? '*'}`;

const fmt = (ms: number | undefined): string =>
  ms === undefined ? 'N/A' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');

/** The credential report CSV, with the columns AWS documents. */
export function credentialReportCsv(ctx: Ctx): string {
  const { iam } = ctx.account;
  const cols = [
    'user',
    'arn',
    'user_creation_time',
    'password_enabled',
    'password_last_used',
    'password_last_changed',
    'password_next_rotation',
    'mfa_active',
    'access_key_1_active',
    'access_key_1_last_rotated',
    'access_key_1_last_used_date',
    'access_key_1_last_used_region',
    'access_key_1_last_used_service',
    'access_key_2_active',
    'access_key_2_last_rotated',
    'access_key_2_last_used_date',
    'access_key_2_last_used_region',
    'access_key_2_last_used_service',
    'cert_1_active',
    'cert_1_last_rotated',
    'cert_2_active',
    'cert_2_last_rotated',
  ];
  const rows = [cols.join(',')];
  const root = iam.root;
  const rk = (i: number) => root.accessKeys[i];
  rows.push(
    [
      '<root_account>',
      `arn:aws:iam::${ctx.account.id}:root`,
      fmt(root.createDate),
      'not_supported',
      root.passwordLastUsed === undefined ? 'no_information' : fmt(root.passwordLastUsed),
      'not_supported',
      'not_supported',
      String(root.mfaEnabled),
      String(rk(0)?.active ?? false),
      fmt(rk(0)?.lastRotated),
      fmt(rk(0)?.lastUsed),
      rk(0)?.lastUsed ? 'us-east-1' : 'N/A',
      rk(0)?.lastUsed ? 'iam' : 'N/A',
      String(rk(1)?.active ?? false),
      fmt(rk(1)?.lastRotated),
      fmt(rk(1)?.lastUsed),
      rk(1)?.lastUsed ? 'us-east-1' : 'N/A',
      rk(1)?.lastUsed ? 'iam' : 'N/A',
      'false',
      'N/A',
      'false',
      'N/A',
    ].join(','),
  );
  const users = [...iam.users.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const u of users) {
    const k = (i: number) => u.accessKeys[i];
    rows.push(
      [
        u.name,
        u.arn,
        fmt(u.createDate),
        String(u.passwordEnabled),
        u.passwordEnabled
          ? u.passwordLastUsed === undefined
            ? 'no_information'
            : fmt(u.passwordLastUsed)
          : 'N/A',
        u.passwordEnabled ? fmt(u.passwordLastChanged) : 'N/A',
        u.passwordEnabled &&
        iam.passwordPolicy?.MaxPasswordAge &&
        u.passwordLastChanged !== undefined
          ? fmt(u.passwordLastChanged + iam.passwordPolicy.MaxPasswordAge * 86400000)
          : 'N/A',
        String(u.mfaDevices.length > 0),
        String(k(0)?.status === 'Active'),
        fmt(k(0)?.createDate),
        fmt(k(0)?.lastUsed?.date),
        k(0)?.lastUsed?.region ?? 'N/A',
        k(0)?.lastUsed?.service ?? 'N/A',
        String(k(1)?.status === 'Active'),
        fmt(k(1)?.createDate),
        fmt(k(1)?.lastUsed?.date),
        k(1)?.lastUsed?.region ?? 'N/A',
        k(1)?.lastUsed?.service ?? 'N/A',
        'false',
        'N/A',
        'false',
        'N/A',
      ].join(','),
    );
  }
  return rows.join('\n');
}

const ops: Record<string, AnyOp> = {
  CreateRole: op<sdk.CreateRoleRequest, sdk.CreateRoleResponse>({
    schema: s(sdk.CreateRole$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => {
      const name = req<string>(ctx, input, 'RoleName');
      const trust = req<string>(ctx, input, 'AssumeRolePolicyDocument');
      if (!NAME_RE.test(name))
        throw new AwsError('ValidationError', `The specified value for roleName is invalid.`);
      if (ctx.account.iam.roles.has(name))
        throw new AwsError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409);
      checkPolicy(trust, true);
      const max = input.MaxSessionDuration ?? 3600;
      if (max < 3600 || max > 43200)
        throw new AwsError(
          'ValidationError',
          `1 validation error detected: Value '${max}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200`,
        );
      const path = input.Path ?? '/';
      const r: IamRole = {
        name,
        id: principalId('AROA'),
        arn: `arn:aws:iam::${ctx.account.id}:role${path}${name}`,
        path,
        createDate: ctx.now,
        trustPolicy: trust,
        description: input.Description,
        maxSessionDuration: max,
        inline: {},
        attached: [],
        tags: (input.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
      };
      ctx.account.iam.roles.set(name, r);
      return { Role: roleOut(r) };
    },
  }),
  GetRole: op<sdk.GetRoleRequest, sdk.GetRoleResponse>({
    schema: s(sdk.GetRole$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => ({ Role: roleOut(role(ctx, req(ctx, input, 'RoleName'))) }),
  }),
  DeleteRole: op<sdk.DeleteRoleRequest, Record<string, never>>({
    schema: s(sdk.DeleteRole$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => {
      const r = role(ctx, req(ctx, input, 'RoleName'));
      if (Object.keys(r.inline).length || r.attached.length)
        throw new AwsError(
          'DeleteConflict',
          'Cannot delete entity, must remove policies first.',
          409,
        );
      ctx.account.iam.roles.delete(r.name);
      return {};
    },
  }),
  ListRoles: op<sdk.ListRolesRequest, sdk.ListRolesResponse>({
    schema: s(sdk.ListRoles$),
    handler: (ctx, input) => {
      const prefix = input.PathPrefix ?? '/';
      const all = [...ctx.account.iam.roles.values()].filter((r) => r.path.startsWith(prefix));
      const p = paged(ctx, all, input.Marker, input.MaxItems);
      return { Roles: p.items.map(roleOut), IsTruncated: p.IsTruncated, Marker: p.Marker };
    },
  }),
  UpdateAssumeRolePolicy: op<sdk.UpdateAssumeRolePolicyRequest, Record<string, never>>({
    schema: s(sdk.UpdateAssumeRolePolicy$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => {
      const r = role(ctx, req(ctx, input, 'RoleName'));
      const doc = req<string>(ctx, input, 'PolicyDocument');
      checkPolicy(doc, true);
      r.trustPolicy = doc;
      return {};
    },
  }),
  PutRolePolicy: op<sdk.PutRolePolicyRequest, Record<string, never>>({
    schema: s(sdk.PutRolePolicy$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => {
      const r = role(ctx, req(ctx, input, 'RoleName'));
      const name = req<string>(ctx, input, 'PolicyName');
      const doc = req<string>(ctx, input, 'PolicyDocument');
      checkPolicy(doc);
      r.inline[name] = doc;
      return {};
    },
  }),
  GetRolePolicy: op<sdk.GetRolePolicyRequest, sdk.GetRolePolicyResponse>({
    schema: s(sdk.GetRolePolicy$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => {
      const r = role(ctx, req(ctx, input, 'RoleName'));
      const name = req<string>(ctx, input, 'PolicyName');
      const doc = r.inline[name];
      if (doc === undefined)
        throw noSuchEntity(`The role policy with name ${name} cannot be found.`);
      return { RoleName: r.name, PolicyName: name, PolicyDocument: encodeURIComponent(doc) };
    },
  }),
  DeleteRolePolicy: op<sdk.DeleteRolePolicyRequest, Record<string, never>>({
    schema: s(sdk.DeleteRolePolicy$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => {
      const r = role(ctx, req(ctx, input, 'RoleName'));
      const name = req<string>(ctx, input, 'PolicyName');
      if (r.inline[name] === undefined)
        throw noSuchEntity(`The role policy with name ${name} cannot be found.`);
      delete r.inline[name];
      return {};
    },
  }),
  ListRolePolicies: op<sdk.ListRolePoliciesRequest, sdk.ListRolePoliciesResponse>({
    schema: s(sdk.ListRolePolicies$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => {
      const r = role(ctx, req(ctx, input, 'RoleName'));
      const p = paged(ctx, Object.keys(r.inline).sort(), input.Marker, input.MaxItems);
      return { PolicyNames: p.items, IsTruncated: p.IsTruncated, Marker: p.Marker };
    },
  }),
  AttachRolePolicy: op<sdk.AttachRolePolicyRequest, Record<string, never>>({
    schema: s(sdk.AttachRolePolicy$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => {
      const r = role(ctx, req(ctx, input, 'RoleName'));
      const arn = req<string>(ctx, input, 'PolicyArn');
      if (!MANAGED_POLICIES[arn])
        throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
      if (!r.attached.includes(arn)) r.attached.push(arn);
      return {};
    },
  }),
  DetachRolePolicy: op<sdk.DetachRolePolicyRequest, Record<string, never>>({
    schema: s(sdk.DetachRolePolicy$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => {
      const r = role(ctx, req(ctx, input, 'RoleName'));
      const arn = req<string>(ctx, input, 'PolicyArn');
      if (!r.attached.includes(arn)) throw noSuchEntity(`Policy ${arn} was not found.`);
      r.attached = r.attached.filter((a) => a !== arn);
      return {};
    },
  }),
  ListAttachedRolePolicies: op<
    sdk.ListAttachedRolePoliciesRequest,
    sdk.ListAttachedRolePoliciesResponse
  >({
    schema: s(sdk.ListAttachedRolePolicies$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => {
      const r = role(ctx, req(ctx, input, 'RoleName'));
      const p = paged(ctx, r.attached, input.Marker, input.MaxItems);
      return {
        AttachedPolicies: p.items.map((arn) => ({
          PolicyArn: arn,
          PolicyName: MANAGED_POLICIES[arn]?.name ?? arn,
        })),
        IsTruncated: p.IsTruncated,
        Marker: p.Marker,
      };
    },
  }),
  GetPolicy: op<sdk.GetPolicyRequest, sdk.GetPolicyResponse>({
    schema: s(sdk.GetPolicy$),
    handler: (ctx, input) => {
      const arn = req<string>(ctx, input, 'PolicyArn');
      const m = MANAGED_POLICIES[arn];
      if (!m) throw noSuchEntity(`Policy ${arn} was not found.`);
      return {
        Policy: {
          PolicyName: m.name,
          Arn: arn,
          Path: arn.includes('/job-function/') ? '/job-function/' : '/',
          DefaultVersionId: 'v1',
          IsAttachable: true,
          Description: m.description,
        },
      };
    },
  }),
  GetPolicyVersion: op<sdk.GetPolicyVersionRequest, sdk.GetPolicyVersionResponse>({
    schema: s(sdk.GetPolicyVersion$),
    handler: (ctx, input) => {
      const arn = req<string>(ctx, input, 'PolicyArn');
      const m = MANAGED_POLICIES[arn];
      if (!m || req<string>(ctx, input, 'VersionId') !== 'v1')
        throw noSuchEntity(`Policy ${arn} version was not found.`);
      return {
        PolicyVersion: {
          Document: encodeURIComponent(m.document),
          VersionId: 'v1',
          IsDefaultVersion: true,
        },
      };
    },
  }),
  ListUsers: op<sdk.ListUsersRequest, sdk.ListUsersResponse>({
    schema: s(sdk.ListUsers$),
    handler: (ctx, input) => {
      const p = paged(ctx, [...ctx.account.iam.users.values()], input.Marker, input.MaxItems);
      return { Users: p.items.map(userOut), IsTruncated: p.IsTruncated, Marker: p.Marker };
    },
  }),
  GetUser: op<sdk.GetUserRequest, sdk.GetUserResponse>({
    schema: s(sdk.GetUser$),
    resource: (i, ctx) => userArn(ctx, i.UserName),
    handler: (ctx, input) => ({ User: userOut(user(ctx, input.UserName)) }),
  }),
  GetLoginProfile: op<sdk.GetLoginProfileRequest, sdk.GetLoginProfileResponse>({
    schema: s(sdk.GetLoginProfile$),
    resource: (i, ctx) => userArn(ctx, i.UserName),
    handler: (ctx, input) => {
      const u = user(ctx, input.UserName);
      if (!u.passwordEnabled)
        throw noSuchEntity(`Login Profile for User ${u.name} cannot be found.`);
      return {
        LoginProfile: {
          UserName: u.name,
          CreateDate: date(u.passwordLastChanged ?? u.createDate),
          PasswordResetRequired: false,
        },
      };
    },
  }),
  ListUserPolicies: op<sdk.ListUserPoliciesRequest, sdk.ListUserPoliciesResponse>({
    schema: s(sdk.ListUserPolicies$),
    resource: (i, ctx) => userArn(ctx, i.UserName),
    handler: (ctx, input) => {
      const u = user(ctx, req(ctx, input, 'UserName'));
      return { PolicyNames: Object.keys(u.inline).sort(), IsTruncated: false };
    },
  }),
  ListAttachedUserPolicies: op<
    sdk.ListAttachedUserPoliciesRequest,
    sdk.ListAttachedUserPoliciesResponse
  >({
    schema: s(sdk.ListAttachedUserPolicies$),
    resource: (i, ctx) => userArn(ctx, i.UserName),
    handler: (ctx, input) => {
      const u = user(ctx, req(ctx, input, 'UserName'));
      return {
        AttachedPolicies: u.attached.map((arn) => ({
          PolicyArn: arn,
          PolicyName: MANAGED_POLICIES[arn]?.name ?? arn,
        })),
        IsTruncated: false,
      };
    },
  }),
  ListAccessKeys: op<sdk.ListAccessKeysRequest, sdk.ListAccessKeysResponse>({
    schema: s(sdk.ListAccessKeys$),
    resource: (i, ctx) => userArn(ctx, i.UserName),
    handler: (ctx, input) => {
      const u = user(ctx, input.UserName);
      return {
        AccessKeyMetadata: u.accessKeys.map((k) => ({
          UserName: u.name,
          AccessKeyId: k.id,
          Status: k.status,
          CreateDate: date(k.createDate),
        })),
        IsTruncated: false,
      };
    },
  }),
  CreateAccessKey: op<sdk.CreateAccessKeyRequest, sdk.CreateAccessKeyResponse>({
    schema: s(sdk.CreateAccessKey$),
    resource: (i, ctx) => userArn(ctx, i.UserName),
    handler: (ctx, input) => {
      const u = user(ctx, input.UserName);
      if (u.accessKeys.length >= 2)
        throw new AwsError('LimitExceeded', 'Cannot exceed quota for AccessKeysPerUser: 2', 409);
      const k = {
        id: accessKeyId('long'),
        secret: secretAccessKey(),
        status: 'Active' as const,
        createDate: ctx.now,
      };
      u.accessKeys.push(k);
      ctx.engine.credentials.set(k.id, {
        accessKeyId: k.id,
        secret: k.secret,
        accountId: ctx.account.id,
        userName: u.name,
      });
      return {
        AccessKey: {
          UserName: u.name,
          AccessKeyId: k.id,
          Status: 'Active',
          SecretAccessKey: k.secret,
          CreateDate: date(k.createDate),
        },
      };
    },
  }),
  UpdateAccessKey: op<sdk.UpdateAccessKeyRequest, Record<string, never>>({
    schema: s(sdk.UpdateAccessKey$),
    resource: (i, ctx) => userArn(ctx, i.UserName),
    handler: (ctx, input) => {
      const u = user(ctx, input.UserName);
      const id = req<string>(ctx, input, 'AccessKeyId');
      const status = req<string>(ctx, input, 'Status');
      if (status !== 'Active' && status !== 'Inactive')
        throw new AwsError(
          'ValidationError',
          `1 validation error detected: Value '${status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`,
        );
      const k = u.accessKeys.find((x) => x.id === id);
      if (!k) throw noSuchEntity(`The Access Key with id ${id} cannot be found.`);
      k.status = status;
      return {};
    },
  }),
  DeleteAccessKey: op<sdk.DeleteAccessKeyRequest, Record<string, never>>({
    schema: s(sdk.DeleteAccessKey$),
    resource: (i, ctx) => userArn(ctx, i.UserName),
    handler: (ctx, input) => {
      const u = user(ctx, input.UserName);
      const id = req<string>(ctx, input, 'AccessKeyId');
      const i = u.accessKeys.findIndex((x) => x.id === id);
      if (i < 0) throw noSuchEntity(`The Access Key with id ${id} cannot be found.`);
      u.accessKeys.splice(i, 1);
      ctx.engine.credentials.delete(id);
      return {};
    },
  }),
  GetAccessKeyLastUsed: op<sdk.GetAccessKeyLastUsedRequest, sdk.GetAccessKeyLastUsedResponse>({
    schema: s(sdk.GetAccessKeyLastUsed$),
    handler: (ctx, input) => {
      const id = req<string>(ctx, input, 'AccessKeyId');
      for (const u of ctx.account.iam.users.values()) {
        const k = u.accessKeys.find((x) => x.id === id);
        if (!k) continue;
        return {
          UserName: u.name,
          AccessKeyLastUsed: k.lastUsed
            ? {
                LastUsedDate: date(k.lastUsed.date),
                ServiceName: k.lastUsed.service,
                Region: k.lastUsed.region,
              }
            : { ServiceName: 'N/A', Region: 'N/A' },
        };
      }
      throw new AwsError(
        'AccessDenied',
        `User: ${ctx.caller.arn} is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key ${id}`,
        403,
      );
    },
  }),
  ListMFADevices: op<sdk.ListMFADevicesRequest, sdk.ListMFADevicesResponse>({
    schema: s(sdk.ListMFADevices$),
    resource: (i, ctx) => userArn(ctx, i.UserName),
    handler: (ctx, input) => {
      const u = user(ctx, input.UserName);
      return {
        MFADevices: u.mfaDevices.map((d) => ({
          UserName: u.name,
          SerialNumber: d.serial,
          EnableDate: date(d.enableDate),
        })),
        IsTruncated: false,
      };
    },
  }),
  GetAccountPasswordPolicy: op<Record<string, never>, sdk.GetAccountPasswordPolicyResponse>({
    schema: s(sdk.GetAccountPasswordPolicy$),
    handler: (ctx) => {
      const p = ctx.account.iam.passwordPolicy;
      if (!p)
        throw noSuchEntity(
          `The Password Policy with domain name ${ctx.account.id} cannot be found.`,
        );
      return { PasswordPolicy: { ...p, ExpirePasswords: p.ExpirePasswords } };
    },
  }),
  UpdateAccountPasswordPolicy: op<sdk.UpdateAccountPasswordPolicyRequest, Record<string, never>>({
    schema: s(sdk.UpdateAccountPasswordPolicy$),
    handler: (ctx, input) => {
      const min = input.MinimumPasswordLength ?? 8;
      if (min < 6 || min > 128)
        throw new AwsError(
          'ValidationError',
          `1 validation error detected: Value '${min}' at 'minimumPasswordLength' failed to satisfy constraint: Member must have value greater than or equal to 6`,
        );
      const p: PasswordPolicy = {
        MinimumPasswordLength: min,
        RequireSymbols: input.RequireSymbols ?? false,
        RequireNumbers: input.RequireNumbers ?? false,
        RequireUppercaseCharacters: input.RequireUppercaseCharacters ?? false,
        RequireLowercaseCharacters: input.RequireLowercaseCharacters ?? false,
        AllowUsersToChangePassword: input.AllowUsersToChangePassword ?? false,
        ExpirePasswords: (input.MaxPasswordAge ?? 0) > 0,
      };
      if (input.MaxPasswordAge) p.MaxPasswordAge = input.MaxPasswordAge;
      if (input.PasswordReusePrevention) p.PasswordReusePrevention = input.PasswordReusePrevention;
      if (input.HardExpiry !== undefined) p.HardExpiry = input.HardExpiry;
      ctx.account.iam.passwordPolicy = p;
      return {};
    },
  }),
  DeleteAccountPasswordPolicy: op<Record<string, never>, Record<string, never>>({
    schema: s(sdk.DeleteAccountPasswordPolicy$),
    handler: (ctx) => {
      if (!ctx.account.iam.passwordPolicy)
        throw noSuchEntity(`The account policy with name PasswordPolicy cannot be found.`);
      delete ctx.account.iam.passwordPolicy;
      return {};
    },
  }),
  GetAccountSummary: op<Record<string, never>, sdk.GetAccountSummaryResponse>({
    schema: s(sdk.GetAccountSummary$),
    handler: (ctx) => {
      const { iam } = ctx.account;
      const users = [...iam.users.values()];
      return {
        SummaryMap: {
          AccountMFAEnabled: iam.root.mfaEnabled ? 1 : 0,
          AccountAccessKeysPresent: iam.root.accessKeys.some((k) => k.active) ? 1 : 0,
          AccountSigningCertificatesPresent: 0,
          Users: users.length,
          UsersQuota: 5000,
          Roles: iam.roles.size,
          RolesQuota: 1000,
          Groups: 0,
          Policies: 0,
          MFADevices: users.reduce((n, u) => n + u.mfaDevices.length, 0),
          MFADevicesInUse: users.reduce((n, u) => n + u.mfaDevices.length, 0),
          AccessKeysPerUserQuota: 2,
          AttachedPoliciesPerRoleQuota: 10,
          AttachedPoliciesPerUserQuota: 10,
          PolicySizeQuota: 6144,
          ServerCertificates: 0,
        },
      };
    },
  }),
  GenerateCredentialReport: op<Record<string, never>, sdk.GenerateCredentialReportResponse>({
    schema: s(sdk.GenerateCredentialReport$),
    handler: (ctx) => {
      const before = ctx.account.iam.credentialReportAt;
      const fresh = before !== undefined && ctx.now - before < 4 * 3600 * 1000;
      if (!fresh) ctx.account.iam.credentialReportAt = ctx.now;
      return fresh
        ? { State: 'COMPLETE' }
        : {
            State: 'STARTED',
            Description: 'No report exists. Starting a new report generation task',
          };
    },
  }),
  GetCredentialReport: op<Record<string, never>, sdk.GetCredentialReportResponse>({
    schema: s(sdk.GetCredentialReport$),
    handler: (ctx) => {
      const at = ctx.account.iam.credentialReportAt;
      if (at === undefined)
        throw new AwsError(
          'ReportNotPresent',
          'Credential report does not exist. Use GenerateCredentialReport to generate a credential report.',
          410,
        );
      if (ctx.now - at > 4 * 3600 * 1000)
        throw new AwsError(
          'ReportExpired',
          'Credential report is expired. Use GenerateCredentialReport to generate a new credential report.',
          410,
        );
      return {
        Content: Buffer.from(credentialReportCsv(ctx)) as unknown as Uint8Array,
        ReportFormat: 'text/csv',
        GeneratedTime: date(at),
      };
    },
  }),
  ListAccountAliases: op<sdk.ListAccountAliasesRequest, sdk.ListAccountAliasesResponse>({
    schema: s(sdk.ListAccountAliases$),
    handler: (ctx) => ({ AccountAliases: [ctx.account.name], IsTruncated: false }),
  }),
  SimulatePrincipalPolicy: op<sdk.SimulatePrincipalPolicyRequest, sdk.SimulatePolicyResponse>({
    schema: s(sdk.SimulatePrincipalPolicy$),
    resource: (i) => i.PolicySourceArn ?? '*',
    handler: (ctx, input) => {
      // The principal's identity policies (plus PolicyInputList), intersected with the
      // permissions boundary given in PermissionsBoundaryPolicyInputList — which is how a session
      // policy's effect is simulated. Resource policies and SCPs are not part of it.
      const source = req<string>(ctx, input, 'PolicySourceArn');
      const actions = req<string[]>(ctx, input, 'ActionNames');
      const m = /^arn:aws:iam::(\d{12}):(role|user)\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(source);
      if (!m) throw new AwsError('InvalidInput', `Invalid ARN: ${source}`);
      if (m[1] !== ctx.account.id) throw noSuchEntity(`The entity ${source} cannot be found.`);
      const entity =
        m[2] === 'role' ? ctx.account.iam.roles.get(m[3]!) : ctx.account.iam.users.get(m[3]!);
      if (!entity || entity.arn !== source)
        throw noSuchEntity(`The ${m[2]} with name ${m[3]} cannot be found.`);
      const parse = (texts: string[] | undefined): PolicyDocument[] =>
        (texts ?? []).map((t) => {
          try {
            return parsePolicy(t);
          } catch (e) {
            throw new AwsError(
              'MalformedPolicyDocument',
              e instanceof PolicyParseError ? e.message : 'Syntax errors in policy.',
            );
          }
        });
      const identity = [
        ...ctx.engine.documents(entity.inline, entity.attached),
        ...parse(input.PolicyInputList),
      ];
      const boundary = parse(input.PermissionsBoundaryPolicyInputList);
      const resources = input.ResourceArns?.length ? input.ResourceArns : ['*'];
      const results: sdk.EvaluationResult[] = [];
      for (const action of actions)
        for (const resource of resources) {
          const request = {
            action,
            resource,
            context: { 'aws:PrincipalAccount': ctx.account.id, 'aws:PrincipalArn': source },
          };
          let decision = evaluate(identity, request);
          if (decision === 'allow' && boundary.length) {
            const b = evaluate(boundary, request);
            if (b !== 'allow') decision = b;
          }
          results.push({
            EvalActionName: action,
            EvalResourceName: resource,
            EvalDecision:
              decision === 'allow'
                ? 'allowed'
                : decision === 'explicit-deny'
                  ? 'explicitDeny'
                  : 'implicitDeny',
            MatchedStatements: [],
            MissingContextValues: [],
          });
        }
      return { EvaluationResults: results, IsTruncated: false };
    },
  }),
  TagRole: op<sdk.TagRoleRequest, Record<string, never>>({
    schema: s(sdk.TagRole$),
    resource: (i, ctx) => roleArn(ctx, i.RoleName),
    handler: (ctx, input) => {
      setTags(role(ctx, req(ctx, input, 'RoleName')).tags, input.Tags ?? []);
      return {};
    },
  }),
};

export const iamService: ServiceDef = {
  signingName: 'iam',
  name: 'iam',
  protocol: 'query',
  actionPrefix: 'iam',
  xmlns: 'https://iam.amazonaws.com/doc/2010-05-08/',
  ops,
};
