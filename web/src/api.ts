// The dashboard's only way to the server: JSON over fetch with the session cookie (set by the server,
// HttpOnly) and the CSRF token (kept in memory) on every state-changing request. Errors keep the
// server's stable shape: { requestId, code, reason?, message }.

export interface ApiErrorBody {
  requestId?: string;
  code: string;
  reason?: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }
  get code(): string {
    return this.body.code;
  }
  get reason(): string | undefined {
    return this.body.reason;
  }
}

let csrfToken: string | undefined;
const listeners = new Set<() => void>();

/** Called when the server says the session is gone (401): the app shows the sign-in page. */
export function onSignedOut(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

type Query = Record<string, string | number | boolean | undefined | null>;

function withQuery(url: string, query?: Query): string {
  if (!query) return url;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${url}?${s}` : url;
}

async function request<T>(method: string, url: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(withQuery(url, query), {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { code: 'internal', message: `the server answered ${res.status} without JSON` };
  }
  if (!res.ok) {
    const err = new ApiError(res.status, parsed as ApiErrorBody);
    // Only a lost session signs the page out; a wrong password at signing time is also a 401.
    if (res.status === 401 && err.reason === 'no_session') listeners.forEach((fn) => fn());
    throw err;
  }
  return parsed as T;
}

export const api = {
  get: <T>(url: string, query?: Query) => request<T>('GET', url, undefined, query),
  post: <T>(url: string, body: unknown = {}) => request<T>('POST', url, body),
  put: <T>(url: string, body: unknown = {}) => request<T>('PUT', url, body),
  patch: <T>(url: string, body: unknown = {}) => request<T>('PATCH', url, body),
  del: <T>(url: string) => request<T>('DELETE', url),
};

/** Human text for any thrown value. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    const id = e.body.requestId ? ` (request ${e.body.requestId.slice(0, 8)})` : '';
    return `${e.body.message}${id}`;
  }
  return e instanceof Error ? e.message : String(e);
}
