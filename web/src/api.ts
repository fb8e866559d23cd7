// Every call to the platform goes through `api`: one Case-ID per call (sent,
// so that even a call that never got an answer has an id to quote), the
// session's token, one refresh on expiry, and errors turned into words.

import { clearSession, getSession, setSession, type Session } from './session';

export interface ErrorDetail {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** A failed call, in words a person can read, with the Case-ID to quote. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly caseId: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }
}

export interface Answer<T> {
  status: number;
  data: T;
  headers: Headers;
  caseId: string;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the session's token (default: whenever logged in). */
  auth?: boolean;
  /** Answer as text instead of JSON (ICS). */
  text?: boolean;
}

export function newCaseId(): string {
  return `web-${crypto.randomUUID()}`;
}

/** What the person reads for a failed call. */
export function describe(status: number, details: ErrorDetail[], retryAfter?: string | null): string {
  const said = details.map((d) => d.msg).filter(Boolean).join('; ');
  switch (true) {
    case status === 0:
      return 'Could not reach W2Meet: the server did not answer. Check your connection and try again.';
    case status === 400 || status === 422:
      return `Please check what you entered: ${said || 'the request was not valid'}.`;
    case status === 401:
      return `Please log in${said ? ` (${said})` : ''}.`;
    case status === 403:
      return `You may not do that${said ? `: ${said}` : ''}.`;
    case status === 404:
      return said && said !== 'Not Found' ? `Not found: ${said}.` : 'Not found.';
    case status === 409:
      return `That clashes with what is already there: ${said || 'conflict'}.`;
    case status === 412:
      return 'Someone changed this meanwhile. Reload it and try again.';
    case status === 429:
      return `Too many requests. Try again${retryAfter ? ` in ${retryAfter} s` : ' in a moment'}.`;
    case status === 504:
      return 'A W2Meet service took too long to answer. Try again in a moment.';
    case status >= 500:
      return `A W2Meet service is unavailable right now${said ? ` (${said})` : ''}. Try again in a moment.`;
    default:
      return said || `The request failed (HTTP ${status}).`;
  }
}

async function send<T>(method: string, path: string, opts: CallOptions, session: Session | null): Promise<Answer<T>> {
  const caseId = newCaseId();
  const headers: Record<string, string> = { 'Case-ID': caseId, Accept: opts.text ? 'text/calendar' : 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (session && opts.auth !== false) headers.Authorization = `Bearer ${session.access_token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  } catch {
    throw new ApiError(0, caseId, describe(0, []));
  }
  const answeredId = res.headers.get('Case-ID') || caseId;
  const raw = await res.text();
  let data: unknown = raw;
  if (!opts.text || !res.ok) {
    try {
      data = raw ? JSON.parse(raw) : null;
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const body = (data ?? {}) as { case_id?: string; detail?: ErrorDetail[] };
    const details = Array.isArray(body.detail) ? body.detail : [];
    throw new ApiError(res.status, body.case_id || answeredId, describe(res.status, details, res.headers.get('Retry-After')), details);
  }
  return { status: res.status, data: data as T, headers: res.headers, caseId: answeredId };
}

let refreshing: Promise<Session | null> | null = null;

/**
 * A new token pair for `stale`. One refresh at a time in this page, and —
 * where the browser has Web Locks — across its tabs: a refresh token works
 * once (a reused one revokes the whole login), so whoever comes second
 * takes the pair the first one stored. The session is dropped only when
 * the refresh token is refused (401), not when the service is unreachable.
 */
function refresh(stale: Session): Promise<Session | null> {
  refreshing ??= (async () => {
    const run = async () => {
      const now = getSession();
      if (!now || now.email !== stale.email) return now;
      if (now.refresh_token !== stale.refresh_token) return now; // another tab did it
      try {
        const { data } = await send<TokenPair>('POST', '/users/auth/refresh', { body: { refresh_token: now.refresh_token }, auth: false }, null);
        const next = sessionFrom(now.email, data);
        setSession(next);
        return next;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) clearSession();
        throw e;
      }
    };
    return navigator.locks ? navigator.locks.request('w2meet-refresh', run) : run();
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** One call; refreshes the access token once when it has expired. */
export async function api<T = unknown>(method: string, path: string, opts: CallOptions = {}): Promise<Answer<T>> {
  let session = getSession();
  if (session && opts.auth !== false && Date.now() > session.expires_at - 30_000) session = await refresh(session);
  try {
    return await send<T>(method, path, opts, session);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && session && opts.auth !== false) {
      const renewed = await refresh(session);
      if (renewed && renewed.access_token !== session.access_token) return send<T>(method, path, opts, renewed);
    }
    throw e;
  }
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export function sessionFrom(email: string, t: TokenPair): Session {
  return { email, access_token: t.access_token, refresh_token: t.refresh_token, expires_at: Date.now() + t.expires_in * 1000 };
}

/** `encodeURIComponent` for a path segment (emails may hold `/`, `%`, `+`). */
export const seg = encodeURIComponent;
