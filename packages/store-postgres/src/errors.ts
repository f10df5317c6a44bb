/**
 * The one error type of `@crm-sync/store-postgres`, and the single place where raw `pg` errors
 * become it. Messages are prefixed `[crm-sync] [store-postgres]`, redacted, and never carry the
 * connection string's password (the store only ever prints {@link redactConnectionString}'s form).
 *
 * @module
 */
import { redactText, StaleFenceError } from '@crm-sync/sdk';

/**
 * What went wrong, for callers that branch on it (the same codes as `SqliteStoreError` where the
 * meaning is the same, plus the server's own failures):
 * - `connection-failed`: the server cannot be reached (refused, unknown host, timeout, starting up);
 * - `auth-failed`: the server refused the role or its password (SQLSTATE 28P01 / 28000);
 * - `permission-denied`: the role lacks a privilege (SQLSTATE 42501): see the GRANTs in the guide;
 * - `connection-lost`: the connection dropped mid-call (server restart, `pg_terminate_backend`,
 *   network): the transaction was rolled back, nothing of it was stored;
 * - `serialization`: a serialization failure or deadlock (40001 / 40P01) persisted after retries;
 * - `constraint`: a write would break a uniqueness rule (e.g. one CRM id on two local rows);
 * - `schema-too-new`: the schema was migrated by a newer release;
 * - `invalid-table-name`, `invalid-argument`, `run-conflict`, `run-not-found`, `closed`: as in
 *   `@crm-sync/store-sqlite`;
 * - `postgres`: any other server failure.
 */
export type PostgresStoreErrorCode =
  | 'connection-failed'
  | 'auth-failed'
  | 'permission-denied'
  | 'connection-lost'
  | 'serialization'
  | 'constraint'
  | 'schema-too-new'
  | 'invalid-table-name'
  | 'invalid-argument'
  | 'run-conflict'
  | 'run-not-found'
  | 'closed'
  | 'postgres';

/** An error raised by a PostgreSQL store. Rejected promises and `Err` results carry it. */
export class PostgresStoreError extends Error {
  override readonly name = 'PostgresStoreError';
  /** What went wrong; see {@link PostgresStoreErrorCode}. */
  readonly code: PostgresStoreErrorCode;
  /** The server's SQLSTATE (e.g. `23505`), when the server sent one. */
  readonly sqlState?: string;

  /**
   * @param code - what went wrong
   * @param message - what, where and how to fix it, without the prefix (added here)
   * @param cause - the underlying error, if any (only its redacted message and codes are kept)
   */
  constructor(code: PostgresStoreErrorCode, message: string, cause?: unknown) {
    super(`[crm-sync] [store-postgres] ${redactText(message)}`, cause === undefined ? undefined : { cause: redactCause(cause) });
    this.code = code;
    const sqlState = sqlStateOf(cause);
    if (sqlState !== undefined) this.sqlState = sqlState;
  }
}

/**
 * A connection string with its password replaced by `***` (and `password=` parameters masked), for
 * messages and logs. Text that is not a URL is returned with only the `password=` masking applied.
 */
export function redactConnectionString(connectionString: string): string {
  let text = connectionString;
  try {
    const url = new URL(connectionString);
    if (url.password !== '') {
      url.password = '***';
      text = url.toString();
    }
  } catch {
    // Not a URL: fall through to the parameter masking.
  }
  return text.replace(/(password=)[^&\s]+/gi, '$1***');
}

function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Keeps only a redacted message and the codes of a cause: values in it may be sensitive. */
function redactCause(cause: unknown): Error {
  if (!(cause instanceof Error)) return new Error(redactText(String(cause)));
  const copy = new Error(redactText(cause.message));
  copy.name = cause.name;
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}

/** Node network error codes that mean "the server cannot be reached". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/** True for SQLSTATEs a transaction may simply be run again after: serialization failure, deadlock. */
export function isRetryable(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state === '40001' || state === '40P01';
}

/** True when the error means the connection is gone (the client must be discarded, not reused). */
export function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && (code === 'ECONNRESET' || code === 'EPIPE' || code === '57P01' || code === '57P02' || code === '25P03' || code.startsWith('08'))) {
    return true;
  }
  return /Connection terminated|connection is closed|Client has encountered a connection error|terminating connection/i.test(message);
}

/**
 * Turns anything a `pg` call threw into a {@link PostgresStoreError}, saying which operation
 * failed. Our own errors, and a refused fence (`StaleFenceError`), pass through unchanged.
 */
export function toStoreError(error: unknown, operation: string): PostgresStoreError | StaleFenceError {
  if (error instanceof PostgresStoreError || error instanceof StaleFenceError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const state = sqlStateOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && UNREACHABLE.has(code)) {
    return new PostgresStoreError(
      'connection-failed',
      `${operation} failed: the PostgreSQL server cannot be reached (${code}). Check that it runs and that host and port of the connection string are right.`,
      error,
    );
  }
  if (state === '28P01' || state === '28000') {
    return new PostgresStoreError(
      'auth-failed',
      `${operation} failed: PostgreSQL refused the login (${detail}). Check the role name and password of the connection string (the password is not shown).`,
      error,
    );
  }
  if (state === '57P03' || state === '53300') {
    return new PostgresStoreError('connection-failed', `${operation} failed: the server does not accept connections now (${detail}). Try again later.`, error);
  }
  if (state === '3D000') {
    return new PostgresStoreError('connection-failed', `${operation} failed: ${detail}. Create the database, or fix its name in the connection string.`, error);
  }
  if (state === '42501') {
    return new PostgresStoreError(
      'permission-denied',
      `${operation} failed: ${detail}. Grant the crm-sync role the privileges listed in docs/guides/stores.md (PostgreSQL setup).`,
      error,
    );
  }
  if (state === '40001' || state === '40P01') {
    return new PostgresStoreError('serialization', `${operation} failed after retries: ${detail}. Nothing of it was stored; run it again.`, error);
  }
  if (state?.startsWith('23') === true) return new PostgresStoreError('constraint', `${operation} failed: ${detail}.`, error);
  if (isConnectionLoss(error)) {
    return new PostgresStoreError(
      'connection-lost',
      `${operation} failed: the connection to PostgreSQL was lost (${detail}); the transaction was rolled back and nothing of it was stored. Run again once the server is back.`,
      error,
    );
  }
  if (/Cannot use a pool after calling end|pool is ending/i.test(detail)) {
    return new PostgresStoreError('closed', `${operation} failed: the store is closed. Open it again with openPostgresStore().`, error);
  }
  return new PostgresStoreError('postgres', `${operation} failed: ${detail}.`, error);
}
