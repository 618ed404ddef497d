// The AWS KMS key-encryption-key provider (DESIGN.md invariant 13): data keys are wrapped with
// KMS Encrypt under a KMS key and unwrapped with Decrypt; the context is bound as the KMS encryption
// context, so a wrapped key cannot be moved to another organization. The key material never leaves KMS.
import {
  DecryptCommand,
  EncryptCommand,
  KMSClient,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import { KeyUnavailableError, type KekProvider } from './kek.js';

export const KMS_KEK_PREFIX = 'kms:';

const keyArnPattern =
  /^arn:aws[a-z-]*:kms:([a-z0-9-]+):[0-9]{12}:(key|alias)\/[A-Za-z0-9/_-]{1,256}$/;

export function isKmsKeyArn(arn: string): boolean {
  return keyArnPattern.test(arn);
}

export class KmsKek implements KekProvider {
  readonly currentKekId: string;
  private readonly client: KMSClient;

  /**
   * `keyArn` is the full ARN of the KMS key (its region is taken from it). `clientConfig` adds the
   * endpoint (AWS_ENDPOINT_URL) and, outside production, explicit credentials; by default the SDK's
   * default credential chain is used.
   */
  constructor(
    readonly keyArn: string,
    clientConfig: Omit<KMSClientConfig, 'region'> = {},
  ) {
    const m = keyArnPattern.exec(keyArn);
    if (!m) throw new KeyUnavailableError('the KMS key must be given as a key ARN');
    this.currentKekId = KMS_KEK_PREFIX + keyArn;
    this.client = new KMSClient({ ...clientConfig, region: m[1]! });
  }

  async wrap(plaintext: Buffer, context: string): Promise<{ wrapped: Buffer; kekId: string }> {
    try {
      const out = await this.client.send(
        new EncryptCommand({
          KeyId: this.keyArn,
          Plaintext: plaintext,
          EncryptionContext: { axiom: context },
        }),
      );
      if (!out.CiphertextBlob) throw new Error('KMS returned no ciphertext');
      return { wrapped: Buffer.from(out.CiphertextBlob), kekId: this.currentKekId };
    } catch (e) {
      throw new KeyUnavailableError(`KMS key ${this.keyArn} could not wrap: ${(e as Error).name}`, {
        cause: e,
      });
    }
  }

  async unwrap(wrapped: Buffer, kekId: string, context: string): Promise<Buffer> {
    if (kekId !== this.currentKekId)
      throw new KeyUnavailableError(`${kekId} is not the KMS key ${this.keyArn}`);
    try {
      const out = await this.client.send(
        new DecryptCommand({
          KeyId: this.keyArn,
          CiphertextBlob: wrapped,
          EncryptionContext: { axiom: context },
        }),
      );
      if (!out.Plaintext) throw new Error('KMS returned no plaintext');
      return Buffer.from(out.Plaintext);
    } catch (e) {
      throw new KeyUnavailableError(
        `KMS key ${this.keyArn} could not unwrap: ${(e as Error).name}`,
        { cause: e },
      );
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}

/**
 * Several key-encryption keys at once: `current` wraps new data keys; any known provider unwraps
 * (chosen by the kek id's prefix), so data keys wrapped by an older or another KEK stay readable while
 * they are re-wrapped. Customer-managed KMS keys (enterprise organizations) are created on demand.
 */
export class KekRing implements KekProvider {
  private readonly kms = new Map<string, KmsKek>();

  constructor(
    public current: KekProvider,
    private readonly others: KekProvider[] = [],
    private readonly kmsClientConfig: Omit<KMSClientConfig, 'region'> = {},
  ) {}

  get currentKekId(): string {
    return this.current.currentKekId;
  }

  /** The provider of a customer-managed KMS key (wraps with that key). */
  forKmsKey(keyArn: string): KmsKek {
    let p = this.kms.get(keyArn);
    if (!p) {
      p = new KmsKek(keyArn, this.kmsClientConfig);
      this.kms.set(keyArn, p);
    }
    return p;
  }

  /** Make `next` the KEK for new wraps; the previous one keeps unwrapping. */
  rotateTo(next: KekProvider): void {
    this.others.push(this.current);
    this.current = next;
  }

  wrap(plaintext: Buffer, context: string): Promise<{ wrapped: Buffer; kekId: string }> {
    return this.current.wrap(plaintext, context);
  }

  async unwrap(wrapped: Buffer, kekId: string, context: string): Promise<Buffer> {
    if (kekId.startsWith(KMS_KEK_PREFIX)) {
      const own = [this.current, ...this.others].find((p) => p.currentKekId === kekId);
      if (own) return await own.unwrap(wrapped, kekId, context);
      return await this.forKmsKey(kekId.slice(KMS_KEK_PREFIX.length)).unwrap(
        wrapped,
        kekId,
        context,
      );
    }
    let last: unknown;
    for (const p of [this.current, ...this.others]) {
      if (p.currentKekId.startsWith(KMS_KEK_PREFIX)) continue;
      try {
        return await p.unwrap(wrapped, kekId, context);
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new KeyUnavailableError(`no key-encryption key ${kekId}`);
  }
}
