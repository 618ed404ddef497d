// KMS (JSON 1.1): keys, rotation, and real envelope encryption — AES-256-GCM with key material
// that never leaves the sandbox. A ciphertext blob carries its key id, so Decrypt finds the key.
import crypto from 'node:crypto';
import * as sdk from '@aws-sdk/client-kms';
import { AwsError } from '../errors.js';
import { op, type Ctx, type AnyOp, type ServiceDef } from '../framework.js';
import { uuid } from '../ids.js';
import type { OperationSchema } from '../protocols/serde.js';
import type { KmsKey } from '../state.js';
import { date, page, req } from '../util.js';

const s = (x: unknown): OperationSchema => x as OperationSchema;
const MAGIC = Buffer.from('SBX1');

const notFound = (id: string, ctx: Ctx): AwsError =>
  new AwsError(
    'NotFoundException',
    `Key '${id.startsWith('arn:') ? id : `arn:aws:kms:${ctx.region}:${ctx.account.id}:key/${id}`}' does not exist`,
  );

export function findKey(ctx: Ctx, keyId: string | undefined): KmsKey {
  const id = keyId ?? '';
  const keys = ctx.regionState.kms;
  let k: KmsKey | undefined;
  if (id.startsWith('alias/') || id.includes(':alias/')) {
    const alias = id.slice(id.indexOf('alias/'));
    k = [...keys.values()].find((x) => x.aliases.includes(alias));
    if (!k)
      throw new AwsError(
        'NotFoundException',
        `Alias ${id.startsWith('arn:') ? id : `arn:aws:kms:${ctx.region}:${ctx.account.id}:${alias}`} is not found.`,
      );
  } else {
    const bare = id.startsWith('arn:') ? id.slice(id.lastIndexOf('/') + 1) : id;
    k = keys.get(bare);
    if (!k || (id.startsWith('arn:') && k.arn !== id)) throw notFound(id, ctx);
  }
  return k;
}

function metadata(ctx: Ctx, k: KmsKey): sdk.KeyMetadata {
  return {
    AWSAccountId: ctx.account.id,
    KeyId: k.id,
    Arn: k.arn,
    CreationDate: date(k.creationDate),
    Enabled: k.state === 'Enabled',
    Description: k.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: k.state,
    Origin: 'AWS_KMS',
    KeyManager: k.manager,
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
  };
}

function usable(k: KmsKey): void {
  if (k.state === 'Disabled') throw new AwsError('DisabledException', `${k.arn} is disabled.`);
  if (k.state === 'PendingDeletion')
    throw new AwsError('KMSInvalidStateException', `${k.arn} is pending deletion.`);
}

function aad(k: KmsKey, context: Record<string, string> | undefined): Buffer {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return Buffer.from(`${k.arn}\n${JSON.stringify(entries)}`);
}

function encrypt(k: KmsKey, plaintext: Buffer, context?: Record<string, string>): Buffer {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', k.material, iv);
  cipher.setAAD(aad(k, context));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([MAGIC, Buffer.from(k.id, 'ascii'), iv, cipher.getAuthTag(), ct]);
}

function decrypt(
  ctx: Ctx,
  blob: Buffer,
  context: Record<string, string> | undefined,
  expectedKey?: string,
): { key: KmsKey; plaintext: Buffer } {
  const invalid = () => new AwsError('InvalidCiphertextException', '');
  if (blob.length < 4 + 36 + 12 + 16 || !blob.subarray(0, 4).equals(MAGIC)) throw invalid();
  const keyId = blob.subarray(4, 40).toString('ascii');
  const key = ctx.regionState.kms.get(keyId);
  if (!key) throw invalid();
  if (expectedKey !== undefined && findKey(ctx, expectedKey).id !== key.id)
    throw new AwsError(
      'IncorrectKeyException',
      'The key ID in the request does not identify a CMK that can perform this operation.',
    );
  usable(key);
  const iv = blob.subarray(40, 52);
  const tag = blob.subarray(52, 68);
  try {
    const d = crypto.createDecipheriv('aes-256-gcm', key.material, iv);
    d.setAAD(aad(key, context));
    d.setAuthTag(tag);
    return { key, plaintext: Buffer.concat([d.update(blob.subarray(68)), d.final()]) };
  } catch {
    throw invalid();
  }
}

const keyArn = (i: { KeyId?: string }, ctx: Ctx): string => {
  try {
    return findKey(ctx, i.KeyId).arn;
  } catch {
    return `arn:aws:kms:${ctx.region}:${ctx.account.id}:key/${i.KeyId ?? '*'}`;
  }
};

export function newKey(
  accountId: string,
  region: string,
  opts: {
    id?: string;
    description?: string;
    manager?: 'CUSTOMER' | 'AWS';
    rotation?: boolean;
    creationDate: number;
    material?: Buffer;
  },
): KmsKey {
  const id = opts.id ?? uuid();
  return {
    id,
    arn: `arn:aws:kms:${region}:${accountId}:key/${id}`,
    description: opts.description ?? '',
    state: 'Enabled',
    manager: opts.manager ?? 'CUSTOMER',
    creationDate: opts.creationDate,
    rotationEnabled: opts.rotation ?? false,
    rotationPeriodDays: 365,
    material: opts.material ?? crypto.randomBytes(32),
    aliases: [],
    tags: [],
  };
}

const ops: Record<string, AnyOp> = {
  CreateKey: op<sdk.CreateKeyRequest, sdk.CreateKeyResponse>({
    schema: s(sdk.CreateKey$),
    handler: (ctx, input) => {
      if (input.KeySpec && input.KeySpec !== 'SYMMETRIC_DEFAULT')
        throw new AwsError(
          'UnsupportedOperationException',
          `KeySpec ${input.KeySpec} is not supported by the sandbox.`,
        );
      const k = newKey(ctx.account.id, ctx.region, {
        description: input.Description,
        creationDate: ctx.now,
      });
      k.tags = (input.Tags ?? []).map((t) => ({ Key: t.TagKey ?? '', Value: t.TagValue ?? '' }));
      ctx.regionState.kms.set(k.id, k);
      return { KeyMetadata: metadata(ctx, k) };
    },
  }),
  ListKeys: op<sdk.ListKeysRequest, sdk.ListKeysResponse>({
    schema: s(sdk.ListKeys$),
    handler: (ctx, input) => {
      const limit = input.Limit ?? 100;
      if (limit < 1 || limit > 1000)
        throw new AwsError(
          'ValidationException',
          "1 validation error detected: Value at 'limit' failed to satisfy constraint",
        );
      const p = page(
        [...ctx.regionState.kms.values()],
        input.Marker,
        limit,
        `kms:${ctx.region}`,
        () => new AwsError('InvalidMarkerException', 'Invalid marker'),
      );
      return {
        Keys: p.items.map((k) => ({ KeyId: k.id, KeyArn: k.arn })),
        Truncated: !!p.next,
        NextMarker: p.next,
      };
    },
  }),
  ListAliases: op<sdk.ListAliasesRequest, sdk.ListAliasesResponse>({
    schema: s(sdk.ListAliases$),
    handler: (ctx) => ({
      Aliases: [...ctx.regionState.kms.values()].flatMap((k) =>
        k.aliases.map((a) => ({
          AliasName: a,
          AliasArn: `arn:aws:kms:${ctx.region}:${ctx.account.id}:${a}`,
          TargetKeyId: k.id,
        })),
      ),
      Truncated: false,
    }),
  }),
  DescribeKey: op<sdk.DescribeKeyRequest, sdk.DescribeKeyResponse>({
    schema: s(sdk.DescribeKey$),
    resource: keyArn,
    handler: (ctx, input) => ({
      KeyMetadata: metadata(ctx, findKey(ctx, req(ctx, input, 'KeyId'))),
    }),
  }),
  GetKeyRotationStatus: op<sdk.GetKeyRotationStatusRequest, sdk.GetKeyRotationStatusResponse>({
    schema: s(sdk.GetKeyRotationStatus$),
    resource: keyArn,
    handler: (ctx, input) => {
      const k = findKey(ctx, req(ctx, input, 'KeyId'));
      return {
        KeyRotationEnabled: k.rotationEnabled,
        KeyId: k.id,
        RotationPeriodInDays: k.rotationEnabled ? k.rotationPeriodDays : undefined,
        NextRotationDate: k.rotationEnabled
          ? date(k.creationDate + k.rotationPeriodDays * 86400000)
          : undefined,
      };
    },
  }),
  EnableKeyRotation: op<sdk.EnableKeyRotationRequest, Record<string, never>>({
    schema: s(sdk.EnableKeyRotation$),
    resource: keyArn,
    handler: (ctx, input) => {
      const k = findKey(ctx, req(ctx, input, 'KeyId'));
      if (k.manager === 'AWS')
        throw new AwsError(
          'AccessDeniedException',
          'You cannot change the rotation of an AWS managed key.',
        );
      usable(k);
      const days = input.RotationPeriodInDays ?? 365;
      if (days < 90 || days > 2560)
        throw new AwsError(
          'ValidationException',
          'RotationPeriodInDays must be between 90 and 2560.',
        );
      k.rotationEnabled = true;
      k.rotationPeriodDays = days;
      return {};
    },
  }),
  DisableKeyRotation: op<sdk.DisableKeyRotationRequest, Record<string, never>>({
    schema: s(sdk.DisableKeyRotation$),
    resource: keyArn,
    handler: (ctx, input) => {
      const k = findKey(ctx, req(ctx, input, 'KeyId'));
      if (k.manager === 'AWS')
        throw new AwsError(
          'AccessDeniedException',
          'You cannot change the rotation of an AWS managed key.',
        );
      usable(k);
      k.rotationEnabled = false;
      return {};
    },
  }),
  GenerateDataKey: op<sdk.GenerateDataKeyRequest, sdk.GenerateDataKeyResponse>({
    schema: s(sdk.GenerateDataKey$),
    resource: keyArn,
    handler: (ctx, input) => {
      const k = findKey(ctx, req(ctx, input, 'KeyId'));
      usable(k);
      let n = input.NumberOfBytes;
      if (input.KeySpec === 'AES_256') n = 32;
      else if (input.KeySpec === 'AES_128') n = 16;
      if (n === undefined)
        throw new AwsError(
          'ValidationException',
          'Please specify either number of bytes or key spec.',
        );
      if (n < 1 || n > 1024)
        throw new AwsError('ValidationException', 'NumberOfBytes must be between 1 and 1024.');
      const plaintext = crypto.randomBytes(n);
      return {
        CiphertextBlob: encrypt(k, plaintext, input.EncryptionContext),
        Plaintext: plaintext,
        KeyId: k.arn,
      };
    },
  }),
  Encrypt: op<sdk.EncryptRequest, sdk.EncryptResponse>({
    schema: s(sdk.Encrypt$),
    resource: keyArn,
    handler: (ctx, input) => {
      const k = findKey(ctx, req(ctx, input, 'KeyId'));
      usable(k);
      const pt = req<Uint8Array>(ctx, input, 'Plaintext');
      if (pt.length > 4096)
        throw new AwsError('ValidationException', 'Plaintext must be at most 4096 bytes.');
      return {
        CiphertextBlob: encrypt(k, Buffer.from(pt), input.EncryptionContext),
        KeyId: k.arn,
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
  }),
  Decrypt: op<sdk.DecryptRequest, sdk.DecryptResponse>({
    schema: s(sdk.Decrypt$),
    selfAuth: true,
    handler: (ctx, input) => {
      const blob = Buffer.from(req<Uint8Array>(ctx, input, 'CiphertextBlob'));
      const { key, plaintext } = decrypt(ctx, blob, input.EncryptionContext, input.KeyId);
      ctx.authorize('kms:Decrypt', key.arn);
      return { Plaintext: plaintext, KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
  }),
  ReEncrypt: op<sdk.ReEncryptRequest, sdk.ReEncryptResponse>({
    schema: s(sdk.ReEncrypt$),
    selfAuth: true,
    handler: (ctx, input) => {
      const blob = Buffer.from(req<Uint8Array>(ctx, input, 'CiphertextBlob'));
      const { key, plaintext } = decrypt(
        ctx,
        blob,
        input.SourceEncryptionContext,
        input.SourceKeyId,
      );
      ctx.authorize('kms:ReEncryptFrom', key.arn);
      const dest = findKey(ctx, req(ctx, input, 'DestinationKeyId'));
      ctx.authorize('kms:ReEncryptTo', dest.arn);
      usable(dest);
      return {
        CiphertextBlob: encrypt(dest, plaintext, input.DestinationEncryptionContext),
        SourceKeyId: key.arn,
        KeyId: dest.arn,
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
  }),
};

export const kmsService: ServiceDef = {
  signingName: 'kms',
  name: 'kms',
  protocol: 'json',
  jsonVersion: '1.1',
  targetPrefix: 'TrentService',
  actionPrefix: 'kms',
  ops,
};
