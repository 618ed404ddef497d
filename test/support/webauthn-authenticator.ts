// A software WebAuthn authenticator for the tests: ES256 keys from node:crypto, the attestation object
// and COSE key in CBOR (@simplewebauthn/server's isoCBOR), authenticatorData and clientDataJSON built
// as WebAuthn Level 2 §6.1 and §5.8.1 say. It answers the JSON options the server sends and returns the
// JSON a browser's navigator.credentials would (as @simplewebauthn/browser shapes it).
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const FLAG_UP = 0x01; // user present
const FLAG_UV = 0x04; // user verified
const FLAG_AT = 0x40; // attested credential data included

interface Credential {
  id: Buffer;
  privateKey: KeyObject;
  counter: number;
  userHandle: string;
}

const sha256 = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest();
const b64url = (b: Buffer | Uint8Array): string => Buffer.from(b).toString('base64url');

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The credential public key as a COSE_Key (EC2, P-256, ES256). */
function coseKey(privateKey: KeyObject): Uint8Array {
  const jwk = privateKey.export({ format: 'jwk' });
  return isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, new Uint8Array(Buffer.from(String(jwk.x), 'base64url'))],
      [-3, new Uint8Array(Buffer.from(String(jwk.y), 'base64url'))],
    ]),
  );
}

export class SoftwareAuthenticator {
  readonly credentials = new Map<string, Credential>();
  /** The AAGUID of this make of authenticator (16 bytes). */
  readonly aaguid = randomBytes(16);

  constructor(readonly origin: string) {}

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string): Buffer {
    return Buffer.from(
      JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }),
    );
  }

  /** navigator.credentials.create(): a new key pair for the relying party, attestation "none". */
  create(options: PublicKeyCredentialCreationOptionsJSON): RegistrationResponseJSON {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = randomBytes(32);
    const cred: Credential = { id, privateKey, counter: 0, userHandle: options.user.id };
    this.credentials.set(b64url(id), cred);
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([FLAG_UP | FLAG_UV | FLAG_AT]),
      u32(cred.counter),
      this.aaguid,
      idLength,
      id,
      Buffer.from(coseKey(privateKey)),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Map<string, string> | Uint8Array>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(this.clientData('webauthn.create', options.challenge)),
        attestationObject: b64url(attestationObject),
        transports: ['usb'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }

  /**
   * navigator.credentials.get(): sign the challenge with one of the allowed credentials. The counter
   * moves forward by one, unless `counter` says what to report (a cloned authenticator reports a
   * counter the original already used).
   */
  get(
    options: PublicKeyCredentialRequestOptionsJSON,
    opts: { credentialId?: string; counter?: number } = {},
  ): AuthenticationResponseJSON {
    const allowed = (options.allowCredentials ?? []).map((c) => c.id);
    const id = opts.credentialId ?? allowed.find((a) => this.credentials.has(a));
    const cred = id ? this.credentials.get(id) : undefined;
    if (!id || !cred) throw new Error('this authenticator holds none of the allowed credentials');
    if (opts.counter === undefined) cred.counter += 1;
    const counter = opts.counter ?? cred.counter;
    const rpId = options.rpId ?? new URL(this.origin).hostname;
    const authData = Buffer.concat([sha256(rpId), Buffer.from([FLAG_UP | FLAG_UV]), u32(counter)]);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), {
      key: cred.privateKey,
      dsaEncoding: 'der',
    });
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: cred.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }
}
