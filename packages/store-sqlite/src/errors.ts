/**
 * The one error type of `@crm-sync/store-sqlite`, and the single place where raw SQLite errors
 * become it. Messages are prefixed `[crm-sync] [store-sqlite]` and redacted.
 *
 * @module
 */
import { redactText, StaleFenceError } from '@crm-sync/sdk';

/**
 * What went wrong, for callers that branch on it:
 * - `open-failed`: the database file could not be opened or is not a crm-sync SQLite file;
 * - `invalid-table-name`: a local table name is not a plain identifier or is reserved;
 * - `invalid-argument`: another argument is out of range (e.g. a batch size);
 * - `run-conflict`: the job already has an open export run;
 * - `run-not-found`: no export run has that id;
 * - `constraint`: a write would break a uniqueness rule (e.g. one CRM id on two local rows);
 * - `closed`: the store was used after {@link SqliteStore.close};
 * - `corrupt`: the file is damaged (SQLite's `SQLITE_CORRUPT` or `SQLITE_NOTADB` on a read or
 *   write, or `PRAGMA quick_check` found problems on open with `quickCheck: true`): restore it
 *   from a backup or move it away;
 * - `sqlite`: any other SQLite failure (disk full, busy past the timeout).
 */
export type SqliteStoreErrorCode =
  | 'open-failed'
  | 'invalid-table-name'
  | 'invalid-argument'
  | 'run-conflict'
  | 'run-not-found'
  | 'constraint'
  | 'closed'
  | 'corrupt'
  | 'sqlite';

/** An error raised by a SQLite store. Rejected promises and `Err` results carry it. */
export class SqliteStoreError extends Error {
  override readonly name = 'SqliteStoreError';
  /** What went wrong; see {@link SqliteStoreErrorCode}. */
  readonly code: SqliteStoreErrorCode;

  /**
   * @param code - what went wrong
   * @param message - what, where and how to fix it, without the prefix (added here)
   * @param cause - the underlying error, if any (its message is redacted)
   */
  constructor(code: SqliteStoreErrorCode, message: string, cause?: unknown) {
    super(`[crm-sync] [store-sqlite] ${redactText(message)}`, cause === undefined ? undefined : { cause: redactCause(cause) });
    this.code = code;
  }
}

/** Keeps only a redacted message and the SQLite code of a cause: values in it may be sensitive. */
function redactCause(cause: unknown): Error {
  if (!(cause instanceof Error)) return new Error(redactText(String(cause)));
  const copy = new Error(redactText(cause.message));
  copy.name = cause.name;
  const sqliteCode = (cause as { code?: unknown }).code;
  if (typeof sqliteCode === 'string') Object.assign(copy, { code: sqliteCode });
  return copy;
}

/**
 * Turns anything a SQLite call threw into a {@link SqliteStoreError}, saying which operation
 * failed. Our own errors, and a refused fence (`StaleFenceError`), pass through unchanged.
 */
export function toStoreError(error: unknown, operation: string): SqliteStoreError | StaleFenceError {
  if (error instanceof SqliteStoreError || error instanceof StaleFenceError) return error;
  const sqliteCode = (error as { code?: unknown } | null)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  if (typeof sqliteCode === 'string' && sqliteCode.startsWith('SQLITE_CONSTRAINT')) {
    return new SqliteStoreError('constraint', `${operation} failed: ${detail}.`, error);
  }
  if (typeof sqliteCode === 'string' && (sqliteCode.startsWith('SQLITE_CORRUPT') || sqliteCode === 'SQLITE_NOTADB')) {
    return new SqliteStoreError('corrupt', `${operation} failed: the database file is damaged (${detail}). Restore it from a backup, or move it away and start with a new file.`, error);
  }
  if (error instanceof TypeError && /database connection is not open/i.test(detail)) {
    return new SqliteStoreError('closed', `${operation} failed: the store is closed. Open it again with openSqliteStore().`, error);
  }
  return new SqliteStoreError('sqlite', `${operation} failed: ${detail}.`, error);
}
