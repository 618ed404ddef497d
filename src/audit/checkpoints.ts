// Signed checkpoints (issue 8, docs/hashing.md "Checkpoints"): the head (last seq and hash) of every lane
// of every event chain of an organization, with an RFC 6962 Merkle root over them, signed with an Ed25519
// key that never enters the database (a key file, mode 0600) and published where the database cannot
// rewrite it (append-only files in a directory, by default). A verifier holding the public key then
// detects a chain that was rewritten and re-hashed, or shortened, after a checkpoint covered it.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Api, Caller } from '../db/api.js';
import { Encoder } from '../security/canonical.js';

export const CHECKPOINT_FORMAT = 'axiom-checkpoint-v1';
export const SIGNED_FORMAT = 'axiom-signed-checkpoint-v1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const headSchema = z.object({
  table: z.enum(['audit.audit_events', 'audit.session_events', 'audit.signatures']),
  lane: z.number().int().min(0).max(15),
  seq: z.number().int().min(1),
  id: z.string().regex(uuidRe),
  hash: hex64,
});
export type ChainHead = z.infer<typeof headSchema>;

export const bodySchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  id: z.string().regex(uuidRe),
  organization_id: z.string().regex(uuidRe),
  created_at: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
  key_id: z.string().regex(/^[0-9a-f]{32}$/),
  heads: z.array(headSchema).max(48),
  root: hex64,
});
export type CheckpointBody = z.infer<typeof bodySchema>;

export const signedSchema = z.object({
  format: z.literal(SIGNED_FORMAT),
  key_id: z.string().regex(/^[0-9a-f]{32}$/),
  /** The exact JSON text that was signed (kept as text so its bytes survive any re-encoding). */
  body: z
    .string()
    .min(2)
    .max(64 * 1024),
  /** Ed25519 signature over the UTF-8 bytes of body, base64. */
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/),
});
export type SignedCheckpoint = z.infer<typeof signedSchema>;

// ---------------------------------------------------------------------------------------------
// The Merkle root (RFC 6962 §2.1): leaf = H(0x00 || data), node = H(0x01 || left || right), the split at
// the largest power of two smaller than n; the empty tree is H(""). Leaf data = the canonical encoding v1
// of (header 'axiom.checkpoint_head', table text, lane int4, seq int8, id uuid, hash bytea), heads sorted
// by table then lane.
// ---------------------------------------------------------------------------------------------
const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export function sortHeads(heads: ChainHead[]): ChainHead[] {
  return [...heads].sort((a, b) =>
    a.table !== b.table ? (a.table < b.table ? -1 : 1) : a.lane - b.lane,
  );
}

export function merkleRoot(heads: ChainHead[]): string {
  const enc = new Encoder(256);
  const leaves = sortHeads(heads).map((h) => {
    enc
      .reset()
      .header('axiom.checkpoint_head')
      .field('text', h.table)
      .field('int4', h.lane)
      .field('int8', h.seq)
      .field('uuid', h.id)
      .field('bytea', h.hash);
    return sha256(Buffer.from([0]), Buffer.from(enc.bytes()));
  });
  const mth = (xs: Buffer[]): Buffer => {
    if (xs.length === 0) return sha256();
    if (xs.length === 1) return xs[0]!;
    let k = 1;
    while (k * 2 < xs.length) k *= 2;
    return sha256(Buffer.from([1]), mth(xs.slice(0, k)), mth(xs.slice(k)));
  };
  return mth(leaves).toString('hex');
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------
/** The id of a public key: the first 16 bytes of sha256 over its SubjectPublicKeyInfo (DER), in hex. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 32);
}

export class CheckpointKeyError extends Error {
  override readonly name = 'CheckpointKeyError';
}

/** The installation's checkpoint signing key: an Ed25519 private key in a PEM file, mode 0600. */
export class CheckpointKey {
  readonly keyId: string;
  readonly publicKey: KeyObject;

  private constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
    this.keyId = keyIdOf(this.publicKey);
  }

  static open(file: string, opts: { create?: boolean } = {}): CheckpointKey {
    if (!fs.existsSync(file)) {
      if (!opts.create)
        throw new CheckpointKeyError(`the checkpoint key file ${file} does not exist`);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const { privateKey } = generateKeyPairSync('ed25519');
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      // 'wx': never replace a key that appeared meanwhile.
      fs.writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
      return new CheckpointKey(privateKey);
    }
    const mode = fs.statSync(file).mode & 0o077;
    if (mode !== 0)
      throw new CheckpointKeyError(
        `the checkpoint key file ${file} is readable by others (chmod 600 it)`,
      );
    const key = createPrivateKey(fs.readFileSync(file, 'utf8'));
    if (key.asymmetricKeyType !== 'ed25519')
      throw new CheckpointKeyError(`${file} is not an Ed25519 private key`);
    return new CheckpointKey(key);
  }

  publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  }

  sign(body: CheckpointBody): SignedCheckpoint {
    const text = JSON.stringify(body);
    return {
      format: SIGNED_FORMAT,
      key_id: this.keyId,
      body: text,
      signature: sign(null, Buffer.from(text, 'utf8'), this.privateKey).toString('base64'),
    };
  }
}

/** Public keys that checkpoints may be signed with, by key id. */
export type TrustedKeys = Map<string, KeyObject>;

export function trustedKeys(pems: string[]): TrustedKeys {
  const m: TrustedKeys = new Map();
  for (const pem of pems) {
    const k = createPublicKey(pem);
    if (k.asymmetricKeyType !== 'ed25519')
      throw new CheckpointKeyError('not an Ed25519 public key');
    m.set(keyIdOf(k), k);
  }
  return m;
}

/**
 * Check a signed checkpoint: a key we trust, a valid signature over the exact body, a well-formed body
 * naming the same key, and a root that is the Merkle root of its heads. Answers the body, or why not.
 */
export function openCheckpoint(
  signed: unknown,
  keys: TrustedKeys,
): { ok: true; body: CheckpointBody } | { ok: false; reason: string; id?: string } {
  const s = signedSchema.safeParse(signed);
  if (!s.success) return { ok: false, reason: 'not a signed checkpoint' };
  let id: string | undefined;
  try {
    const maybe = JSON.parse(s.data.body) as { id?: unknown };
    if (typeof maybe.id === 'string' && uuidRe.test(maybe.id)) id = maybe.id;
  } catch {
    // reported below
  }
  const withId = <T extends { ok: false; reason: string }>(r: T): T & { id?: string } =>
    id ? { ...r, id } : r;
  const key = keys.get(s.data.key_id);
  if (!key) return withId({ ok: false, reason: `signed with an unknown key ${s.data.key_id}` });
  if (!verify(null, Buffer.from(s.data.body, 'utf8'), key, Buffer.from(s.data.signature, 'base64')))
    return withId({ ok: false, reason: 'the signature does not match the body' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(s.data.body);
  } catch {
    return withId({ ok: false, reason: 'the body is not JSON' });
  }
  const b = bodySchema.safeParse(parsed);
  if (!b.success) return withId({ ok: false, reason: 'the body is not a checkpoint' });
  if (b.data.key_id !== s.data.key_id)
    return withId({ ok: false, reason: 'the body names another key' });
  if (merkleRoot(b.data.heads) !== b.data.root)
    return withId({ ok: false, reason: 'the root is not the Merkle root of the heads' });
  return { ok: true, body: b.data };
}

// ---------------------------------------------------------------------------------------------
// Where checkpoints are published
// ---------------------------------------------------------------------------------------------
export interface CheckpointStore {
  /** Publish a checkpoint; never replaces one. Answers where it went. */
  publish(signed: SignedCheckpoint, body: CheckpointBody): Promise<string>;
  /** Every checkpoint published for an organization, oldest first. */
  list(organizationId: string): Promise<SignedCheckpoint[]>;
  /** Publish the public key beside the checkpoints, so verifiers can fetch it (idempotent). */
  publishKey(key: CheckpointKey): Promise<void>;
  /** Release connections (a bucket's client); nothing for a directory. */
  close?(): void;
}

/**
 * A directory, append-only: one file per checkpoint at <dir>/<organization id>/<time>-<id>.json,
 * created with O_EXCL and mode 0444 (never overwritten), and the public keys as <dir>/keys/<key id>.pem.
 * Give the PostgreSQL server's OS user no write access to it (docs/hashing.md).
 */
export class DirectoryCheckpointStore implements CheckpointStore {
  constructor(readonly dir: string) {}

  async publish(signed: SignedCheckpoint, body: CheckpointBody): Promise<string> {
    const orgDir = path.join(this.dir, body.organization_id);
    await fs.promises.mkdir(orgDir, { recursive: true, mode: 0o755 });
    const file = path.join(orgDir, `${body.created_at.replace(/[-:.]/g, '')}-${body.id}.json`);
    await fs.promises.writeFile(file, JSON.stringify(signed) + '\n', { mode: 0o444, flag: 'wx' });
    return file;
  }

  async list(organizationId: string): Promise<SignedCheckpoint[]> {
    if (!uuidRe.test(organizationId)) return [];
    const orgDir = path.join(this.dir, organizationId);
    let names: string[];
    try {
      names = await fs.promises.readdir(orgDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: SignedCheckpoint[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const text = await fs.promises.readFile(path.join(orgDir, name), 'utf8');
      try {
        out.push(JSON.parse(text) as SignedCheckpoint);
      } catch {
        // An unreadable file is passed on as it is: the verifier reports it as not a checkpoint.
        out.push({ format: 'unreadable', key_id: '', body: text, signature: '' } as never);
      }
    }
    return out;
  }

  async publishKey(key: CheckpointKey): Promise<void> {
    const keysDir = path.join(this.dir, 'keys');
    await fs.promises.mkdir(keysDir, { recursive: true, mode: 0o755 });
    const file = path.join(keysDir, `${key.keyId}.pem`);
    try {
      await fs.promises.writeFile(file, key.publicKeyPem(), { mode: 0o444, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }

  /** The public keys published in a checkpoint directory (for `axiom audit verify`). */
  static publishedKeys(dir: string): string[] {
    const keysDir = path.join(dir, 'keys');
    if (!fs.existsSync(keysDir)) return [];
    return fs
      .readdirSync(keysDir)
      .filter((n) => n.endsWith('.pem'))
      .sort()
      .map((n) => fs.readFileSync(path.join(keysDir, n), 'utf8'));
  }
}

// ---------------------------------------------------------------------------------------------
// Making checkpoints
// ---------------------------------------------------------------------------------------------
interface Heads {
  organization_id: string;
  heads: ChainHead[];
}

export interface CheckpointResult {
  id: string;
  organization_id: string;
  created_at: string;
  root: string;
  key_id: string;
  heads: number;
  location: string;
}

export interface CheckpointServiceDeps {
  api: Api;
  serviceSecret: string;
  key: CheckpointKey;
  store: CheckpointStore;
  now?: () => Date;
}

export class CheckpointService {
  constructor(private readonly deps: CheckpointServiceDeps) {}

  get store(): CheckpointStore {
    return this.deps.store;
  }

  /** On demand, for a caller holding audit:review (checked by the database). */
  async forCaller(caller: Caller): Promise<CheckpointResult> {
    const heads = await this.deps.api.call<Heads>('audit_checkpoint_heads', caller);
    return await this.publish(heads);
  }

  /** For one organization, with the service secret (the timer, the operator's CLI). */
  async forOrganization(organizationId: string): Promise<CheckpointResult> {
    const heads = await this.deps.api.raw<Heads>('checkpoint_heads', [
      this.deps.serviceSecret,
      organizationId,
    ]);
    return await this.publish(heads);
  }

  /** For every organization. */
  async forAll(): Promise<CheckpointResult[]> {
    const orgs = await this.deps.api.raw<string[]>('maintenance_organizations', [
      this.deps.serviceSecret,
    ]);
    const out: CheckpointResult[] = [];
    for (const org of orgs) out.push(await this.forOrganization(org));
    return out;
  }

  private async publish(h: Heads): Promise<CheckpointResult> {
    const heads = sortHeads(h.heads.map((x) => headSchema.parse(x)));
    // The time is taken after the heads were read: every head is older than created_at, which is what
    // lets a verifier compare a checkpoint with an export that started later.
    const body: CheckpointBody = {
      format: CHECKPOINT_FORMAT,
      id: randomUUID(),
      organization_id: h.organization_id,
      created_at: (this.deps.now?.() ?? new Date()).toISOString(),
      key_id: this.deps.key.keyId,
      heads,
      root: merkleRoot(heads),
    };
    const signed = this.deps.key.sign(body);
    await this.deps.store.publishKey(this.deps.key);
    const location = await this.deps.store.publish(signed, body);
    const result: CheckpointResult = {
      id: body.id,
      organization_id: body.organization_id,
      created_at: body.created_at,
      root: body.root,
      key_id: body.key_id,
      heads: heads.length,
      location,
    };
    await this.deps.api.raw('checkpoint_record', [
      this.deps.serviceSecret,
      body.organization_id,
      result,
    ]);
    return result;
  }
}
