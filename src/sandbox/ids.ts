// Identifier shapes: EC2 resource ids, access keys, secrets, request ids.
import crypto from 'node:crypto';
import type { Rng } from './prng.js';

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function randomChars(n: number, alphabet: string): string {
  const bytes = crypto.randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[bytes[i]! % alphabet.length];
  return s;
}

/** A long-term (AKIA…) or temporary (ASIA…) access key id: 4 + 16 characters. */
export function accessKeyId(kind: 'long' | 'temp', rng?: Rng): string {
  const prefix = kind === 'long' ? 'AK' + 'IA' : 'AS' + 'IA';
  return prefix + (rng ? rng.chars(16, KEY_ALPHABET) : randomChars(16, KEY_ALPHABET));
}

/** A 40-character secret access key, always from the CSPRNG. */
export function secretAccessKey(): string {
  return randomChars(40, SECRET_ALPHABET);
}

export function sessionToken(): string {
  return 'FwoGZXIvYXdzE' + crypto.randomBytes(96).toString('base64');
}

/** Unique principal ids (AIDA… users, AROA… roles). */
export function principalId(prefix: 'AIDA' | 'AROA', rng?: Rng): string {
  return prefix + (rng ? rng.chars(17, KEY_ALPHABET) : randomChars(17, KEY_ALPHABET));
}

export function requestId(): string {
  return crypto.randomUUID();
}

/** An EC2-style id such as i-0123456789abcdef0 (17 hex digits). */
export function ec2Id(prefix: string, rng?: Rng): string {
  return `${prefix}-${rng ? rng.hex(17) : crypto.randomBytes(9).toString('hex').slice(0, 17)}`;
}

export function uuid(rng?: Rng): string {
  if (!rng) return crypto.randomUUID();
  const h = rng.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
