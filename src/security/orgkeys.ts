// Organization key pairs (OpenPGP, RSA). The database seals audit before/after states with the public
// key (pgcrypto's pgp_pub_encrypt); only the application, holding the key-encryption key, can unwrap
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

/** Unseal a state sealed by internal.seal_state. */
export async function unsealState(
  privateKey: openpgp.PrivateKey,
  ciphertext: Buffer,
): Promise<unknown> {
  const message = await openpgp.readMessage({ binaryMessage: ciphertext });
  const { data } = await openpgp.decrypt({ message, decryptionKeys: privateKey, format: 'binary' });
  return JSON.parse(Buffer.from(data as Uint8Array).toString('utf8')) as unknown;
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
