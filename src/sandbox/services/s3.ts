// S3 (REST-XML, path-style) and S3 Control (account-level Block Public Access).
import crypto from 'node:crypto';
import * as sdk from '@aws-sdk/client-s3';
import * as ctl from '@aws-sdk/client-s3-control';
import { AwsError } from '../errors.js';
import { op, type Ctx, type AnyOp, type RawResponse, type ServiceDef } from '../framework.js';
import { isPolicyPublic, parsePolicy, PolicyParseError } from '../policy.js';
import type { OperationSchema } from '../protocols/serde.js';
import type {
  Account,
  Bucket,
  Grant,
  LifecycleRule,
  PublicAccessBlock,
  S3DeleteMarker,
  S3Object,
  S3Version,
} from '../state.js';
import { S3_XMLNS } from '../protocols/render.js';
import { date, setTags } from '../util.js';

const s = (x: unknown): OperationSchema => x as OperationSchema;
export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
export const LOG_DELIVERY = 'http://acs.amazonaws.com/groups/s3/LogDelivery';

type BucketCtx = Ctx & { bucket?: string };

export function canonicalUserId(accountId: string): string {
  return crypto.createHash('sha256').update(`canonical:${accountId}`).digest('hex');
}

const noSuchBucket = (name: string): AwsError =>
  new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: name });

function findBucket(
  ctx: Ctx,
  name: string | undefined,
): { bucket: Bucket; owner: Account } | undefined {
  if (!name) return undefined;
  const ownerId = ctx.engine.bucketOwners.get(name);
  const owner = ownerId ? ctx.engine.accounts.get(ownerId) : undefined;
  const bucket = owner?.s3.buckets.get(name);
  return bucket && owner ? { bucket, owner } : undefined;
}

function bucketOf(ctx: Ctx, input: { Bucket?: string }): Bucket {
  const found = findBucket(ctx, input.Bucket);
  if (!found) throw noSuchBucket(input.Bucket ?? '');
  return found.bucket;
}

const bucketArn = (i: { Bucket?: string }): string => `arn:aws:s3:::${i.Bucket ?? '*'}`;
const objectArn = (i: { Bucket?: string; Key?: string }): string =>
  `arn:aws:s3:::${i.Bucket ?? '*'}/${i.Key ?? '*'}`;

export function isPublicGrant(g: Grant): boolean {
  return (
    g.grantee.type === 'Group' &&
    (g.grantee.uri === ALL_USERS || g.grantee.uri === AUTHENTICATED_USERS)
  );
}

function effectivePab(owner: Account, b: Bucket): PublicAccessBlock {
  const a = owner.s3.accountPublicAccessBlock;
  const p = b.publicAccessBlock;
  return {
    BlockPublicAcls: !!(a?.BlockPublicAcls || p?.BlockPublicAcls),
    IgnorePublicAcls: !!(a?.IgnorePublicAcls || p?.IgnorePublicAcls),
    BlockPublicPolicy: !!(a?.BlockPublicPolicy || p?.BlockPublicPolicy),
    RestrictPublicBuckets: !!(a?.RestrictPublicBuckets || p?.RestrictPublicBuckets),
  };
}

function grantsOut(b: Bucket): sdk.Grant[] {
  return b.grants.map((g): sdk.Grant => ({
    Grantee:
      g.grantee.type === 'CanonicalUser'
        ? { Type: 'CanonicalUser', ID: g.grantee.id, DisplayName: g.grantee.displayName }
        : { Type: 'Group', URI: g.grantee.uri },
    Permission: g.permission,
  }));
}

function cannedGrants(acl: string, ownerId: string): Grant[] {
  const owner: Grant = {
    grantee: { type: 'CanonicalUser', id: ownerId },
    permission: 'FULL_CONTROL',
  };
  switch (acl) {
    case 'private':
      return [owner];
    case 'public-read':
      return [owner, { grantee: { type: 'Group', uri: ALL_USERS }, permission: 'READ' }];
    case 'public-read-write':
      return [
        owner,
        { grantee: { type: 'Group', uri: ALL_USERS }, permission: 'READ' },
        { grantee: { type: 'Group', uri: ALL_USERS }, permission: 'WRITE' },
      ];
    case 'authenticated-read':
      return [owner, { grantee: { type: 'Group', uri: AUTHENTICATED_USERS }, permission: 'READ' }];
    case 'log-delivery-write':
      return [
        owner,
        { grantee: { type: 'Group', uri: LOG_DELIVERY }, permission: 'WRITE' },
        { grantee: { type: 'Group', uri: LOG_DELIVERY }, permission: 'READ_ACP' },
      ];
    default:
      throw new AwsError('InvalidArgument', `Invalid canned ACL ${acl}`, 400, {
        ArgumentName: 'x-amz-acl',
      });
  }
}

function headerGrants(input: sdk.PutBucketAclRequest): Grant[] {
  const out: Grant[] = [];
  const parse = (v: string | undefined, permission: Grant['permission']) => {
    for (const part of (v ?? '').split(',')) {
      const m = /^\s*(id|uri|emailAddress)="?([^"]+)"?\s*$/.exec(part);
      if (!m) continue;
      if (m[1] === 'uri') out.push({ grantee: { type: 'Group', uri: m[2]! }, permission });
      else out.push({ grantee: { type: 'CanonicalUser', id: m[2]! }, permission });
    }
  };
  parse(input.GrantFullControl, 'FULL_CONTROL');
  parse(input.GrantRead, 'READ');
  parse(input.GrantReadACP, 'READ_ACP');
  parse(input.GrantWrite, 'WRITE');
  parse(input.GrantWriteACP, 'WRITE_ACP');
  return out;
}

function pabFrom(
  c:
    | {
        BlockPublicAcls?: boolean;
        IgnorePublicAcls?: boolean;
        BlockPublicPolicy?: boolean;
        RestrictPublicBuckets?: boolean;
      }
    | undefined,
): PublicAccessBlock {
  return {
    BlockPublicAcls: c?.BlockPublicAcls ?? false,
    IgnorePublicAcls: c?.IgnorePublicAcls ?? false,
    BlockPublicPolicy: c?.BlockPublicPolicy ?? false,
    RestrictPublicBuckets: c?.RestrictPublicBuckets ?? false,
  };
}

const raw = (body: string, status = 200, headers: Record<string, string> = {}): RawResponse => ({
  $raw: true,
  status,
  headers: { 'content-type': 'application/xml', ...headers },
  body,
});

// ---------- versioning and Object Lock ----------
const DAY_MS = 86_400_000;
const MALFORMED_XML =
  'The XML you provided was not well-formed or did not validate against our published schema';
const malformedXml = (): AwsError => new AwsError('MalformedXML', MALFORMED_XML, 400);
const lockDenied = (): AwsError =>
  new AwsError('AccessDenied', 'Access Denied because object protected by object lock.', 403);
const missingLockConfig = (): AwsError =>
  new AwsError('InvalidRequest', 'Bucket is missing Object Lock Configuration', 400);
const invalidArgument = (message: string, name: string, value?: string): AwsError =>
  new AwsError('InvalidArgument', message, 400, {
    ArgumentName: name,
    ...(value === undefined ? {} : { ArgumentValue: value }),
  });
const noSuchKey = (key: string, extra: Record<string, string> = {}): AwsError =>
  new AwsError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key, ...extra });
const noSuchVersion = (key: string, versionId: string): AwsError =>
  new AwsError('NoSuchVersion', 'The specified version does not exist.', 404, {
    Key: key,
    VersionId: versionId,
  });
const preconditionFailed = (condition: string): AwsError =>
  new AwsError(
    'PreconditionFailed',
    'At least one of the pre-conditions you specified did not hold',
    412,
    { Condition: condition },
  );

const noObjectLock = (): AwsError =>
  new AwsError(
    'NoSuchObjectLockConfiguration',
    'The specified object does not have a ObjectLock configuration',
    404,
  );

const isMarker = (v: S3Version): v is S3DeleteMarker => 'deleteMarker' in v;
/** A version's id as S3 shows it: "null" for the version written without versioning. */
const vid = (v: S3Version): string => v.versionId ?? 'null';
/** A fresh version id: 32 URL-safe characters, like S3's. */
const newVersionId = (): string => crypto.randomBytes(24).toString('base64url');
type LockMode = 'GOVERNANCE' | 'COMPLIANCE';
const isLockMode = (m: unknown): m is LockMode => m === 'GOVERNANCE' || m === 'COMPLIANCE';

/**
 * The bucket's version history, or undefined while versioning has never been enabled. Built from
 * `objects` on first use (objects written before versioning are the "null" version).
 */
function history(b: Bucket): Map<string, S3Version[]> | undefined {
  if (!b.versions && b.versioning) b.versions = new Map([...b.objects].map(([k, o]) => [k, [o]]));
  return b.versions;
}

/** Point `objects` at the key's latest version again (nothing when that is a delete marker). */
function syncCurrent(b: Bucket, key: string): void {
  const list = b.versions?.get(key);
  const last = list?.[list.length - 1];
  if (!last) b.versions?.delete(key);
  if (!last || isMarker(last)) b.objects.delete(key);
  else b.objects.set(key, last);
}

function findVersion(b: Bucket, key: string, versionId: string): S3Version | undefined {
  const h = history(b);
  if (!h) return versionId === 'null' ? b.objects.get(key) : undefined;
  return h.get(key)?.find((v) => vid(v) === versionId);
}

function deleteMarkerHeaders(m: S3DeleteMarker): Record<string, string> {
  return {
    'header:x-amz-delete-marker': 'true',
    'header:x-amz-version-id': m.versionId,
    'header:last-modified': new Date(m.lastModified).toUTCString(),
  };
}

/** The object version a request addresses: its VersionId, else the key's current version. */
function targetObject(
  b: Bucket,
  input: { Key?: string; VersionId?: string },
  method: string,
): S3Object {
  const key = input.Key ?? '';
  if (input.VersionId !== undefined) {
    const v = findVersion(b, key, input.VersionId);
    if (!v) throw noSuchVersion(key, input.VersionId);
    if (isMarker(v))
      throw new AwsError(
        'MethodNotAllowed',
        'The specified method is not allowed against this resource.',
        405,
        { Method: method, ResourceType: 'DeleteMarker', ...deleteMarkerHeaders(v) },
      );
    return v;
  }
  const o = b.objects.get(key);
  if (o) return o;
  const list = b.versions?.get(key);
  const last = list?.[list.length - 1];
  throw noSuchKey(key, last && isMarker(last) ? deleteMarkerHeaders(last) : {});
}

/** Version and Object Lock headers of GetObject/HeadObject (lock ones only if the caller may read them). */
function objectHeaders(
  ctx: Ctx,
  b: Bucket,
  o: S3Object,
  input: { Bucket?: string; Key?: string },
): Record<string, string> {
  const h: Record<string, string> = {};
  if (b.versioning) h['x-amz-version-id'] = vid(o);
  const arn = objectArn(input);
  if (o.retention && ctx.allowed('s3:GetObjectRetention', arn)) {
    h['x-amz-object-lock-mode'] = o.retention.mode;
    h['x-amz-object-lock-retain-until-date'] = new Date(o.retention.until).toISOString();
  }
  if (o.legalHold !== undefined && ctx.allowed('s3:GetObjectLegalHold', arn))
    h['x-amz-object-lock-legal-hold'] = o.legalHold ? 'ON' : 'OFF';
  return h;
}

/** Refuses to remove (or weaken the lock of) a version under legal hold or unexpired retention. */
function assertUnlocked(
  ctx: Ctx,
  input: { Bucket?: string; Key?: string; BypassGovernanceRetention?: boolean },
  o: S3Object,
): void {
  if (o.legalHold) throw lockDenied();
  const r = o.retention;
  if (!r || r.until <= ctx.now) return;
  if (r.mode === 'COMPLIANCE' || !input.BypassGovernanceRetention) throw lockDenied();
  ctx.authorize('s3:BypassGovernanceRetention', objectArn(input));
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/;

/** S3 wants Content-MD5 or an x-amz-checksum-* header/trailer on writes that lock an object. */
function hasIntegrityCheck(ctx: Ctx): boolean {
  const h = ctx.http.headers;
  if (h['content-md5']) return true;
  if (Object.keys(h).some((k) => k.toLowerCase().startsWith('x-amz-checksum-'))) return true;
  const trailer = h['x-amz-trailer'];
  return /x-amz-checksum-/i.test(Array.isArray(trailer) ? trailer.join(',') : (trailer ?? ''));
}

/** The Object Lock settings of a new object version: its headers, else the bucket's default. */
function lockForPut(
  ctx: Ctx,
  b: Bucket,
  input: sdk.PutObjectRequest,
): Pick<S3Object, 'retention' | 'legalHold'> {
  const mode: string | undefined = input.ObjectLockMode;
  const until = input.ObjectLockRetainUntilDate;
  const hold: string | undefined = input.ObjectLockLegalHoldStatus;
  const rawUntil = ctx.http.headers['x-amz-object-lock-retain-until-date'];
  const untilText = Array.isArray(rawUntil) ? rawUntil.join(',') : rawUntil;
  // The headers are checked before the bucket's lock configuration is looked at (as S3 does).
  if (until !== undefined && !ISO_8601.test(untilText ?? ''))
    throw invalidArgument(
      'The retain until date must be provided in ISO 8601 format',
      'x-amz-object-lock-retain-until-date',
      untilText,
    );
  if (mode !== undefined && until === undefined)
    throw invalidArgument(
      'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
      'x-amz-object-lock-retain-until-date',
    );
  if (until !== undefined && mode === undefined)
    throw invalidArgument(
      'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
      'x-amz-object-lock-mode',
    );
  if (mode !== undefined && !isLockMode(mode))
    throw invalidArgument('Unknown wormMode directive.', 'x-amz-object-lock-mode', mode);
  if (until !== undefined && until.getTime() <= ctx.now)
    throw invalidArgument(
      'The retain until date must be in the future!',
      'x-amz-object-lock-retain-until-date',
      untilText,
    );
  if (hold !== undefined && hold !== 'ON' && hold !== 'OFF')
    throw invalidArgument(
      "Legal Hold must be either of 'ON' or 'OFF'",
      'x-amz-object-lock-legal-hold',
      hold,
    );
  if (!b.objectLock) {
    if (mode !== undefined || hold !== undefined) throw missingLockConfig();
    return {};
  }
  // Setting a retention or a legal hold at upload needs the permission to set it afterwards (the
  // bucket's default rule needs none).
  if (mode !== undefined) ctx.authorize('s3:PutObjectRetention', objectArn(input));
  if (hold !== undefined) ctx.authorize('s3:PutObjectLegalHold', objectArn(input));
  const out: Pick<S3Object, 'retention' | 'legalHold'> = {};
  const rule = b.objectLock.rule;
  if (isLockMode(mode) && until) out.retention = { mode, until: until.getTime() };
  else if (rule)
    out.retention = {
      mode: rule.mode,
      until: ctx.now + (rule.days ?? 0) * DAY_MS + (rule.years ?? 0) * 365 * DAY_MS,
    };
  if (hold !== undefined) out.legalHold = hold === 'ON';
  if ((out.retention || out.legalHold !== undefined) && !hasIntegrityCheck(ctx))
    throw new AwsError(
      'InvalidRequest',
      'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
      400,
    );
  return out;
}

const ops: Record<string, AnyOp> = {
  ListBuckets: op<sdk.ListBucketsRequest, sdk.ListBucketsOutput>({
    schema: s(sdk.ListBuckets$),
    action: 's3:ListAllMyBuckets',
    handler: (ctx) => ({
      Buckets: [...ctx.account.s3.buckets.values()]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((b) => ({ Name: b.name, CreationDate: date(b.creationDate), BucketRegion: b.region })),
      Owner: { ID: canonicalUserId(ctx.account.id), DisplayName: ctx.account.name },
    }),
  }),
  CreateBucket: op<sdk.CreateBucketRequest, sdk.CreateBucketOutput>({
    schema: s(sdk.CreateBucket$),
    action: 's3:CreateBucket',
    resource: bucketArn,
    handler: (ctx, input) => {
      const name = input.Bucket ?? '';
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name))
        throw new AwsError('InvalidBucketName', 'The specified bucket is not valid.', 400, {
          BucketName: name,
        });
      const existing = findBucket(ctx, name);
      if (existing)
        throw existing.owner.id === ctx.account.id
          ? new AwsError(
              'BucketAlreadyOwnedByYou',
              'Your previous request to create the named bucket succeeded and you already own it.',
              409,
              { BucketName: name },
            )
          : new AwsError(
              'BucketAlreadyExists',
              'The requested bucket name is not available.',
              409,
              { BucketName: name },
            );
      const location = input.CreateBucketConfiguration?.LocationConstraint ?? 'us-east-1';
      if (location !== ctx.region)
        throw new AwsError(
          'IllegalLocationConstraintException',
          `The ${location} location constraint is incompatible for the region specific endpoint this request was sent to.`,
        );
      // Object Lock at creation also needs the permissions of the two settings it implies.
      if (input.ObjectLockEnabledForBucket) {
        ctx.authorize('s3:PutBucketObjectLockConfiguration', bucketArn(input));
        ctx.authorize('s3:PutBucketVersioning', bucketArn(input));
      }
      const owner = canonicalUserId(ctx.account.id);
      const b: Bucket = {
        name,
        region: location,
        creationDate: ctx.now,
        ownerId: owner,
        grants: input.ACL
          ? cannedGrants(input.ACL, owner)
          : [{ grantee: { type: 'CanonicalUser', id: owner }, permission: 'FULL_CONTROL' }],
        publicAccessBlock: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
        encryption: { algorithm: 'AES256', bucketKey: false },
        ownership: input.ObjectOwnership ?? 'BucketOwnerEnforced',
        objects: new Map(),
        tags: [],
      };
      if (input.ObjectLockEnabledForBucket) {
        b.objectLock = {};
        b.versioning = 'Enabled';
        b.versions = new Map();
      }
      ctx.account.s3.buckets.set(name, b);
      ctx.engine.bucketOwners.set(name, ctx.account.id);
      return { Location: `/${name}` };
    },
  }),
  DeleteBucket: op<sdk.DeleteBucketRequest, Record<string, never>>({
    schema: s(sdk.DeleteBucket$),
    action: 's3:DeleteBucket',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      // Noncurrent versions and delete markers count too.
      if (b.objects.size || [...(b.versions?.values() ?? [])].some((l) => l.length))
        throw new AwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, {
          BucketName: b.name,
        });
      ctx.account.s3.buckets.delete(b.name);
      ctx.engine.bucketOwners.delete(b.name);
      return {};
    },
  }),
  HeadBucket: op<sdk.HeadBucketRequest, sdk.HeadBucketOutput>({
    schema: s(sdk.HeadBucket$),
    action: 's3:ListBucket',
    resource: bucketArn,
    handler: (ctx, input) => ({ BucketRegion: bucketOf(ctx, input).region }),
  }),
  GetBucketLocation: op<sdk.GetBucketLocationRequest, RawResponse>({
    schema: s(sdk.GetBucketLocation$),
    action: 's3:GetBucketLocation',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      const loc = b.region === 'us-east-1' ? '' : b.region;
      return raw(
        `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_XMLNS}">${loc}</LocationConstraint>`,
      );
    },
  }),
  GetBucketAcl: op<sdk.GetBucketAclRequest, sdk.GetBucketAclOutput>({
    schema: s(sdk.GetBucketAcl$),
    action: 's3:GetBucketAcl',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      return { Owner: { ID: b.ownerId }, Grants: grantsOut(b) };
    },
  }),
  PutBucketAcl: op<sdk.PutBucketAclRequest, Record<string, never>>({
    schema: s(sdk.PutBucketAcl$),
    action: 's3:PutBucketAcl',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      let grants: Grant[];
      if (input.ACL) grants = cannedGrants(input.ACL, b.ownerId);
      else if (input.AccessControlPolicy) {
        grants = (input.AccessControlPolicy.Grants ?? []).map((g) => {
          const type = g.Grantee?.Type;
          const permission = g.Permission as Grant['permission'];
          if (!permission)
            throw new AwsError(
              'MalformedACLError',
              'The XML you provided was not well-formed or did not validate against our published schema',
            );
          if (type === 'Group' && g.Grantee?.URI)
            return { grantee: { type: 'Group', uri: g.Grantee.URI }, permission };
          if (type === 'CanonicalUser' && g.Grantee?.ID)
            return {
              grantee: {
                type: 'CanonicalUser',
                id: g.Grantee.ID,
                displayName: g.Grantee.DisplayName,
              },
              permission,
            };
          throw new AwsError(
            'MalformedACLError',
            'The XML you provided was not well-formed or did not validate against our published schema',
          );
        });
      } else {
        grants = headerGrants(input);
        if (!grants.length)
          throw new AwsError(
            'MissingSecurityHeader',
            'Your request was missing a required header',
            400,
            { MissingHeaderName: 'x-amz-acl' },
          );
      }
      const onlyOwner = grants.every(
        (g) =>
          g.grantee.type === 'CanonicalUser' &&
          g.grantee.id === b.ownerId &&
          g.permission === 'FULL_CONTROL',
      );
      if (b.ownership === 'BucketOwnerEnforced' && !onlyOwner)
        throw new AwsError('AccessControlListNotSupported', 'The bucket does not allow ACLs', 400);
      const owner = findBucket(ctx, b.name)!.owner;
      if (effectivePab(owner, b).BlockPublicAcls && grants.some(isPublicGrant))
        throw new AwsError('AccessDenied', 'Access Denied', 403);
      b.grants = grants;
      return {};
    },
  }),
  GetBucketPolicy: op<sdk.GetBucketPolicyRequest, sdk.GetBucketPolicyOutput>({
    schema: s(sdk.GetBucketPolicy$),
    action: 's3:GetBucketPolicy',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.policy)
        throw new AwsError('NoSuchBucketPolicy', 'The bucket policy does not exist', 404, {
          BucketName: b.name,
        });
      return { Policy: b.policy };
    },
  }),
  PutBucketPolicy: op<sdk.PutBucketPolicyRequest, Record<string, never>>({
    schema: s(sdk.PutBucketPolicy$),
    action: 's3:PutBucketPolicy',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      const text = input.Policy;
      if (!text)
        throw new AwsError(
          'MalformedPolicy',
          "Policies must be valid JSON and the first byte must be '{'",
          400,
        );
      let doc;
      try {
        doc = parsePolicy(text, { requirePrincipal: true });
      } catch (e) {
        throw new AwsError(
          'MalformedPolicy',
          e instanceof PolicyParseError ? e.message : 'Invalid policy',
          400,
        );
      }
      for (const st of doc.Statement)
        for (const r of st.Resource ?? [])
          if (!r.startsWith(`arn:aws:s3:::${b.name}`))
            throw new AwsError('MalformedPolicy', 'Policy has invalid resource', 400);
      const owner = findBucket(ctx, b.name)!.owner;
      if (effectivePab(owner, b).BlockPublicPolicy && isPolicyPublic(doc))
        throw new AwsError('AccessDenied', 'Access Denied', 403);
      b.policy = text;
      return {};
    },
  }),
  DeleteBucketPolicy: op<sdk.DeleteBucketPolicyRequest, Record<string, never>>({
    schema: s(sdk.DeleteBucketPolicy$),
    action: 's3:DeleteBucketPolicy',
    resource: bucketArn,
    handler: (ctx, input) => {
      delete bucketOf(ctx, input).policy;
      return {};
    },
  }),
  GetBucketPolicyStatus: op<sdk.GetBucketPolicyStatusRequest, sdk.GetBucketPolicyStatusOutput>({
    schema: s(sdk.GetBucketPolicyStatus$),
    action: 's3:GetBucketPolicyStatus',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.policy)
        throw new AwsError('NoSuchBucketPolicy', 'The bucket policy does not exist', 404, {
          BucketName: b.name,
        });
      const doc = ctx.engine.parsePolicyCached(b.policy);
      return { PolicyStatus: { IsPublic: doc ? isPolicyPublic(doc) : false } };
    },
  }),
  GetPublicAccessBlock: op<sdk.GetPublicAccessBlockRequest, sdk.GetPublicAccessBlockOutput>({
    schema: s(sdk.GetPublicAccessBlock$),
    action: 's3:GetBucketPublicAccessBlock',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.publicAccessBlock)
        throw new AwsError(
          'NoSuchPublicAccessBlockConfiguration',
          'The public access block configuration was not found',
          404,
          { BucketName: b.name },
        );
      return { PublicAccessBlockConfiguration: { ...b.publicAccessBlock } };
    },
  }),
  PutPublicAccessBlock: op<sdk.PutPublicAccessBlockRequest, Record<string, never>>({
    schema: s(sdk.PutPublicAccessBlock$),
    action: 's3:PutBucketPublicAccessBlock',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!input.PublicAccessBlockConfiguration)
        throw new AwsError('MissingRequestBodyError', 'Request Body is empty', 400);
      b.publicAccessBlock = pabFrom(input.PublicAccessBlockConfiguration);
      return {};
    },
  }),
  DeletePublicAccessBlock: op<sdk.DeletePublicAccessBlockRequest, Record<string, never>>({
    schema: s(sdk.DeletePublicAccessBlock$),
    action: 's3:PutBucketPublicAccessBlock',
    resource: bucketArn,
    handler: (ctx, input) => {
      delete bucketOf(ctx, input).publicAccessBlock;
      return {};
    },
  }),
  GetBucketEncryption: op<sdk.GetBucketEncryptionRequest, sdk.GetBucketEncryptionOutput>({
    schema: s(sdk.GetBucketEncryption$),
    action: 's3:GetEncryptionConfiguration',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.encryption)
        throw new AwsError(
          'ServerSideEncryptionConfigurationNotFoundError',
          'The server side encryption configuration was not found',
          404,
          { BucketName: b.name },
        );
      return {
        ServerSideEncryptionConfiguration: {
          Rules: [
            {
              ApplyServerSideEncryptionByDefault: {
                SSEAlgorithm: b.encryption.algorithm,
                KMSMasterKeyID: b.encryption.kmsKeyId,
              },
              BucketKeyEnabled: b.encryption.bucketKey,
            },
          ],
        },
      };
    },
  }),
  PutBucketEncryption: op<sdk.PutBucketEncryptionRequest, Record<string, never>>({
    schema: s(sdk.PutBucketEncryption$),
    action: 's3:PutEncryptionConfiguration',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      const rule = input.ServerSideEncryptionConfiguration?.Rules?.[0];
      const alg = rule?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm;
      if (alg !== 'AES256' && alg !== 'aws:kms' && alg !== 'aws:kms:dsse')
        throw new AwsError(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
          400,
        );
      b.encryption = {
        algorithm: alg,
        kmsKeyId: rule?.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID,
        bucketKey: rule?.BucketKeyEnabled ?? false,
      };
      return {};
    },
  }),
  DeleteBucketEncryption: op<sdk.DeleteBucketEncryptionRequest, Record<string, never>>({
    schema: s(sdk.DeleteBucketEncryption$),
    action: 's3:PutEncryptionConfiguration',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      // Since January 2023 a bucket always has at least SSE-S3: deleting resets to it.
      if (ctx.account.s3.legacyNoDefaultEncryption) delete b.encryption;
      else b.encryption = { algorithm: 'AES256', bucketKey: false };
      return {};
    },
  }),
  GetBucketVersioning: op<sdk.GetBucketVersioningRequest, sdk.GetBucketVersioningOutput>({
    schema: s(sdk.GetBucketVersioning$),
    action: 's3:GetBucketVersioning',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      return b.versioning ? { Status: b.versioning, MFADelete: 'Disabled' } : {};
    },
  }),
  PutBucketVersioning: op<sdk.PutBucketVersioningRequest, Record<string, never>>({
    schema: s(sdk.PutBucketVersioning$),
    action: 's3:PutBucketVersioning',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      const st = input.VersioningConfiguration?.Status;
      if (st !== 'Enabled' && st !== 'Suspended')
        throw new AwsError(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
          400,
        );
      if (b.objectLock && st !== 'Enabled')
        throw new AwsError(
          'InvalidBucketState',
          'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
          409,
          { BucketName: b.name },
        );
      b.versioning = st;
      history(b);
      return {};
    },
  }),
  GetBucketLifecycleConfiguration: op<
    sdk.GetBucketLifecycleConfigurationRequest,
    sdk.GetBucketLifecycleConfigurationOutput
  >({
    schema: s(sdk.GetBucketLifecycleConfiguration$),
    action: 's3:GetLifecycleConfiguration',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.lifecycle)
        throw new AwsError(
          'NoSuchLifecycleConfiguration',
          'The lifecycle configuration does not exist',
          404,
          { BucketName: b.name },
        );
      return { Rules: b.lifecycle as sdk.LifecycleRule[] };
    },
  }),
  PutBucketLifecycleConfiguration: op<
    sdk.PutBucketLifecycleConfigurationRequest,
    Record<string, never>
  >({
    schema: s(sdk.PutBucketLifecycleConfiguration$),
    action: 's3:PutLifecycleConfiguration',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      const rules = input.LifecycleConfiguration?.Rules;
      if (!rules?.length)
        throw new AwsError(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
          400,
        );
      for (const r of rules)
        if (r.Status !== 'Enabled' && r.Status !== 'Disabled')
          throw new AwsError(
            'MalformedXML',
            'The XML you provided was not well-formed or did not validate against our published schema',
            400,
          );
      b.lifecycle = JSON.parse(JSON.stringify(rules)) as LifecycleRule[];
      return {};
    },
  }),
  DeleteBucketLifecycle: op<sdk.DeleteBucketLifecycleRequest, Record<string, never>>({
    schema: s(sdk.DeleteBucketLifecycle$),
    action: 's3:PutLifecycleConfiguration',
    resource: bucketArn,
    handler: (ctx, input) => {
      delete bucketOf(ctx, input).lifecycle;
      return {};
    },
  }),
  GetBucketLogging: op<sdk.GetBucketLoggingRequest, sdk.GetBucketLoggingOutput>({
    schema: s(sdk.GetBucketLogging$),
    action: 's3:GetBucketLogging',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      return b.logging
        ? {
            LoggingEnabled: {
              TargetBucket: b.logging.targetBucket,
              TargetPrefix: b.logging.targetPrefix,
            },
          }
        : {};
    },
  }),
  PutBucketLogging: op<sdk.PutBucketLoggingRequest, Record<string, never>>({
    schema: s(sdk.PutBucketLogging$),
    action: 's3:PutBucketLogging',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      const le = input.BucketLoggingStatus?.LoggingEnabled;
      if (!le) {
        delete b.logging;
        return {};
      }
      const target = findBucket(ctx, le.TargetBucket);
      if (!target || target.owner.id !== ctx.account.id)
        throw new AwsError(
          'InvalidTargetBucketForLogging',
          'The target bucket for logging does not exist',
          400,
          { TargetBucket: le.TargetBucket ?? '' },
        );
      b.logging = { targetBucket: le.TargetBucket!, targetPrefix: le.TargetPrefix ?? '' };
      return {};
    },
  }),
  GetBucketOwnershipControls: op<
    sdk.GetBucketOwnershipControlsRequest,
    sdk.GetBucketOwnershipControlsOutput
  >({
    schema: s(sdk.GetBucketOwnershipControls$),
    action: 's3:GetBucketOwnershipControls',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.ownership)
        throw new AwsError(
          'OwnershipControlsNotFoundError',
          'The bucket ownership controls were not found',
          404,
          { BucketName: b.name },
        );
      return { OwnershipControls: { Rules: [{ ObjectOwnership: b.ownership }] } };
    },
  }),
  PutBucketOwnershipControls: op<sdk.PutBucketOwnershipControlsRequest, Record<string, never>>({
    schema: s(sdk.PutBucketOwnershipControls$),
    action: 's3:PutBucketOwnershipControls',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      const o = input.OwnershipControls?.Rules?.[0]?.ObjectOwnership;
      if (o !== 'BucketOwnerEnforced' && o !== 'BucketOwnerPreferred' && o !== 'ObjectWriter')
        throw new AwsError(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
          400,
        );
      if (
        o === 'BucketOwnerEnforced' &&
        b.grants.some((g) => !(g.grantee.type === 'CanonicalUser' && g.grantee.id === b.ownerId))
      )
        throw new AwsError(
          'InvalidBucketAclWithObjectOwnership',
          "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
          400,
        );
      b.ownership = o;
      return {};
    },
  }),
  DeleteBucketOwnershipControls: op<
    sdk.DeleteBucketOwnershipControlsRequest,
    Record<string, never>
  >({
    schema: s(sdk.DeleteBucketOwnershipControls$),
    action: 's3:PutBucketOwnershipControls',
    resource: bucketArn,
    handler: (ctx, input) => {
      delete bucketOf(ctx, input).ownership;
      return {};
    },
  }),
  GetBucketWebsite: op<sdk.GetBucketWebsiteRequest, sdk.GetBucketWebsiteOutput>({
    schema: s(sdk.GetBucketWebsite$),
    action: 's3:GetBucketWebsite',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.website)
        throw new AwsError(
          'NoSuchWebsiteConfiguration',
          'The specified bucket does not have a website configuration',
          404,
          { BucketName: b.name },
        );
      return {
        IndexDocument: { Suffix: b.website.indexDocument },
        ErrorDocument: b.website.errorDocument ? { Key: b.website.errorDocument } : undefined,
      };
    },
  }),
  GetBucketTagging: op<sdk.GetBucketTaggingRequest, sdk.GetBucketTaggingOutput>({
    schema: s(sdk.GetBucketTagging$),
    action: 's3:GetBucketTagging',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.tags.length)
        throw new AwsError('NoSuchTagSet', 'The TagSet does not exist', 404, {
          BucketName: b.name,
        });
      return { TagSet: b.tags.map((t) => ({ ...t })) };
    },
  }),
  PutBucketTagging: op<sdk.PutBucketTaggingRequest, Record<string, never>>({
    schema: s(sdk.PutBucketTagging$),
    action: 's3:PutBucketTagging',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      b.tags = [];
      setTags(b.tags, input.Tagging?.TagSet ?? []);
      return {};
    },
  }),
  ListObjectsV2: op<sdk.ListObjectsV2Request, sdk.ListObjectsV2Output>({
    schema: s(sdk.ListObjectsV2$),
    action: 's3:ListBucket',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      const prefix = input.Prefix ?? '';
      const max = Math.min(input.MaxKeys ?? 1000, 1000);
      let start = input.StartAfter ?? '';
      if (input.ContinuationToken)
        start = Buffer.from(input.ContinuationToken, 'base64url').toString('utf8');
      const keys = [...b.objects.keys()].filter((k) => k.startsWith(prefix) && k > start).sort();
      const contents: sdk._Object[] = [];
      const prefixes = new Set<string>();
      let last = '';
      let truncated = false;
      for (const k of keys) {
        if (contents.length + prefixes.size >= max) {
          truncated = true;
          break;
        }
        if (input.Delimiter) {
          const rest = k.slice(prefix.length);
          const i = rest.indexOf(input.Delimiter);
          if (i >= 0) {
            prefixes.add(prefix + rest.slice(0, i + input.Delimiter.length));
            last = k;
            continue;
          }
        }
        const o = b.objects.get(k)!;
        contents.push({
          Key: k,
          LastModified: date(o.lastModified),
          ETag: o.etag,
          Size: o.body.length,
          StorageClass: 'STANDARD',
        });
        last = k;
      }
      return {
        Name: b.name,
        Prefix: prefix,
        Delimiter: input.Delimiter,
        MaxKeys: max,
        KeyCount: contents.length + prefixes.size,
        IsTruncated: truncated,
        Contents: contents.length ? contents : undefined,
        CommonPrefixes: prefixes.size ? [...prefixes].map((p) => ({ Prefix: p })) : undefined,
        ContinuationToken: input.ContinuationToken,
        NextContinuationToken: truncated ? Buffer.from(last).toString('base64url') : undefined,
        StartAfter: input.StartAfter,
      };
    },
  }),
  GetObject: op<sdk.GetObjectRequest, RawResponse>({
    schema: s(sdk.GetObject$),
    action: 's3:GetObject',
    resource: objectArn,
    // A specific version needs s3:GetObjectVersion (as on AWS), so authorisation is done here.
    selfAuth: true,
    handler: (ctx, input) => {
      ctx.authorize(
        input.VersionId !== undefined ? 's3:GetObjectVersion' : 's3:GetObject',
        objectArn(input),
      );
      const b = bucketOf(ctx, input);
      const o = targetObject(b, input, 'GET');
      return {
        $raw: true,
        headers: {
          'content-type': o.contentType,
          etag: o.etag,
          'last-modified': new Date(o.lastModified).toUTCString(),
          'accept-ranges': 'bytes',
          'x-amz-server-side-encryption': b.encryption?.algorithm ?? '',
          ...objectHeaders(ctx, b, o, input),
        },
        body: o.body,
      };
    },
  }),
  HeadObject: op<sdk.HeadObjectRequest, RawResponse>({
    schema: s(sdk.HeadObject$),
    action: 's3:GetObject',
    resource: objectArn,
    selfAuth: true,
    handler: (ctx, input) => {
      ctx.authorize(
        input.VersionId !== undefined ? 's3:GetObjectVersion' : 's3:GetObject',
        objectArn(input),
      );
      const b = bucketOf(ctx, input);
      let o: S3Object;
      try {
        o = targetObject(b, input, 'HEAD');
      } catch (e) {
        // A HEAD answer has no body: only the status and headers (delete marker ones) remain.
        if (e instanceof AwsError && e.status === 404) {
          const headers = Object.fromEntries(
            Object.entries(e.extra).filter(([k]) => k.startsWith('header:')),
          );
          throw new AwsError('NotFound', 'Not Found', 404, headers);
        }
        throw e;
      }
      return {
        $raw: true,
        headers: {
          'content-type': o.contentType,
          'content-length': String(o.body.length),
          etag: o.etag,
          'last-modified': new Date(o.lastModified).toUTCString(),
          ...objectHeaders(ctx, b, o, input),
        },
      };
    },
  }),
  PutObject: op<sdk.PutObjectRequest, sdk.PutObjectOutput>({
    schema: s(sdk.PutObject$),
    action: 's3:PutObject',
    resource: objectArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      const key = input.Key ?? '';
      const lock = lockForPut(ctx, b, input);
      // Conditional writes compare with the current version (a delete marker is no object).
      const current = b.objects.get(key);
      if (input.IfNoneMatch !== undefined) {
        if (input.IfNoneMatch !== '*')
          throw new AwsError(
            'NotImplemented',
            'A header you provided implies functionality that is not implemented',
            501,
            { Header: 'If-None-Match' },
          );
        if (current) throw preconditionFailed('If-None-Match');
      }
      if (input.IfMatch !== undefined) {
        if (!current) throw noSuchKey(key);
        const unquote = (t: string) => t.trim().replace(/^"|"$/g, '');
        if (input.IfMatch !== '*' && unquote(input.IfMatch) !== unquote(current.etag))
          throw preconditionFailed('If-Match');
      }
      const body = Buffer.isBuffer(input.Body) ? input.Body : Buffer.from(String(input.Body ?? ''));
      const etag = `"${crypto.createHash('md5').update(body).digest('hex')}"`;
      const o: S3Object = {
        body,
        etag,
        lastModified: ctx.now,
        contentType: input.ContentType ?? 'binary/octet-stream',
        ...lock,
      };
      const h = history(b);
      if (h) {
        // Enabled: a new version on top. Suspended: the write replaces the "null" version.
        if (b.versioning === 'Enabled') o.versionId = newVersionId();
        const list = (h.get(key) ?? []).filter((v) => o.versionId || vid(v) !== 'null');
        list.push(o);
        h.set(key, list);
      }
      b.objects.set(key, o);
      return {
        ETag: etag,
        ServerSideEncryption: b.encryption?.algorithm as sdk.ServerSideEncryption | undefined,
        VersionId: o.versionId,
      };
    },
  }),
  DeleteObject: op<sdk.DeleteObjectRequest, sdk.DeleteObjectOutput>({
    schema: s(sdk.DeleteObject$),
    action: 's3:DeleteObject',
    resource: objectArn,
    // Deleting a specific version is s3:DeleteObjectVersion (as on AWS).
    selfAuth: true,
    handler: (ctx, input) => {
      ctx.authorize(
        input.VersionId !== undefined ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
        objectArn(input),
      );
      const b = bucketOf(ctx, input);
      const key = input.Key ?? '';
      if (input.BypassGovernanceRetention !== undefined && !b.objectLock)
        throw invalidArgument(
          'x-amz-bypass-governance-retention is only applicable to Object Lock enabled buckets.',
          'x-amz-bypass-governance-retention',
        );
      const h = history(b);
      if (!h) {
        // Never versioned: the object simply goes (deleting a missing key succeeds too).
        if (input.VersionId === undefined || input.VersionId === 'null') b.objects.delete(key);
        return {};
      }
      const list = h.get(key) ?? [];
      if (input.VersionId === undefined) {
        // A simple delete only puts a delete marker on top, locked or not. While suspended the
        // marker is the "null" version and replaces the one there was.
        let versionId = newVersionId();
        if (b.versioning === 'Suspended') {
          versionId = 'null';
          const i = list.findIndex((v) => vid(v) === 'null');
          const prior = list[i];
          if (prior && !isMarker(prior)) assertUnlocked(ctx, input, prior);
          if (i >= 0) list.splice(i, 1);
        }
        list.push({ deleteMarker: true, versionId, lastModified: ctx.now });
        h.set(key, list);
        b.objects.delete(key);
        return { DeleteMarker: true, VersionId: versionId };
      }
      const i = list.findIndex((v) => vid(v) === input.VersionId);
      const v = list[i];
      if (!v) return {}; // as on S3: deleting a version that is not there succeeds
      if (!isMarker(v)) assertUnlocked(ctx, input, v);
      list.splice(i, 1);
      syncCurrent(b, key);
      return isMarker(v) ? { DeleteMarker: true, VersionId: v.versionId } : { VersionId: vid(v) };
    },
  }),
  ListObjectVersions: op<sdk.ListObjectVersionsRequest, sdk.ListObjectVersionsOutput>({
    schema: s(sdk.ListObjectVersions$),
    action: 's3:ListBucketVersions',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      const prefix = input.Prefix ?? '';
      const requested = input.MaxKeys ?? 1000;
      if (!Number.isInteger(requested) || requested < 0)
        throw invalidArgument(
          'Argument max-keys must be an integer between 0 and 2147483647',
          'max-keys',
          String(requested),
        );
      const max = Math.min(requested, 1000);
      const keyMarker = input.KeyMarker ?? '';
      const versionIdMarker = input.VersionIdMarker;
      if (versionIdMarker !== undefined && versionIdMarker !== '' && !keyMarker)
        throw invalidArgument(
          'A version-id marker cannot be specified without a key marker.',
          'version-id-marker',
          versionIdMarker,
        );
      // A bucket that was never versioned lists its objects as their "null" versions.
      const all =
        history(b) ?? new Map([...b.objects].map(([k, o]): [string, S3Version[]] => [k, [o]]));
      const keys = [...all.keys()]
        .filter((k) => k.startsWith(prefix) && k >= keyMarker && all.get(k)!.length)
        .sort();
      const versions: sdk.ObjectVersion[] = [];
      const markers: sdk.DeleteMarkerEntry[] = [];
      const prefixes: string[] = [];
      const owner = { ID: b.ownerId };
      let count = 0;
      let truncated = false;
      let nextKey: string | undefined;
      let nextVersion: string | undefined;
      outer: for (const k of keys) {
        const list = all.get(k)!;
        let newestFirst = [...list].reverse();
        if (k === keyMarker) {
          if (!versionIdMarker) continue;
          const i = newestFirst.findIndex((v) => vid(v) === versionIdMarker);
          if (i < 0)
            throw invalidArgument(
              'Invalid version id specified',
              'version-id-marker',
              versionIdMarker,
            );
          newestFirst = newestFirst.slice(i + 1);
        }
        if (input.Delimiter) {
          const rest = k.slice(prefix.length);
          const j = rest.indexOf(input.Delimiter);
          if (j >= 0) {
            const p = prefix + rest.slice(0, j + input.Delimiter.length);
            // Rolled up already (on this page, or on an earlier one when the marker is in it).
            if (prefixes[prefixes.length - 1] === p || keyMarker.startsWith(p)) continue;
            if (count >= max) {
              truncated = max > 0;
              break;
            }
            prefixes.push(p);
            count++;
            nextKey = p;
            nextVersion = undefined;
            continue;
          }
        }
        const latest = list[list.length - 1];
        for (const v of newestFirst) {
          if (count >= max) {
            truncated = max > 0;
            break outer;
          }
          const common = {
            Key: k,
            VersionId: vid(v),
            IsLatest: v === latest,
            LastModified: date(v.lastModified),
            Owner: owner,
          };
          if (isMarker(v)) markers.push(common);
          else
            versions.push({
              ...common,
              ETag: v.etag,
              Size: v.body.length,
              StorageClass: 'STANDARD',
            });
          count++;
          nextKey = k;
          nextVersion = vid(v);
        }
      }
      return {
        Name: b.name,
        Prefix: prefix,
        Delimiter: input.Delimiter,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker ?? '',
        MaxKeys: max,
        IsTruncated: truncated,
        NextKeyMarker: truncated ? nextKey : undefined,
        NextVersionIdMarker: truncated ? nextVersion : undefined,
        Versions: versions.length ? versions : undefined,
        DeleteMarkers: markers.length ? markers : undefined,
        CommonPrefixes: prefixes.length ? prefixes.map((p) => ({ Prefix: p })) : undefined,
      };
    },
  }),
  GetObjectLockConfiguration: op<
    sdk.GetObjectLockConfigurationRequest,
    sdk.GetObjectLockConfigurationOutput
  >({
    schema: s(sdk.GetObjectLockConfiguration$),
    action: 's3:GetBucketObjectLockConfiguration',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.objectLock)
        throw new AwsError(
          'ObjectLockConfigurationNotFoundError',
          'Object Lock configuration does not exist for this bucket',
          404,
          { BucketName: b.name },
        );
      const r = b.objectLock.rule;
      return {
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: r
            ? { DefaultRetention: { Mode: r.mode, Days: r.days, Years: r.years } }
            : undefined,
        },
      };
    },
  }),
  PutObjectLockConfiguration: op<sdk.PutObjectLockConfigurationRequest, Record<string, never>>({
    schema: s(sdk.PutObjectLockConfiguration$),
    action: 's3:PutBucketObjectLockConfiguration',
    resource: bucketArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      const c = input.ObjectLockConfiguration;
      if (!c || c.ObjectLockEnabled !== 'Enabled') throw malformedXml();
      let rule: NonNullable<Bucket['objectLock']>['rule'];
      if (c.Rule !== undefined) {
        const d = c.Rule.DefaultRetention;
        const mode: string | undefined = d?.Mode;
        if (!d || !isLockMode(mode) || (d.Days === undefined) === (d.Years === undefined))
          throw malformedXml();
        const [name, n, most] =
          d.Days !== undefined ? ['Days', d.Days, 36_500] : ['Years', d.Years!, 100];
        if (!Number.isInteger(n) || n <= 0)
          throw invalidArgument(
            'Default retention period must be a positive integer value.',
            name,
            String(n),
          );
        if (n > most) throw invalidArgument('Default retention period too large.', name, String(n));
        rule = d.Days !== undefined ? { mode, days: n } : { mode, years: n };
      }
      // Object Lock can be turned on for an existing bucket (since November 2023) once its
      // versioning is Enabled; it can never be turned off.
      if (!b.objectLock && b.versioning !== 'Enabled')
        throw new AwsError(
          'InvalidBucketState',
          "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
          409,
          { BucketName: b.name },
        );
      history(b);
      b.objectLock = rule ? { rule } : {};
      return {};
    },
  }),
  GetObjectRetention: op<sdk.GetObjectRetentionRequest, sdk.GetObjectRetentionOutput>({
    schema: s(sdk.GetObjectRetention$),
    action: 's3:GetObjectRetention',
    resource: objectArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.objectLock) throw missingLockConfig();
      const o = targetObject(b, input, 'GET');
      if (!o.retention) throw noObjectLock();
      return {
        Retention: { Mode: o.retention.mode, RetainUntilDate: new Date(o.retention.until) },
      };
    },
  }),
  PutObjectRetention: op<sdk.PutObjectRetentionRequest, sdk.PutObjectRetentionOutput>({
    schema: s(sdk.PutObjectRetention$),
    action: 's3:PutObjectRetention',
    resource: objectArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.objectLock) throw missingLockConfig();
      const mode: string | undefined = input.Retention?.Mode;
      const until = input.Retention?.RetainUntilDate;
      // Both, or neither (which removes the retention).
      if ((mode === undefined) !== (until === undefined)) throw malformedXml();
      if (mode !== undefined && !isLockMode(mode)) throw malformedXml();
      if (until !== undefined && until.getTime() <= ctx.now)
        throw invalidArgument(
          'The retain until date must be in the future!',
          'RetainUntilDate',
          until.toISOString(),
        );
      const o = targetObject(b, input, 'PUT');
      const next = isLockMode(mode) && until ? { mode, until: until.getTime() } : undefined;
      const cur = o.retention;
      if (cur && cur.until > ctx.now) {
        // Anyone allowed to set retention may extend it in the same mode; anything else (shorten,
        // remove, change mode) needs a GOVERNANCE lock and the bypass, and is never allowed
        // under COMPLIANCE.
        const extends_ = next !== undefined && next.mode === cur.mode && next.until >= cur.until;
        if (!extends_) {
          if (cur.mode === 'COMPLIANCE' || !input.BypassGovernanceRetention) throw lockDenied();
          ctx.authorize('s3:BypassGovernanceRetention', objectArn(input));
        }
      }
      if (next) o.retention = next;
      else delete o.retention;
      return {};
    },
  }),
  GetObjectLegalHold: op<sdk.GetObjectLegalHoldRequest, sdk.GetObjectLegalHoldOutput>({
    schema: s(sdk.GetObjectLegalHold$),
    action: 's3:GetObjectLegalHold',
    resource: objectArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.objectLock) throw missingLockConfig();
      const o = targetObject(b, input, 'GET');
      if (o.legalHold === undefined) throw noObjectLock();
      return { LegalHold: { Status: o.legalHold ? 'ON' : 'OFF' } };
    },
  }),
  PutObjectLegalHold: op<sdk.PutObjectLegalHoldRequest, sdk.PutObjectLegalHoldOutput>({
    schema: s(sdk.PutObjectLegalHold$),
    action: 's3:PutObjectLegalHold',
    resource: objectArn,
    handler: (ctx, input) => {
      const b = bucketOf(ctx, input);
      if (!b.objectLock) throw missingLockConfig();
      const st: string | undefined = input.LegalHold?.Status;
      if (st !== 'ON' && st !== 'OFF') throw malformedXml();
      targetObject(b, input, 'PUT').legalHold = st === 'ON';
      return {};
    },
  }),
};

export const s3Service: ServiceDef = {
  signingName: 's3',
  name: 's3',
  protocol: 'restxml',
  actionPrefix: 's3',
  ops,
  precheck: (ctx, operation, input) => {
    if (operation === 'ListBuckets' || operation === 'CreateBucket') return;
    const name = (input as { Bucket?: string }).Bucket;
    const found = findBucket(ctx, name);
    if (!found) throw noSuchBucket(name ?? '');
    if (
      operation !== 'GetBucketLocation' &&
      operation !== 'HeadBucket' &&
      found.bucket.region !== ctx.region
    )
      throw new AwsError(
        'AuthorizationHeaderMalformed',
        `The authorization header is malformed; the region '${ctx.region}' is wrong; expecting '${found.bucket.region}'`,
        400,
        { Region: found.bucket.region, 'header:x-amz-bucket-region': found.bucket.region },
      );
  },
  resourcePolicy: (ctx) => {
    const found = findBucket(ctx, (ctx as BucketCtx).bucket);
    if (!found?.bucket.policy)
      return found && found.owner.id !== ctx.account.id
        ? { doc: { Statement: [] }, ownerAccountId: found.owner.id }
        : undefined;
    const doc = ctx.engine.parsePolicyCached(found.bucket.policy);
    return doc ? { doc, ownerAccountId: found.owner.id } : undefined;
  },
};

// ---------- S3 Control ----------
function checkAccount(ctx: Ctx, id: string | undefined): void {
  if (!id) throw new AwsError('InvalidRequest', 'Missing required header x-amz-account-id', 400);
  if (id !== ctx.account.id) throw new AwsError('AccessDenied', 'Access Denied', 403);
}

const controlOps: Record<string, AnyOp> = {
  GetPublicAccessBlock: op<ctl.GetPublicAccessBlockRequest, ctl.GetPublicAccessBlockOutput>({
    schema: s(ctl.GetPublicAccessBlock$),
    action: 's3:GetAccountPublicAccessBlock',
    handler: (ctx, input) => {
      checkAccount(ctx, input.AccountId);
      const p = ctx.account.s3.accountPublicAccessBlock;
      if (!p)
        throw new AwsError(
          'NoSuchPublicAccessBlockConfiguration',
          'The public access block configuration was not found',
          404,
          { AccountId: ctx.account.id },
        );
      return { PublicAccessBlockConfiguration: { ...p } };
    },
  }),
  PutPublicAccessBlock: op<ctl.PutPublicAccessBlockRequest, Record<string, never>>({
    schema: s(ctl.PutPublicAccessBlock$),
    action: 's3:PutAccountPublicAccessBlock',
    handler: (ctx, input) => {
      checkAccount(ctx, input.AccountId);
      if (!input.PublicAccessBlockConfiguration)
        throw new AwsError('MissingRequestBodyError', 'Request Body is empty', 400);
      ctx.account.s3.accountPublicAccessBlock = pabFrom(input.PublicAccessBlockConfiguration);
      return {};
    },
  }),
  DeletePublicAccessBlock: op<ctl.DeletePublicAccessBlockRequest, Record<string, never>>({
    schema: s(ctl.DeletePublicAccessBlock$),
    action: 's3:PutAccountPublicAccessBlock',
    handler: (ctx, input) => {
      checkAccount(ctx, input.AccountId);
      delete ctx.account.s3.accountPublicAccessBlock;
      return {};
    },
  }),
};

export const s3ControlService: ServiceDef = {
  signingName: 's3',
  name: 's3control',
  protocol: 'restxml',
  actionPrefix: 's3',
  ops: controlOps,
};
