// Helpers shared by the service implementations.
import type { AwsError } from './errors.js';
import type { Ctx } from './framework.js';
import { invalidParam, missingParam } from './protocols/render.js';
import type { Tag } from './state.js';

export function req<T>(ctx: Ctx, input: object, name: string): NonNullable<T> {
  const v = (input as Record<string, unknown>)[name];
  if (v === undefined || v === null || v === '') throw missingParam(ctx.service.protocol, name);
  return v as NonNullable<T>;
}

export function bad(ctx: Ctx, message: string): AwsError {
  return invalidParam(ctx.service.protocol, message);
}

/** Offset pagination with opaque tokens that are checked on the way back. */
export function encodeToken(offset: number, salt: string): string {
  return Buffer.from(`${offset}:${salt}`).toString('base64url');
}

export function decodeToken(token: string | undefined, salt: string): number | undefined {
  if (token === undefined || token === '') return 0;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const colon = text.indexOf(':');
  const n = colon < 0 ? text : text.slice(0, colon);
  const s = colon < 0 ? '' : text.slice(colon + 1);
  const offset = Number(n);
  if (s !== salt || !Number.isInteger(offset) || offset < 0) return undefined;
  return offset;
}

export function page<T>(
  items: T[],
  token: string | undefined,
  max: number,
  salt: string,
  onBadToken: () => AwsError,
): { items: T[]; next?: string } {
  const offset = decodeToken(token, salt);
  if (offset === undefined) throw onBadToken();
  const slice = items.slice(offset, offset + max);
  const next = offset + max < items.length ? encodeToken(offset + max, salt) : undefined;
  return next ? { items: slice, next } : { items: slice };
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const date = (ms: number): Date => new Date(ms);

export function tagsToObject(tags: Tag[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const t of tags) o[t.Key] = t.Value;
  return o;
}

export function setTags(target: Tag[], tags: { Key?: string; Value?: string }[]): void {
  for (const t of tags) {
    if (!t.Key) continue;
    const existing = target.find((x) => x.Key === t.Key);
    if (existing) existing.Value = t.Value ?? '';
    else target.push({ Key: t.Key, Value: t.Value ?? '' });
  }
}

export function removeTags(target: Tag[], tags: { Key?: string; Value?: string }[]): void {
  for (const t of tags) {
    const i = target.findIndex(
      (x) => x.Key === t.Key && (t.Value === undefined || x.Value === t.Value),
    );
    if (i >= 0) target.splice(i, 1);
  }
}
