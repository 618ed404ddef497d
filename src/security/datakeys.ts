// Envelope encryption of an organization's sensitive values (DESIGN.md invariant 13): each
// organization has one AES-256 data key, stored in the database only wrapped by a key-encryption key
// (the local key file, the installation's AWS KMS key, or an enterprise organization's own KMS key).
// Values are sealed here, in the application, with AES-256-GCM and a context bound as associated
// data; the database stores ciphertexts and never sees the plaintexts.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Api, Caller } from '../db/api.js';
import { AppError } from '../errors.js';
import type { KekProvider } from './kek.js';
import type { KekRing } from './kms.js';

const MAGIC = Buffer.from('AXD1');

export interface WrappedDataKey {
  id: string;
  kek_id: string;
  key_check: string;
  wrapped: string;
  created_at: string;
}

interface DataKeyInfo {
  organization_id: string;
  data_key: WrappedDataKey | null;
  kms_key_arn: string | null;
  plan_tier: string;
}

/** HMAC of a fixed label under the key: lets the database check a re-wrap holds the same key. */
export function keyCheck(key: Buffer): string {
  return createHmac('sha256', key)
    .update('axiom data key check v1')
    .digest()
    .subarray(0, 16)
    .toString('hex');
}

export function sealWith(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), ct]);
}

export function openWith(key: Buffer, sealed: Buffer, context: string): Buffer {
  if (sealed.length < 33 || !sealed.subarray(0, 4).equals(MAGIC))
    throw new AppError('internal', 'a sealed value is malformed', { reason: 'sealed_malformed' });
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(4, 16));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(sealed.subarray(16, 32));
  return Buffer.concat([decipher.update(sealed.subarray(32)), decipher.final()]);
}

const wrapContext = (organizationId: string): string => `axiom-data-key:${organizationId}`;

/**
 * The data keys of the organizations this process works for. Unwrapped keys are cached in memory by
 * (organization, key check) only; a re-wrap under another KEK does not change the key, so readers go
 * on during a KEK rotation.
 */
export class DataKeys {
  private readonly cache = new Map<string, { id: string; key: Buffer }>();

  constructor(
    private readonly api: Api,
    readonly keks: KekRing,
  ) {}

  /** The KEK that wraps this organization's data key: its own KMS key, or the installation's. */
  private kekFor(info: DataKeyInfo): KekProvider {
    return info.kms_key_arn ? this.keks.forKmsKey(info.kms_key_arn) : this.keks.current;
  }

  /** The organization's data key (created on first use). */
  async key(caller: Caller, organizationId: string): Promise<{ id: string; key: Buffer }> {
    const cached = this.cache.get(organizationId);
    if (cached) return cached;
    let info = await this.api.call<DataKeyInfo>('data_key_get', caller);
    if (!info.data_key) {
      const key = randomBytes(32);
      const { wrapped, kekId } = await this.kekFor(info).wrap(key, wrapContext(organizationId));
      try {
        await this.api.call(
          'data_key_create',
          caller,
          wrapped.toString('base64'),
          kekId,
          keyCheck(key),
        );
      } catch (e) {
        // A concurrent first use created it: read that one.
        if (!(e instanceof AppError && e.code === 'conflict')) throw e;
      }
      info = await this.api.call<DataKeyInfo>('data_key_get', caller);
    }
    const dk = info.data_key!;
    const key = await this.keks.unwrap(
      Buffer.from(dk.wrapped, 'base64'),
      dk.kek_id,
      wrapContext(organizationId),
    );
    if (keyCheck(key) !== dk.key_check)
      throw new AppError('internal', 'the data key does not match its check value', {
        reason: 'data_key_mismatch',
      });
    const entry = { id: dk.id, key };
    this.cache.set(organizationId, entry);
    return entry;
  }

  async seal(
    caller: Caller,
    organizationId: string,
    plaintext: string,
    context: string,
  ): Promise<{ sealed: string; dataKeyId: string }> {
    const { id, key } = await this.key(caller, organizationId);
    return {
      sealed: sealWith(key, Buffer.from(plaintext, 'utf8'), context).toString('base64'),
      dataKeyId: id,
    };
  }

  async open(
    caller: Caller,
    organizationId: string,
    sealedBase64: string,
    context: string,
  ): Promise<string> {
    const { key } = await this.key(caller, organizationId);
    try {
      return openWith(key, Buffer.from(sealedBase64, 'base64'), context).toString('utf8');
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('internal', 'a sealed value could not be opened', {
        reason: 'sealed_unreadable',
        cause: e,
      });
    }
  }

  /** The caller's organization (the HTTP layer knows only the session). */
  async organizationOf(caller: Caller): Promise<string> {
    return (await this.api.call<DataKeyInfo>('data_key_get', caller)).organization_id;
  }

  /** Forget cached keys (tests; after a re-wrap nothing needs forgetting: the key is the same). */
  forget(organizationId?: string): void {
    if (organizationId) this.cache.delete(organizationId);
    else this.cache.clear();
  }

  /**
   * Re-wrap the organization's data key under the current KEK (or its own KMS key). Readers are not
   * interrupted: the key itself does not change, and the old KEK keeps unwrapping until every
   * organization is done. Returns the new kek id, or null when nothing had to change.
   */
  async rewrap(caller: Caller, organizationId: string): Promise<string | null> {
    const info = await this.api.call<DataKeyInfo>('data_key_get', caller);
    const dk = info.data_key;
    if (!dk) return null;
    const target = this.kekFor(info);
    if (dk.kek_id === target.currentKekId) return null;
    const key = await this.keks.unwrap(
      Buffer.from(dk.wrapped, 'base64'),
      dk.kek_id,
      wrapContext(organizationId),
    );
    const { wrapped, kekId } = await target.wrap(key, wrapContext(organizationId));
    await this.api.call(
      'data_key_rewrap',
      caller,
      dk.id,
      wrapped.toString('base64'),
      kekId,
      keyCheck(key),
    );
    return kekId;
  }

  /** Enterprise only (the database refuses other plans): the organization's own KMS key wraps its data key. */
  async setOrganizationKmsKey(
    caller: Caller,
    organizationId: string,
    keyArn: string,
  ): Promise<void> {
    const { key } = await this.key(caller, organizationId);
    const info = await this.api.call<DataKeyInfo>('data_key_get', caller);
    const { wrapped } = await this.keks.forKmsKey(keyArn).wrap(key, wrapContext(organizationId));
    await this.api.call(
      'organization_kms_key_set',
      caller,
      keyArn,
      info.data_key!.id,
      wrapped.toString('base64'),
      keyCheck(key),
    );
  }
}
