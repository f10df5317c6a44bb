/**
 * Salesforce failures mapped to the one crm-sync vocabulary: call-level errors (`errorCode` in a
 * 4xx/5xx array body, socket errors, non-JSON bodies) become a `CrmError`; per-record errors
 * (`statusCode` inside a 200 sObject Collections answer, `sf__Error` in Bulk 2.0 results) become a
 * `Reject`.
 *
 * @module
 */
import { crmError, networkFailure, redact, redactText, type CrmError, type Reject, type RejectCode } from '@crm-sync/sdk';

/** The connector id used in every message. */
export const CONNECTOR_ID = 'salesforce';

/** How one per-record Salesforce status code maps to a canonical reject. */
interface RejectRule {
  readonly code: RejectCode;
  readonly retryable: boolean;
}

/**
 * Per-record `statusCode` -> canonical reject. Codes not listed become `unknown`, not retryable.
 * `ENTITY_IS_DELETED` on a delete is handled by the caller (it counts as deleted).
 */
export const REJECT_RULES: Readonly<Record<string, RejectRule>> = {
  FIELD_CUSTOM_VALIDATION_EXCEPTION: { code: 'validation', retryable: false },
  FIELD_INTEGRITY_EXCEPTION: { code: 'validation', retryable: false },
  CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY: { code: 'validation', retryable: false },
  REQUIRED_FIELD_MISSING: { code: 'required-field-missing', retryable: false },
  DUPLICATE_VALUE: { code: 'duplicate', retryable: false },
  DUPLICATES_DETECTED: { code: 'duplicate', retryable: false },
  DUPLICATE_EXTERNAL_ID: { code: 'duplicate', retryable: false },
  INVALID_FIELD: { code: 'invalid-field', retryable: false },
  INVALID_FIELD_FOR_INSERT_UPDATE: { code: 'invalid-field', retryable: false },
  STRING_TOO_LONG: { code: 'invalid-value', retryable: false },
  INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: { code: 'invalid-value', retryable: false },
  INVALID_TYPE_ON_FIELD_IN_RECORD: { code: 'invalid-value', retryable: false },
  INVALID_CROSS_REFERENCE_KEY: { code: 'invalid-value', retryable: false },
  MALFORMED_ID: { code: 'invalid-value', retryable: false },
  NUMBER_OUTSIDE_VALID_RANGE: { code: 'invalid-value', retryable: false },
  INVALID_EMAIL_ADDRESS: { code: 'invalid-value', retryable: false },
  NOT_FOUND: { code: 'not-found', retryable: false },
  INVALID_ID_FIELD: { code: 'not-found', retryable: false },
  ENTITY_IS_DELETED: { code: 'deleted-in-crm', retryable: false },
  INSUFFICIENT_ACCESS_OR_READONLY: { code: 'permission', retryable: false },
  INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY: { code: 'permission', retryable: false },
  ENTITY_IS_LOCKED: { code: 'locked', retryable: false },
  UNABLE_TO_LOCK_ROW: { code: 'locked', retryable: true },
  ALL_OR_NONE_OPERATION_ROLLED_BACK: { code: 'conflict', retryable: true },
};

/** One error item of a collection result (`statusCode`) or a request error (`errorCode`). */
export interface SalesforceErrorItem {
  readonly statusCode?: string;
  readonly errorCode?: string;
  readonly message?: string;
  readonly fields?: readonly string[];
}

/** Maps the errors of one failed record to a `Reject`; the first error decides the code. */
export function rejectFromSalesforceErrors(errors: readonly SalesforceErrorItem[] | undefined): Reject {
  const first = errors?.[0];
  const symbol = first?.statusCode ?? first?.errorCode ?? 'UNKNOWN_EXCEPTION';
  const rule = REJECT_RULES[symbol] ?? { code: 'unknown', retryable: false };
  const message = (errors ?? []).map((e) => e.message ?? '').filter(Boolean).join('; ') || `Salesforce refused the record (${symbol})`;
  const fields = (errors ?? []).flatMap((e) => e.fields ?? []);
  return {
    code: rule.code,
    symbol,
    message: redactText(message),
    ...(fields.length > 0 ? { fields } : {}),
    retryable: rule.retryable,
  };
}

/**
 * Parses a Bulk 2.0 `sf__Error` cell (`CODE:message:Field1,Field2 --`) into a `Reject`.
 */
export function rejectFromBulkError(cell: string): Reject {
  const match = /^([A-Z_]+):(.*?)(?::([^:]*?))?\s*(--)?\s*$/s.exec(cell.trim());
  if (!match) return rejectFromSalesforceErrors([{ statusCode: 'UNKNOWN_EXCEPTION', message: cell }]);
  const fields = (match[3] ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  return rejectFromSalesforceErrors([{ statusCode: match[1], message: match[2] ?? '', fields }]);
}

/** What the HTTP layer knows about a failed call, besides the thrown error. */
export interface FailedCall {
  /** HTTP method of the call; decides whether a lost answer leaves the CRM in doubt. */
  readonly method: string;
  /** Where the call went, without host or query string (never carries a secret). */
  readonly path: string;
  /** HTTP status, when an answer came back. */
  readonly status?: number;
  /** Response headers (lower-case names), when an answer came back. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The parsed error body, when it was the Salesforce error array. */
  readonly body?: unknown;
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/**
 * Parses `Retry-After` (delta seconds or an HTTP-date) into milliseconds. Salesforce itself does
 * not send it, but proxies and gateways in front of it do, and the runtime must honour it.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Reads `errorCode`/`message` from whatever jsforce threw or the body held. */
function vendorDetails(error: unknown, body: unknown): { code?: string; message?: string } {
  const first = Array.isArray(body) ? (body[0] as SalesforceErrorItem | undefined) : undefined;
  if (first?.errorCode) return { code: first.errorCode, message: first.message };
  if (typeof error === 'object' && error !== null) {
    const e = error as { errorCode?: unknown; name?: unknown; message?: unknown; data?: unknown };
    const data = Array.isArray(e.data) ? (e.data[0] as SalesforceErrorItem | undefined) : (e.data as SalesforceErrorItem | undefined);
    const code = typeof e.errorCode === 'string' ? e.errorCode : typeof data?.errorCode === 'string' ? data.errorCode : undefined;
    const message = typeof data?.message === 'string' ? data.message : typeof e.message === 'string' ? e.message : undefined;
    return { code, message };
  }
  return { message: typeof error === 'string' ? error : undefined };
}

/**
 * Maps one failed Salesforce call to a `CrmError`.
 *
 * - `INVALID_SESSION_ID` / 401: `auth` (the caller refreshes once before giving up);
 * - `REQUEST_LIMIT_EXCEEDED` with `TotalRequests`: `rate-limited`, quota exhausted, not retryable;
 *   with a concurrency message: `rate-limited`, retryable;
 * - 429 / 503 / 5xx / `UNABLE_TO_LOCK_ROW` / `QUERY_TIMEOUT` / socket errors / bodies that are not
 *   JSON: `transient`; `Retry-After` is kept; a write whose answer was lost is `inDoubt`, but a
 *   connect-phase failure (refused, DNS, unreachable, connect time-out, TLS handshake) never is:
 *   the request did not leave the machine;
 * - schema and query errors: `invalid-request`; `NOT_FOUND`/`INVALID_TYPE`: `not-found`;
 * - `INVALID_REPLICATION_DATE`: `retention-exceeded`.
 */
export function mapSalesforceError(error: unknown, call: FailedCall): CrmError {
  const where = `${call.method} ${call.path}`;
  const retryAfterMs = parseRetryAfter(call.headers?.['retry-after']);
  const base = { httpStatus: call.status, cause: redact(error), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  // jsforce, node-fetch and undici (`fetch failed` with the socket error on a nested `cause`) wrap it.
  const socket = networkFailure(error);
  if (socket !== undefined || call.status === undefined) {
    if (socket?.phase === 'connect') {
      return crmError('transient', CONNECTOR_ID, `${where} could not reach Salesforce (${socket.code}): nothing was sent; check the instance URL and the network, the call is retried`, {
        ...base,
        vendorCode: socket.code,
      });
    }
    const inDoubt = WRITE_METHODS.has(call.method);
    const reason = socket?.code ?? (error instanceof Error ? error.message : 'no answer');
    return crmError('transient', CONNECTOR_ID, `${where} failed before Salesforce answered (${reason})${inDoubt ? '; the write may or may not have been applied' : ''}; retry later`, {
      ...base,
      vendorCode: socket?.code,
      inDoubt,
    });
  }
  const { code, message } = vendorDetails(error, call.body);
  const vendor = { vendorCode: code, vendorMessage: message };
  const status = call.status;
  const said = message ? `: ${message}` : '';
  switch (code) {
    case 'INVALID_SESSION_ID':
      return crmError('auth', CONNECTOR_ID, `${where}: the session expired or is invalid and could not be refreshed${said}; check the credentials`, { ...base, ...vendor });
    case 'REQUEST_LIMIT_EXCEEDED': {
      // 403 is Salesforce's daily quota (or the concurrency cap, by message); a 429 from a gateway is a short back-off.
      const quotaExhausted = status === 403 && !/Concurrent/i.test(message ?? '');
      return crmError('rate-limited', CONNECTOR_ID, quotaExhausted
        ? `${where}: the org's 24-hour API request quota is used up${said}; wait for the quota to recover or raise it`
        : `${where}: too many requests right now${said}; retry after the indicated delay with fewer requests in flight`, { ...base, ...vendor, quotaExhausted });
    }
    case 'UNABLE_TO_LOCK_ROW':
    case 'QUERY_TIMEOUT':
    case 'SERVER_UNAVAILABLE':
    case 'UNKNOWN_EXCEPTION':
    case 'INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE':
      return crmError('transient', CONNECTOR_ID, `${where}: Salesforce is temporarily unable to serve the request${said}; retry later`, { ...base, ...vendor });
    case 'INVALID_REPLICATION_DATE':
      return crmError('retention-exceeded', CONNECTOR_ID, `${where}: the window reaches before what Salesforce still keeps (15 days of deleted records)${said}; run a full re-sync instead`, { ...base, ...vendor });
    case 'INVALID_TYPE':
    case 'NOT_FOUND':
      return crmError('not-found', CONNECTOR_ID, `${where}: the object or record does not exist${said}; check the object name with listObjects()`, { ...base, ...vendor });
    case 'INSUFFICIENT_ACCESS_OR_READONLY':
    case 'INSUFFICIENT_ACCESS':
    case 'API_DISABLED_FOR_ORG':
    case 'API_CURRENTLY_DISABLED':
      return crmError('permission', CONNECTOR_ID, `${where}: the user lacks a permission${said}; grant it in the user's profile or permission sets`, { ...base, ...vendor });
    case 'DUPLICATE_VALUE':
    case 'MULTIPLE_CHOICES':
      return crmError('conflict', CONNECTOR_ID, `${where}: the key matches more than one record or a unique value already exists${said}`, { ...base, ...vendor });
    case 'INVALID_FIELD':
      return crmError('invalid-request', CONNECTOR_ID, `${where}: Salesforce refused the request${said}`, { ...base, ...vendor, unknownField: true });
    case 'MALFORMED_QUERY':
    case 'INVALID_QUERY_FILTER_OPERATOR':
    case 'MALFORMED_ID':
    case 'EXCEEDED_ID_LIMIT':
    case 'JSON_PARSER_ERROR':
    case 'INVALID_QUERY_LOCATOR':
      return crmError('invalid-request', CONNECTOR_ID, `${where}: Salesforce refused the request${said}`, { ...base, ...vendor });
    default:
      break;
  }
  if (status === 401) return crmError('auth', CONNECTOR_ID, `${where}: HTTP 401${said}; check the credentials`, { ...base, ...vendor });
  if (status === 429) return crmError('rate-limited', CONNECTOR_ID, `${where}: HTTP 429, too many requests; retry after the indicated delay`, { ...base, ...vendor });
  if (status >= 500 || status === 408 || /^ERROR_HTTP_/.test(code ?? '')) {
    return crmError('transient', CONNECTOR_ID, `${where}: HTTP ${status}, Salesforce is unavailable or answered something that is not JSON; retry later`, {
      ...base,
      ...vendor,
      vendorMessage: message?.slice(0, 200),
      inDoubt: status >= 500 && WRITE_METHODS.has(call.method) && status !== 503,
    });
  }
  if (status === 403) return crmError('permission', CONNECTOR_ID, `${where}: HTTP 403${said}`, { ...base, ...vendor });
  if (status === 404) return crmError('not-found', CONNECTOR_ID, `${where}: HTTP 404${said}`, { ...base, ...vendor });
  if (status === 409) return crmError('conflict', CONNECTOR_ID, `${where}: HTTP 409${said}`, { ...base, ...vendor });
  if (status >= 400) return crmError('invalid-request', CONNECTOR_ID, `${where}: HTTP ${status}${said}`, { ...base, ...vendor });
  return crmError('unknown', CONNECTOR_ID, `${where}: unexpected answer (HTTP ${status})${said}`, { ...base, ...vendor });
}

/** An answer came back with status 2xx but its body is not the JSON Salesforce sends (truncated). */
export function malformedAnswerError(call: FailedCall): CrmError {
  return crmError('transient', CONNECTOR_ID, `${call.method} ${call.path}: the answer was cut off or is not JSON; retry later`, {
    httpStatus: call.status,
    inDoubt: WRITE_METHODS.has(call.method),
  });
}
