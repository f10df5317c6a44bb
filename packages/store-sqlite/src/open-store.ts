/**
 * Opens one SQLite file as every crm-sync store at once: options (watermarks), the export
 * journal, and the local record tables, all on one connection so that records and their
 * watermark can commit in one transaction.
 *
 * @module
 */
import Database from 'better-sqlite3';
import { err, ok, type Result } from 'neverthrow';
import { DEFAULT_JOURNAL_RETENTION_DAYS, type CrmIdLink, type ExportJournal, type Fence, type JournalRetention, type LeaseStore, type LinkCrmIdsResult, type OptionStore, type RecordSink, type RecordSource, type RunHistoryStore } from '@crm-sync/sdk';
import { SqliteStoreError, toStoreError } from './errors.js';
import { SqliteExportJournal } from './export-journal.js';
import { SqliteLeaseStore } from './lease-store.js';
import { type LocalTables, SqliteLocalTables } from './local-tables.js';
import { OptionWriter, SqliteOptionStore } from './option-store.js';
import { SqliteRunHistory } from './run-history.js';
import { ensureSchema } from './schema.js';

/** How hard SQLite works to keep a commit on disk; see {@link DEFAULT_SYNCHRONOUS}. */
export type SqliteSynchronous = 'NORMAL' | 'FULL';

/**
 * The default durability: `FULL`.
 *
 * The journal must survive a kill -9 at any point. In WAL mode both settings give that: a
 * committed transaction is in the WAL file (in the OS page cache, which a killed process does not
 * take with it), and a transaction cut short is never seen by the next reader. They differ on
 * power loss or an OS crash: `NORMAL` may lose the last commits (never corrupts), `FULL` fsyncs the
 * WAL on every commit and loses none, so a restart never re-sends a batch the journal had already
 * recorded as committed. `FULL` costs one fsync per transaction, and every journal and record call
 * here is one transaction per batch, not per record, so that cost is paid per batch. Measured on
 * 10,000 journal updates (`bench/journal-synchronous.mjs`, ext4): 200 per transaction, NORMAL
 * 56-58 ms vs FULL 68-107 ms (about 1-2 ms more per batch, nothing next to a CRM round trip); one
 * per transaction, NORMAL 365-406 ms vs FULL 1.8-3.0 s. Choose `NORMAL` for throwaway files.
 */
export const DEFAULT_SYNCHRONOUS: SqliteSynchronous = 'FULL';

/** Default wait for another connection's write lock before failing with SQLITE_BUSY. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** How long a write waits for another process holding the lock, in ms. Default 5,000. */
  readonly busyTimeoutMs?: number;
  /** Durability of each commit. Default {@link DEFAULT_SYNCHRONOUS} (`FULL`). */
  readonly synchronous?: SqliteSynchronous;
  /** The clock for `updated_at` and similar stamps. Default the system clock; tests pass a fixed one. */
  readonly now?: () => Date;
  /**
   * Run `PRAGMA quick_check` on open, before anything is written, and return an `Err` with code
   * `corrupt` when it finds a problem. Without it, damage is found only when a read or write
   * touches a damaged page, so a run that touches none could report success on a damaged file.
   * It reads the whole file: about 130-160 ms for 100,000 rows (a 26 MB file). Default `false`.
   */
  readonly quickCheck?: boolean;
  /**
   * How long the journal keeps a closed export run: when a run closes, the closed runs that
   * finished longer ago are deleted (never one with an entry in doubt). Days (> 0), or
   * `'forever'` to prune only on request. Default {@link @crm-sync/sdk!DEFAULT_JOURNAL_RETENTION_DAYS} (30).
   */
  readonly journalRetentionDays?: JournalRetention;
}

/** The local record tables: sink for imports, source for exports (with `linkCrmIds` and `columns`), and helpers. */
export type SqliteRecordTables = RecordSink &
  Omit<RecordSource, 'linkCrmIds'> &
  Required<Pick<RecordSource, 'columns'>> &
  LocalTables & {
    /** See {@link @crm-sync/sdk!RecordSource.linkCrmIds}: never deletes a row, returns the conflicts. */
    linkCrmIds(table: string, links: readonly CrmIdLink[], fence?: Fence): Promise<LinkCrmIdsResult>;
  };

/** One SQLite file holding every crm-sync store. */
export interface SqliteStore {
  /** The file path, or `:memory:`. */
  readonly path: string;
  /** The durability in effect. */
  readonly synchronous: SqliteSynchronous;
  /** Named options; watermarks among them. */
  readonly options: OptionStore;
  /** The durable export journal. */
  readonly journal: ExportJournal;
  /** Local record tables; `write` commits records and checkpoint together (`atomicCheckpoint: true`). */
  readonly records: SqliteRecordTables;
  /**
   * Run leases (one run per job at a time, across processes). Pass them to the orchestrator
   * (`leases`): the fences of its writes to `options`, `journal` and `records` are checked here.
   */
  readonly leases: LeaseStore;
  /**
   * The run history (every run of the orchestrator given it as `history`: counts, API calls,
   * samples, rejects). Its writes check the run's fence against `leases`.
   */
  readonly history: RunHistoryStore;
  /**
   * Closes the file. Later calls on the stores reject with code `closed`. Closing twice is
   * harmless. A store opened on the application's own connection (a `Database` passed to
   * {@link openSqliteStore}) leaves that connection open: the application closes what it opened.
   */
  close(): void;
}

/**
 * Opens (creating if needed) a SQLite file as crm-sync stores, in WAL mode. Returns an `Err` with
 * code `open-failed` when the file cannot be opened, is not a SQLite database, or was written by
 * a newer release.
 *
 * `location` is a file path (or `:memory:`), or the application's own open better-sqlite3
 * `Database`: then crm-sync's tables are created in that database, every store call runs on that
 * connection, and a call made while the application has a transaction open (`BEGIN`, or inside
 * `db.transaction(...)`) joins it as a savepoint: the application's write and crm-sync's (a
 * watermark, records with their checkpoint) commit or roll back together. On a shared connection
 * the journal mode is left as the application set it (WAL is recommended), `synchronous` is set
 * for the connection (default `FULL`), `busyTimeoutMs` only when given, and
 * {@link SqliteStore.close} does not close it.
 *
 * @example
 * ```ts
 * const store = openSqliteStore('crm-sync.db')._unsafeUnwrap();
 * await store.records.write('contacts', [{ crmId: '003A', values: { email: 'a@example.com' } }]);
 * store.close();
 * ```
 */
export function openSqliteStore(
  location: string | Database.Database,
  options: SqliteStoreOptions = {},
): Result<SqliteStore, SqliteStoreError> {
  const shared = typeof location !== 'string';
  const path = shared ? location.name : location;
  const synchronous = options.synchronous ?? DEFAULT_SYNCHRONOUS;
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
    return err(new SqliteStoreError('invalid-argument', `synchronous must be 'NORMAL' or 'FULL', got ${JSON.stringify(synchronous)}.`));
  }
  const journalRetention = options.journalRetentionDays ?? DEFAULT_JOURNAL_RETENTION_DAYS;
  if (journalRetention !== 'forever' && !(typeof journalRetention === 'number' && Number.isFinite(journalRetention) && journalRetention > 0)) {
    return err(new SqliteStoreError('invalid-argument', `journalRetentionDays must be a number of days > 0 or 'forever', got ${JSON.stringify(journalRetention)}.`));
  }
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    return err(new SqliteStoreError('invalid-argument', `busyTimeoutMs must be a whole number >= 0, got ${busyTimeoutMs}.`));
  }
  if (shared && !location.open) {
    return err(new SqliteStoreError('invalid-argument', `The better-sqlite3 Database given to openSqliteStore ("${path}") is closed. Pass an open connection.`));
  }
  let db: Database.Database | undefined;
  // Only what this call opened is closed here: a shared connection stays the application's.
  const closeOwn = (): void => {
    if (!shared) db?.close();
  };
  try {
    if (shared) {
      db = location;
      if (options.busyTimeoutMs !== undefined) db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    } else {
      db = new Database(path, { timeout: busyTimeoutMs });
    }
    if (options.quickCheck === true) {
      const problems = quickCheckProblems(db);
      if (problems.length > 0) {
        closeOwn();
        return err(
          new SqliteStoreError(
            'corrupt',
            `The SQLite file "${path}" is damaged (PRAGMA quick_check: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; ...' : ''}). Nothing was read or written. Restore it from a backup, or move it away and start with a new file.`,
          ),
        );
      }
    }
    // A shared connection keeps the application's journal mode (a persistent setting of its file).
    if (!shared) db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    ensureSchema(db);
  } catch (error) {
    closeOwn();
    const sqliteCode = (error as { code?: unknown } | null)?.code;
    if (typeof sqliteCode === 'string' && sqliteCode.startsWith('SQLITE_CORRUPT')) {
      const damaged = toStoreError(error, `Opening SQLite store "${path}"`);
      if (damaged instanceof SqliteStoreError) return err(damaged);
    }
    const detail = error instanceof Error ? error.message : String(error);
    return err(
      new SqliteStoreError(
        'open-failed',
        `Cannot open SQLite store "${path}": ${detail}. Check that the directory exists and is writable and that the file is a crm-sync SQLite database.`,
        error,
      ),
    );
  }
  const database = db;
  const now = options.now ?? (() => new Date());
  const optionWriter = new OptionWriter(database, now);
  const leases = new SqliteLeaseStore(database, now);
  // Group commit only on crm-sync's own connection: on the application's, a deferred step could
  // land inside a transaction the application opened after the step was issued.
  const journal = new SqliteExportJournal(database, now, leases, journalRetention, !shared);
  return ok({
    path,
    synchronous,
    options: new SqliteOptionStore(database, optionWriter, leases),
    journal,
    records: new SqliteLocalTables(database, optionWriter, now, leases),
    leases,
    history: new SqliteRunHistory(database, leases),
    close: () => {
      // Steps issued and not yet committed are committed first (their callers are still waiting).
      if (database.open) journal.flush();
      if (!shared && database.open) database.close();
    },
  });
}

/**
 * The problems `PRAGMA quick_check` lists (at most 10), none for a sound file. Damage it cannot
 * walk past (a table's root page) makes it throw `SQLITE_CORRUPT`: that is one problem too.
 */
function quickCheckProblems(db: Database.Database): string[] {
  try {
    const rows = db.pragma('quick_check(10)') as { quick_check: string }[];
    return rows.map((row) => row.quick_check).filter((line) => line !== 'ok');
  } catch (error) {
    const sqliteCode = (error as { code?: unknown } | null)?.code;
    if (typeof sqliteCode === 'string' && sqliteCode.startsWith('SQLITE_CORRUPT') && error instanceof Error) return [error.message];
    throw error;
  }
}
