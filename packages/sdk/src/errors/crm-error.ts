/**
 * One error vocabulary across CRMs: a discriminated union on `kind`, each kind with a retry rule.
 *
 * Connectors map every vendor failure into a `CrmError` in one file (`errors.ts`); the runtime
 * wrapper decides what to retry from `retryable` and `retryAfterMs` alone.
 *
 * @module
 */
import { redactText } from './redact.js';

/** The error kinds. */
export type CrmErrorKind =
  | 'auth'
  | 'permission'
  | 'not-found'
  | 'invalid-request'
  | 'rate-limited'
  | 'transient'
  | 'retention-exceeded'
  | 'unsupported'
  | 'conflict'
  | 'unknown';

/** The fields every {@link CrmError} carries, whatever its kind. */
export interface CrmErrorFields {
  /** The connector id (`salesforce`, `dynamics`, `mock`, ...). */
  readonly connector: string;
  /** `[crm-sync] [<connector>] ...`, redacted. Says what, where and how to fix it. */
  readonly message: string;
  /** True when the same call may succeed if retried later. */
  readonly retryable: boolean;
  /** How long to wait before retrying, when the CRM said (Retry-After). */
  readonly retryAfterMs?: number;
  /** The vendor's error code (`REQUEST_LIMIT_EXCEEDED`, `0x80072322`, ...). */
  readonly vendorCode?: string;
  /** The vendor's message, redacted. */
  readonly vendorMessage?: string;
  /** HTTP status, when there was one. */
  readonly httpStatus?: number;
  /**
   * True when the request may have reached the CRM and been committed although no answer came
   * back (connection reset after sending, time-out, truncated answer). A non-idempotent call
   * (an `insert` batch) that fails in doubt is never retried blindly: the orchestrator settles it
   * through the journal and the sync key.
   */
  readonly inDoubt?: boolean;
  /**
   * True when the CRM refused a field name it does not know (Salesforce `INVALID_FIELD`, a
   * Dataverse "could not find a property named ..."): a cached description of the object may be
   * out of date, and the orchestrator drops it.
   */
  readonly unknownField?: boolean;
  /** The original error (redacted before it is logged). */
  readonly cause?: unknown;
}

/** Credentials were refused or expired and could not be refreshed. Not retryable. */
export interface AuthError extends CrmErrorFields {
  readonly kind: 'auth';
}
/** The account lacks a permission (object, field, audit read). Not retryable. */
export interface PermissionError extends CrmErrorFields {
  readonly kind: 'permission';
}
/** The object, record or endpoint does not exist. */
export interface NotFoundError extends CrmErrorFields {
  readonly kind: 'not-found';
}
/** The request itself is wrong (bad field, malformed query). Not retryable. */
export interface InvalidRequestError extends CrmErrorFields {
  readonly kind: 'invalid-request';
}
/**
 * Too many requests. Retryable after `retryAfterMs`. When `quotaExhausted` is true (Salesforce
 * `REQUEST_LIMIT_EXCEEDED`: the 24-hour API quota) a hot retry is pointless: it is not retryable.
 */
export interface RateLimitedError extends CrmErrorFields {
  readonly kind: 'rate-limited';
  readonly quotaExhausted?: boolean;
}
/** Network failure, 5xx, time-out, row lock, truncated body. Retryable. */
export interface TransientError extends CrmErrorFields {
  readonly kind: 'transient';
}
/** The asked window is older than the CRM keeps (deleted records, change tracking). */
export interface RetentionExceededError extends CrmErrorFields {
  readonly kind: 'retention-exceeded';
  /** The oldest instant the CRM still covers, when known. */
  readonly earliestAvailable?: string;
}
/** The connector or CRM cannot do this (e.g. auditing is off). */
export interface UnsupportedError extends CrmErrorFields {
  readonly kind: 'unsupported';
}
/** A concurrency or uniqueness conflict on the whole call. */
export interface ConflictError extends CrmErrorFields {
  readonly kind: 'conflict';
}
/** Anything else, including stray throws caught by the runtime wrapper. */
export interface UnknownError extends CrmErrorFields {
  readonly kind: 'unknown';
}

/** Any crm-sync error. Discriminate on `kind`. */
export type CrmError =
  | AuthError
  | PermissionError
  | NotFoundError
  | InvalidRequestError
  | RateLimitedError
  | TransientError
  | RetentionExceededError
  | UnsupportedError
  | ConflictError
  | UnknownError;

/** Whether each kind is retryable unless the connector says otherwise. */
export const DEFAULT_RETRYABLE: Readonly<Record<CrmErrorKind, boolean>> = {
  auth: false,
  permission: false,
  'not-found': false,
  'invalid-request': false,
  'rate-limited': true,
  transient: true,
  'retention-exceeded': false,
  unsupported: false,
  conflict: false,
  unknown: false,
};

/** Extra facts for {@link crmError}. */
export type CrmErrorDetails = Partial<Omit<CrmErrorFields, 'connector' | 'message'>> & {
  readonly quotaExhausted?: boolean;
  readonly earliestAvailable?: string;
};

/**
 * Builds a `CrmError`: prefixes the message with `[crm-sync] [<connector>]`, redacts it and the
 * vendor message, and fills `retryable` from the kind unless given.
 */
export function crmError<K extends CrmErrorKind>(
  kind: K,
  connector: string,
  message: string,
  details: CrmErrorDetails = {},
): Extract<CrmError, { kind: K }> {
  const prefix = `[crm-sync] [${connector}] `;
  const text = message.startsWith('[crm-sync]') ? message : prefix + message;
  const error: Record<string, unknown> = {
    kind,
    connector,
    message: redactText(text),
    retryable: details.retryable ?? (kind === 'rate-limited' && details.quotaExhausted ? false : DEFAULT_RETRYABLE[kind]),
  };
  for (const [key, value] of Object.entries(details)) {
    if (value === undefined || key === 'retryable') continue;
    error[key] = key === 'vendorMessage' && typeof value === 'string' ? redactText(value) : value;
  }
  return error as unknown as Extract<CrmError, { kind: K }>;
}

/** True when `value` looks like a {@link CrmError}. */
export function isCrmError(value: unknown): value is CrmError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    (value as { kind: string }).kind in DEFAULT_RETRYABLE &&
    typeof (value as { message?: unknown }).message === 'string' &&
    typeof (value as { retryable?: unknown }).retryable === 'boolean'
  );
}

/**
 * A throwable carrying a {@link CrmError}, for the edges where an exception is the right shape
 * (a CLI, a test). Its `message` is the error's message; `toJSON` never includes `cause`.
 */
export class CrmSyncError extends Error {
  override readonly name = 'CrmSyncError';
  constructor(readonly error: CrmError) {
    super(error.message);
  }
  /** The error's kind. */
  get kind(): CrmErrorKind {
    return this.error.kind;
  }
  toJSON(): Record<string, unknown> {
    const { cause: _cause, ...rest } = this.error;
    return { name: this.name, ...rest };
  }
}
