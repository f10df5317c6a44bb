/**
 * Acme's HTTP failures mapped onto crm-sync's error kinds, in one place. The runtime wrapper
 * decides what to retry from the kind, `retryable` and `retryAfterMs` alone.
 *
 * @module
 */
import { crmError, networkFailure, type CrmError, type CrmErrorKind } from '@crm-sync/sdk';
import { CONNECTOR_ID } from './connector-id.js';

/** The error body Acme answers with: `{ "error": { "code": "...", "message": "..." } }`. */
export interface AcmeErrorBody {
  /** Acme's error. */
  readonly error?: {
    /** Acme's code, e.g. `UNKNOWN_FIELD`, `RETENTION_EXCEEDED`. */
    readonly code?: string;
    /** Acme's message. */
    readonly message?: string;
    /** For `RETENTION_EXCEEDED`: the oldest instant Acme still has deletions for. */
    readonly earliest?: string;
  };
}

/** Maps an HTTP status (and Acme's error code) onto an error kind. */
function kindFor(status: number, code: string | undefined): CrmErrorKind {
  if (code === 'RETENTION_EXCEEDED') return 'retention-exceeded'; // vendor-fact: error codes
  if (status === 401) return 'auth';
  if (status === 403) return 'permission';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate-limited';
  if (status >= 500) return 'transient';
  if (status >= 400) return 'invalid-request';
  return 'unknown';
}

/** What to do about each kind, for the message. */
const ADVICE: Partial<Record<CrmErrorKind, string>> = {
  auth: 'check the API key (Acme > Settings > API keys); it may have been revoked', // vendor-fact: auth
  permission: 'give the API key access to this object in Acme',
  'rate-limited': 'the call is retried when the quota resets (X-RateLimit-Reset); lower concurrency if this repeats', // vendor-fact: rate-limit header
  'retention-exceeded': 'Acme keeps deletions 30 days: run a full re-sync instead', // vendor-fact: retention
  transient: 'the call is retried',
};

/** The header in which Acme announces when a rate-limit quota resets: epoch seconds. */
export const RATE_LIMIT_RESET_HEADER = 'x-ratelimit-reset'; // vendor-fact: rate-limit header

/** Parses `X-RateLimit-Reset` (an absolute reset time, epoch seconds) into a wait in milliseconds. */
export function parseResetMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || !/^\d+(\.\d+)?$/.test(header.trim())) return undefined;
  return Math.max(0, Math.round(Number(header) * 1000 - now));
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds; proxies in front of Acme may send it. */
export function parseRetryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Builds the `CrmError` for a failed HTTP answer. `what` names the call, e.g. `POST /v1/objects/contacts/search`. */
export function mapAcmeHttpError(what: string, status: number, body: AcmeErrorBody | undefined, headers: Headers): CrmError {
  const code = body?.error?.code;
  const kind = kindFor(status, code);
  const vendorMessage = body?.error?.message;
  const advice = ADVICE[kind];
  const message = `${what} failed with HTTP ${status}${code ? ` ${code}` : ''}${vendorMessage ? `: ${vendorMessage}` : ''}${advice ? ` (${advice})` : ''}`;
  // Acme's own header first; Retry-After only as a fallback.
  const retryAfterMs = parseResetMs(headers.get(RATE_LIMIT_RESET_HEADER)) ?? parseRetryAfterMs(headers.get('retry-after'));
  return crmError(kind, CONNECTOR_ID, message, {
    httpStatus: status,
    ...(code !== undefined ? { vendorCode: code } : {}),
    ...(vendorMessage !== undefined ? { vendorMessage } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(body?.error?.earliest !== undefined ? { earliestAvailable: body.error.earliest } : {}),
  });
}

/**
 * Builds the `CrmError` for a call that got no HTTP answer (refused, reset, timed out). A
 * connect-phase failure (refused, DNS, unreachable, TLS handshake; `fetch` wraps it as
 * `fetch failed` with the socket error on `cause`) sent nothing, so it is never in doubt.
 */
export function mapAcmeNetworkError(what: string, cause: unknown, sentBody: boolean): CrmError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const socket = networkFailure(cause);
  const neverSent = socket?.phase === 'connect';
  return crmError('transient', CONNECTOR_ID, `${what} got no answer (${socket?.code ?? reason})${neverSent ? ', nothing was sent' : ''}; the call is retried`, {
    // A write that was sent may have been committed although no answer came back.
    inDoubt: sentBody && !neverSent,
    ...(socket !== undefined ? { vendorCode: socket.code } : {}),
    cause,
  });
}
