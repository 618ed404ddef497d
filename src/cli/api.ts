// What the commands that talk to a server share: the CLI's HTTPS client (src/cli/client.ts, with
// AXIOM_TOKEN or the stored `axiom login` session) for the length of one command, and the check of
// an id argument before anything is sent, and the lookup of a person by e-mail or a facility by slug.
import fs from 'node:fs';
import { Option, type Command } from 'commander';
import { loadConfig, type Config } from '../config/index.js';
import { AppError } from '../errors.js';
import { clientFor, type AxiomClient } from './client.js';
import type { CliContext } from './main.js';
import { readAll } from './signing.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface CallApi {
  call<T>(method: Method, route: string, body?: unknown): Promise<T>;
}

/** Run `fn` with a client of the server (`url`, else AXIOM_URL), closed afterwards. */
export async function withClient<T>(
  ctx: CliContext,
  url: string | undefined,
  fn: (c: CallApi) => Promise<T>,
): Promise<T> {
  return await withAxiomClient(ctx, loadConfig(ctx.env), url, (client) =>
    fn({
      call: <R>(method: Method, route: string, body?: unknown) =>
        client.call<R>(method, route, body === undefined ? {} : { body }),
    }),
  );
}

/** The client itself, for the commands that sign in and out (src/cli/commands/auth.ts). */
export async function withAxiomClient<T>(
  ctx: CliContext,
  config: Config,
  url: string | undefined,
  fn: (client: AxiomClient) => Promise<T>,
): Promise<T> {
  const client = clientFor(config, ctx.env, { url });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id argument: a UUID (lowercased), refused before any request otherwise. */
export const uuidArg = (v: string): string => {
  if (!UUID.test(v))
    throw new AppError('invalid_input', `${v} is not an id (a UUID)`, { reason: 'invalid_id' });
  return v.toLowerCase();
};

/** A person or service principal, by id or by e-mail (looked up among the organization's). */
export async function principalRef(api: CallApi, ref: string): Promise<string> {
  if (!ref.includes('@')) return uuidArg(ref);
  const { principals } = await api.call<{
    principals: Array<{ id: string; email: string | null }>;
  }>('GET', '/api/v1/principals');
  const hit = principals.find((p) => p.email?.toLowerCase() === ref.toLowerCase());
  if (!hit)
    throw new AppError('not_found', `no one in the organization has the e-mail ${ref}`, {
      reason: 'principal_not_found',
    });
  return hit.id;
}

/** Who each principal id of the organization is, for people reading ids: id → e-mail. */
export async function principalNames(api: CallApi): Promise<(id: string | null) => string> {
  const { principals } = await api.call<{
    principals: Array<{ id: string; email: string | null }>;
  }>('GET', '/api/v1/principals');
  const names = new Map(principals.map((p) => [p.id, p.email ?? p.id]));
  return (id) => (id === null ? '-' : (names.get(id) ?? id));
}

/** A facility, by id or by slug (`axiom facility list`). */
export async function facilityRef(api: CallApi, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref.toLowerCase();
  const { facilities } = await api.call<{ facilities: Array<{ id: string; slug: string }> }>(
    'GET',
    '/api/v1/facilities',
  );
  const hit = facilities.find((f) => f.slug === ref);
  if (!hit)
    throw new AppError('not_found', `no facility has the slug ${ref}`, {
      reason: 'facility_not_found',
    });
  return hit.id;
}

/**
 * An option parser: a whole number from 1 to `max`, refused (exit 2, before any request) otherwise.
 */
export function wholeNumber(flag: string, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1 || n > max)
      throw new AppError('invalid_input', `${flag} is a whole number from 1 to ${max}`, {
        reason: 'usage',
      });
    return n;
  };
}

/**
 * A `--timeout` in whole seconds, 1 to a day. Checked by the command before it starts anything, so a
 * bad value leaves no scan or execution behind.
 */
export function timeoutSeconds(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 86_400)
    throw new AppError('invalid_input', '--timeout is a whole number of seconds from 1 to 86400', {
      reason: 'usage',
    });
  return n;
}

/** A page of a cursor-paginated listing, or every page of it put together. */
export interface Paged<T> {
  items: T[];
  next_cursor: string | null;
}

/**
 * GET `path` with `query`: the page that starts at `cursor`, or with `all` every page from the first
 * (following next_cursor). --all with --cursor is refused before any request.
 */
export async function readPages<T>(
  api: CallApi,
  path: string,
  query: URLSearchParams,
  o: { cursor?: string; all?: boolean },
): Promise<Paged<T>> {
  if (o.all && o.cursor)
    throw new AppError('invalid_input', '--all starts from the first page: leave out --cursor', {
      reason: 'usage',
    });
  const items: T[] = [];
  let cursor = o.cursor;
  for (;;) {
    const page = new URLSearchParams(query);
    if (cursor) page.set('cursor', cursor);
    const p = await api.call<Paged<T>>('GET', `${path}?${page.toString()}`);
    items.push(...p.items);
    cursor = p.next_cursor ?? undefined;
    if (!o.all || !cursor) return { items, next_cursor: p.next_cursor };
  }
}

/** The --url option of every command that talks to a server. */
export const urlOption = (): Option =>
  new Option(
    '--url <url>',
    'the server (default AXIOM_URL, else the stored session’s, else https://localhost:8443)',
  );

/** The paging options of a listing by ARN: page size, --cursor, --all, --json and --url. */
export function arnPaging(c: Command, what: string, url: Option): Command {
  return c
    .option(
      '--limit <n>',
      `${what} per page, 1 to 1000 (default 100)`,
      wholeNumber('--limit', 1000),
    )
    .option('--cursor <arn>', 'the next page (printed after a page that has more)')
    .option('--all', 'every page')
    .option('--json', 'machine output')
    .addOption(url);
}

/**
 * A JSON object from `file`, or from standard input for `-` (`flag` names the option in messages),
 * at most `maxBytes`; refused before any request otherwise.
 */
export async function readJsonObject(
  ctx: CliContext,
  file: string,
  flag: string,
  maxBytes: number,
): Promise<Record<string, unknown>> {
  const tooLarge = `${flag} is larger than ${maxBytes / 1024} KiB`;
  let text: string;
  try {
    if (file === '-') text = await readAll(ctx.stdin ?? process.stdin, maxBytes);
    else {
      if (fs.statSync(file).size > maxBytes) throw new RangeError();
      text = fs.readFileSync(file, 'utf8');
    }
  } catch (e) {
    throw new AppError(
      'invalid_input',
      // readAll refuses standard input past maxBytes with an AppError.
      e instanceof RangeError || e instanceof AppError
        ? tooLarge
        : `${flag} ${file} cannot be read`,
      { reason: 'usage' },
    );
  }
  if (Buffer.byteLength(text) > maxBytes)
    throw new AppError('invalid_input', tooLarge, { reason: 'usage' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AppError('invalid_input', `${flag}: not valid JSON`, { reason: 'usage' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new AppError('invalid_input', `${flag}: a JSON object is expected`, { reason: 'usage' });
  return parsed as Record<string, unknown>;
}
