// Key-encryption keys (envelope encryption, DESIGN.md invariant 13). An organization's private key is
// wrapped by a KEK; the wrapped form is what the database stores. Providers: a local key file (the
// default) and, in the connections issue, AWS KMS. Every provider implements this interface.
import { createCipheriv, createDecipheriv, randomBytes, createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export interface KekProvider {
  /** Identifies the key that wraps new data (stored beside each wrapped key). */
  readonly currentKekId: string;
  wrap(plaintext: Buffer, context: string): Promise<{ wrapped: Buffer; kekId: string }>;
  unwrap(wrapped: Buffer, kekId: string, context: string): Promise<Buffer>;
}

export class KeyUnavailableError extends Error {
  override readonly name = 'KeyUnavailableError';
}

const fileSchema = z.object({
  version: z.literal(1),
  current: z.string(),
  keys: z.array(z.object({ id: z.string(), key: z.string(), created_at: z.string() })).min(1),
});
type KeyFile = z.infer<typeof fileSchema>;

const MAGIC = Buffer.from('AXK1');

/**
 * A local key file: AES-256-GCM keys, the newest used for wrapping, older ones kept for unwrapping
 * until every data key has been re-wrapped (`rotate` adds a key; nothing is ever removed here).
 */
export class LocalKeyFile implements KekProvider {
  private constructor(
    private readonly file: string,
    private data: KeyFile,
  ) {}

  static open(file: string, opts: { create?: boolean } = {}): LocalKeyFile {
    if (!fs.existsSync(file)) {
      if (!opts.create)
        throw new KeyUnavailableError(`the key-encryption key file ${file} does not exist`);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const first = LocalKeyFile.newKey();
      const data: KeyFile = { version: 1, current: first.id, keys: [first] };
      fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
      return new LocalKeyFile(file, data);
    }
    return new LocalKeyFile(file, fileSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8'))));
  }

  private static newKey(): KeyFile['keys'][number] {
    const key = randomBytes(32);
    const id = 'local:' + createHash('sha256').update(key).digest('hex').slice(0, 16);
    return { id, key: key.toString('base64'), created_at: new Date().toISOString() };
  }

  get currentKekId(): string {
    return this.data.current;
  }

  /** Add a new key and make it current. */
  rotate(): string {
    const k = LocalKeyFile.newKey();
    this.data = { ...this.data, current: k.id, keys: [...this.data.keys, k] };
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.data, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    return k.id;
  }

  private key(id: string): Buffer {
    const k = this.data.keys.find((x) => x.id === id);
    if (!k) throw new KeyUnavailableError(`key-encryption key ${id} is not in ${this.file}`);
    return Buffer.from(k.key, 'base64');
  }

  async wrap(plaintext: Buffer, context: string): Promise<{ wrapped: Buffer; kekId: string }> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.currentKekId), iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      wrapped: Buffer.concat([MAGIC, iv, cipher.getAuthTag(), ct]),
      kekId: this.currentKekId,
    };
  }

  async unwrap(wrapped: Buffer, kekId: string, context: string): Promise<Buffer> {
    if (wrapped.length < 32 || !wrapped.subarray(0, 4).equals(MAGIC))
      throw new KeyUnavailableError('not a wrapped key');
    const decipher = createDecipheriv('aes-256-gcm', this.key(kekId), wrapped.subarray(4, 16));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(wrapped.subarray(16, 32));
    return Buffer.concat([decipher.update(wrapped.subarray(32)), decipher.final()]);
  }
}
