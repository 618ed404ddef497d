// What the commands that talk to a server share: the CLI's HTTPS client (src/cli/client.ts, with
// AXIOM_TOKEN or the stored `axiom login` session) for the length of one command, and the check of
// an id argument before anything is sent.
import { loadConfig } from '../config/index.js';
import { AppError } from '../errors.js';
import { clientFor } from './client.js';
import type { CliContext } from './main.js';

export type Method = 'GET' | 'POST' | 'DELETE';

export interface CallApi {
  call<T>(method: Method, route: string, body?: unknown): Promise<T>;
}

/** Run `fn` with a client of the server (`url`, else AXIOM_URL), closed afterwards. */
export async function withClient<T>(
  ctx: CliContext,
  url: string | undefined,
  fn: (c: CallApi) => Promise<T>,
): Promise<T> {
  const client = clientFor(loadConfig(ctx.env), ctx.env, { url });
  try {
    return await fn({
      call: <R>(method: Method, route: string, body?: unknown) =>
        client.call<R>(method, route, body === undefined ? {} : { body }),
    });
  } finally {
    await client.close();
  }
}

/** An id argument: a UUID (lowercased), refused before any request otherwise. */
export const uuidArg = (v: string): string => {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v))
    throw new AppError('invalid_input', `${v} is not an id (a UUID)`, { reason: 'invalid_id' });
  return v.toLowerCase();
};
