// Deterministic pseudo-random numbers: a seed string hashed into 128 bits, then sfc32.
// Used by the account generator and by fault injection, so the same seed gives the same run.
import crypto from 'node:crypto';

export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** `n` characters from `alphabet`. */
  chars(n: number, alphabet: string): string;
  hex(n: number): string;
  /** A child generator whose sequence depends only on this seed and `label`. */
  fork(label: string): Rng;
}

function seedWords(seed: string): [number, number, number, number] {
  const h = crypto.createHash('sha256').update(seed).digest();
  return [h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)];
}

export function createRng(seed: string): Rng {
  let [a, b, c, d] = seedWords(seed);
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  const rng: Rng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chars: (n, alphabet) => {
      let s = '';
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
      return s;
    },
    hex: (n) => rng.chars(n, '0123456789abcdef'),
    fork: (label) => createRng(`${seed}/${label}`),
  };
  return rng;
}

/** FNV-1a's offset basis: the state before any character. */
export const FNV_START = 0x811c9dc5;

/** FNV-1a's state after the characters of s, continuing from h (hash32 is fnvEnd(fnvText(s))). */
export function fnvText(s: string, h = FNV_START): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/**
 * FNV-1a's state after the decimal digits of a non-negative safe integer, continuing from h: the same
 * as fnvText(String(n), h), without making the string.
 */
export function fnvDigits(n: number, h: number): number {
  if (n >= 10) h = fnvDigits(Math.floor(n / 10), h);
  h ^= 48 + (n % 10);
  return Math.imul(h, 0x01000193);
}

/** The final mixing of hash32, from an FNV-1a state. */
export function fnvEnd(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/** A stable 32-bit hash of a string, for deterministic noise (metric series). */
export function hash32(s: string): number {
  return fnvEnd(fnvText(s));
}

/** hash32 scaled to [0, 1). */
export function unit(s: string): number {
  return hash32(s) / 4294967296;
}
