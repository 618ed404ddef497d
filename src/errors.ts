// One error type for the whole product. Every error a user can see has a stable `code` (and, where
// the database gave one, a more specific `reason`), a message written for people, and maps to one
// HTTP status here and nowhere else. Database text is never shown for errors we did not write.

export const errorCodes = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  rule_violation: 422,
  locked: 423,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly reason: string | undefined;
  /** Safe to show to the caller. */
  readonly publicMessage: string;

  constructor(
    code: ErrorCode,
    publicMessage: string,
    opts: { reason?: string; cause?: unknown; internal?: string } = {},
  ) {
    super(
      opts.internal ?? publicMessage,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.code = code;
    this.reason = opts.reason;
    this.publicMessage = publicMessage;
  }

  get httpStatus(): number {
    return errorCodes[this.code];
  }

  toJSON(): { code: ErrorCode; reason?: string; message: string } {
    return {
      code: this.code,
      ...(this.reason ? { reason: this.reason } : {}),
      message: this.publicMessage,
    };
  }
}

/** Our own SQLSTATEs (db/migrations, docs/error_codes.md). */
const axiomSqlStates: Record<string, ErrorCode> = {
  AX400: 'invalid_input',
  AX401: 'unauthenticated',
  AX403: 'forbidden',
  AX404: 'not_found',
  AX409: 'conflict',
  AX410: 'gone',
  AX422: 'rule_violation',
  AX423: 'locked',
};

const genericMessages: Partial<Record<ErrorCode, string>> = {
  invalid_input: 'the request has a value of the wrong type or shape',
  conflict: 'the request conflicts with a concurrent change; reload and try again',
  forbidden: 'not allowed',
  unavailable: 'the database is unavailable; try again shortly',
  internal: 'an internal error occurred',
};

/** Map a SQLSTATE (ours or PostgreSQL's) to a stable code. */
export function codeForSqlState(sqlstate: string | undefined): ErrorCode {
  if (!sqlstate) return 'internal';
  const ours = axiomSqlStates[sqlstate];
  if (ours) return ours;
  if (sqlstate === '23505' || sqlstate === '40001' || sqlstate === '40P01') return 'conflict';
  if (sqlstate.startsWith('22') || sqlstate.startsWith('23') || sqlstate === '54000')
    return 'invalid_input';
  if (sqlstate === '42883' || sqlstate === '42804' || sqlstate === '42P18') return 'invalid_input';
  if (sqlstate === '42501') return 'forbidden';
  if (
    sqlstate.startsWith('08') ||
    sqlstate === '57P01' ||
    sqlstate === '57P03' ||
    sqlstate === '57014'
  )
    return 'unavailable';
  return 'internal';
}

/** Build an AppError from a database error (a thrown pg error or an {ok:false} envelope). */
export function fromDatabase(
  err: { sqlstate?: string | undefined; message?: string | undefined; reason?: string | undefined },
  cause?: unknown,
): AppError {
  const code = codeForSqlState(err.sqlstate);
  const ours = err.sqlstate !== undefined && err.sqlstate in axiomSqlStates;
  const message =
    ours && err.message ? err.message : (genericMessages[code] ?? 'the request failed');
  return new AppError(code, message, {
    ...(err.reason
      ? { reason: err.reason }
      : ours
        ? {}
        : { reason: `sqlstate_${err.sqlstate ?? 'unknown'}` }),
    internal: err.message,
    cause,
  });
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
