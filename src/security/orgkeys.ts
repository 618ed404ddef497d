// Organization key pairs (OpenPGP, RSA). The database seals audit before/after states for the public
// key (pgcrypto; db/migrations/084); only the application, holding the key-encryption key, can unwrap
// the private key and unseal them.
import * as openpgp from 'openpgp';
import type { KekProvider } from './kek.js';

export interface OrgKeyPair {
  publicKeyArmored: string;
  privateKeyArmored: string;
}

export async function generateOrgKeyPair(bits: 2048 | 3072 | 4096): Promise<OrgKeyPair> {
  const { publicKey, privateKey } = await openpgp.generateKey({
    type: 'rsa',
    rsaBits: bits,
    userIDs: [{ name: 'Axiom organization key' }],
    format: 'armored',
  });
  return { publicKeyArmored: publicKey, privateKeyArmored: privateKey };
}

/** The bootstrap payload's `key` member: public key, wrapped private key, KEK id. */
export async function wrapOrgKey(
  kek: KekProvider,
  pair: OrgKeyPair,
  context: string,
): Promise<{ public_key: string; wrapped_private_key: string; kek_id: string }> {
  const { wrapped, kekId } = await kek.wrap(Buffer.from(pair.privateKeyArmored, 'utf8'), context);
  return {
    public_key: pair.publicKeyArmored,
    wrapped_private_key: wrapped.toString('base64'),
    kek_id: kekId,
  };
}

export async function unwrapOrgKey(
  kek: KekProvider,
  wrappedBase64: string,
  kekId: string,
  context: string,
): Promise<openpgp.PrivateKey> {
  const armored = (await kek.unwrap(Buffer.from(wrappedBase64, 'base64'), kekId, context)).toString(
    'utf8',
  );
  return await openpgp.readPrivateKey({ armoredKey: armored });
}

const SEALED_WITH_SECRET = Buffer.from('AXS1', 'latin1');

/**
 * Unseal a state sealed by internal.seal_state. Two forms:
 * - `'AXS1' || int4 length(W) || W || M` (migration 084): W is an OpenPGP message encrypted to the
 *   organization's public key carrying a 32-byte secret S; M is an OpenPGP symmetrically encrypted
 *   message whose passphrase is the lowercase hex of S.
 * - a plain OpenPGP message encrypted to the public key (states sealed before migration 084).
 */
export async function unsealState(
  privateKey: openpgp.PrivateKey,
  ciphertext: Buffer,
): Promise<unknown> {
  let plaintext: Uint8Array;
  if (ciphertext.subarray(0, 4).equals(SEALED_WITH_SECRET)) {
    if (ciphertext.length < 8) throw new Error('the sealed state is truncated');
    const wrappedLength = ciphertext.readInt32BE(4);
    if (wrappedLength <= 0 || 8 + wrappedLength >= ciphertext.length)
      throw new Error('the sealed state is malformed');
    const wrapped = ciphertext.subarray(8, 8 + wrappedLength);
    const sealed = ciphertext.subarray(8 + wrappedLength);
    const secret = await decryptBinary(await openpgp.readMessage({ binaryMessage: wrapped }), {
      decryptionKeys: privateKey,
    });
    if (secret.length !== 32) throw new Error('the sealed state carries a malformed secret');
    plaintext = await decryptBinary(await openpgp.readMessage({ binaryMessage: sealed }), {
      passwords: [Buffer.from(secret).toString('hex')],
    });
  } else {
    plaintext = await decryptBinary(await openpgp.readMessage({ binaryMessage: ciphertext }), {
      decryptionKeys: privateKey,
    });
  }
  return JSON.parse(Buffer.from(plaintext).toString('utf8')) as unknown;
}

async function decryptBinary(
  message: openpgp.Message<Uint8Array>,
  with_: { decryptionKeys: openpgp.PrivateKey } | { passwords: string[] },
): Promise<Uint8Array> {
  const { data } = await openpgp.decrypt({ message, ...with_, format: 'binary' });
  return data as Uint8Array;
}

/** Encrypt a small value to an organization's public key (used for values the application seals). */
export async function sealToPublicKey(
  publicKeyArmored: string,
  plaintext: Buffer,
): Promise<Buffer> {
  const key = await openpgp.readKey({ armoredKey: publicKeyArmored });
  const message = await openpgp.createMessage({ binary: plaintext });
  const out = await openpgp.encrypt({ message, encryptionKeys: key, format: 'binary' });
  return Buffer.from(out as Uint8Array);
}
