// The only way the application touches the database: one call of one api.* function, as axiom_user,
// passing the caller's session token. Each call is one statement, hence one transaction.
import pg from 'pg';
import { AppError, fromDatabase } from '../errors.js';

export interface Caller {
  token: string;
  ip?: string | undefined;
  requestId?: string | undefined;
}

type Envelope<T> =
  | { ok: true; data: T }
  | { ok: false; error: { sqlstate: string; reason: string | null; message: string } };

const fnName = /^[a-z][a-z0-9_]{1,62}$/;

/** Values as api functions take them: objects and arrays become JSON text (for jsonb parameters). */
function param(v: unknown): unknown {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) return JSON.stringify(v);
  return v;
}

export class Api {
  constructor(readonly pool: pg.Pool) {}

  /** Call api.<fn>(caller, ...args) and return its data, or throw the AppError it answered with. */
  async call<T = unknown>(fn: string, caller: Caller | null, ...args: unknown[]): Promise<T> {
    const params = caller
      ? [
          JSON.stringify({ token: caller.token, ip: caller.ip, request_id: caller.requestId }),
          ...args,
        ]
      : args;
    return await this.raw<T>(fn, params);
  }

  /** Call a function that takes no caller object (sign-in, bootstrap, installation verify). */
  async raw<T = unknown>(fn: string, args: unknown[]): Promise<T> {
    if (!fnName.test(fn))
      throw new AppError('internal', 'the request failed', {
        internal: `bad api function name ${fn}`,
      });
    const placeholders = args.map((_, i) => `$${i + 1}`).join(', ');
    let result: pg.QueryResult<{ r: Envelope<T> }>;
    try {
      result = await this.pool.query<{ r: Envelope<T> }>(
        `select api.${fn}(${placeholders}) as r`,
        args.map(param),
      );
    } catch (e) {
      const err = e as { code?: string; message?: string };
      throw fromDatabase({ sqlstate: err.code, message: err.message }, e);
    }
    const envelope = result.rows[0]?.r;
    if (!envelope)
      throw new AppError('internal', 'the request failed', {
        internal: `api.${fn} returned nothing`,
      });
    if (envelope.ok) return envelope.data;
    throw fromDatabase({
      sqlstate: envelope.error.sqlstate,
      message: envelope.error.message,
      reason: envelope.error.reason ?? undefined,
    });
  }
}

export function createPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, application_name: 'axiom' });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}
