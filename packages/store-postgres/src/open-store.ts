/**
 * Opens one PostgreSQL schema as every crm-sync store at once: options (watermarks), the export
 * journal, the local record tables and the run leases, over one `pg` pool, so that records and
 * their watermark commit in one transaction, and every fenced write checks its lease there too.
 *
 * @module
 */
import pg from 'pg';
import { err, ok, type Result } from 'neverthrow';
import { DEFAULT_JOURNAL_RETENTION_DAYS, registerSecret, type JournalRetention, type CrmIdLink, type ExportJournal, type Fence, type LeaseStore, type LinkCrmIdsResult, type OptionStore, type RecordSink, type RecordSource, type RunHistoryStore } from '@crm-sync/sdk';
import { Database, type Connection } from './database.js';
import { PostgresStoreError, redactConnectionString, toStoreError } from './errors.js';
import { PostgresExportJournal } from './export-journal.js';
import { PostgresLeaseStore } from './lease-store.js';
import { type LocalTables, PostgresLocalTables } from './local-tables.js';
import { OptionWriter, PostgresOptionStore } from './option-store.js';
import { PostgresRunHistory } from './run-history.js';
import { migrate } from './schema.js';
import { checkSchemaName } from './table-name.js';

/** The schema crm-sync uses when {@link PostgresStoreOptions.schema} is not given. */
export const DEFAULT_SCHEMA = 'crm_sync';

/** Default number of pooled connections. */
export const DEFAULT_POOL_SIZE = 4;

/** Default of {@link PostgresStoreOptions.idleInTransactionTimeoutMs}: 10 s. */
export const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * The PostgreSQL schema holding crm-sync's tables and the local tables: created if missing. Give
   * each crm-sync installation sharing one database its own. Default {@link DEFAULT_SCHEMA}.
   */
  readonly schema?: string;
  /** Connections in the pool. Default {@link DEFAULT_POOL_SIZE}. */
  readonly poolSize?: number;
  /** How long to wait for a connection, in ms. Default 10,000. */
  readonly connectTimeoutMs?: number;
  /** `application_name` shown in `pg_stat_activity`. Default `crm-sync`. */
  readonly applicationName?: string;
  /**
   * How long, in ms, a connection of the store's pool may sit idle inside a transaction before the
   * server ends its session (`idle_in_transaction_session_timeout`), rolling the transaction back.
   * A step's transaction locks rows between round trips (the lease row `FOR SHARE` for its fence,
   * the journal's chunk rows `FOR UPDATE`): a process stopped in the middle of one (SIGSTOP, a VM
   * paused, a debugger) would otherwise hold them until it resumes, and a worker taking its run
   * over would wait on the lease row as long. Its transaction is then rolled back whole and its
   * next step fails as `connection-lost`; nothing half-written stays. A transaction of the store
   * is idle only for the client's own work between statements (milliseconds). Default
   * {@link DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS}; `0` turns the limit off. Not applied to a
   * client or pool the application passes in.
   */
  readonly idleInTransactionTimeoutMs?: number;
  /**
   * The clock for `updated_at`, `started_at` and similar stamps. Default the system clock; tests
   * pass a fixed one. Lease expiry never uses it: that is the server's `now()`.
   */
  readonly now?: () => Date;
  /**
   * How long the journal keeps a closed export run: when a run closes, the closed runs that
   * finished longer ago are deleted (never one with an entry in doubt). Days (> 0), or
   * `'forever'` to prune only on request. Default {@link @crm-sync/sdk!DEFAULT_JOURNAL_RETENTION_DAYS} (30).
   */
  readonly journalRetentionDays?: JournalRetention;
}

/** The local record tables: sink for imports, source for exports (with `linkCrmIds` and `columns`), and helpers. */
export type PostgresRecordTables = RecordSink &
  Omit<RecordSource, 'linkCrmIds'> &
  Required<Pick<RecordSource, 'columns'>> &
  LocalTables & {
    /** See {@link @crm-sync/sdk!RecordSource.linkCrmIds}: never deletes a row, returns the conflicts. */
    linkCrmIds(table: string, links: readonly CrmIdLink[], fence?: Fence): Promise<LinkCrmIdsResult>;
  };

/** One PostgreSQL schema holding every crm-sync store. */
export interface PostgresStore {
  /** The connection string with its password masked (`postgres://crm:***@db/app`): safe to print. */
  readonly location: string;
  /** The schema in use. */
  readonly schema: string;
  /** Named options; watermarks among them. */
  readonly options: OptionStore;
  /** The durable export journal. */
  readonly journal: ExportJournal;
  /** Local record tables; `write` commits records and checkpoint together (`atomicCheckpoint: true`). */
  readonly records: PostgresRecordTables;
  /**
   * Run leases (one run per job at a time, across processes and hosts, on the server's clock). Pass
   * them to the orchestrator (`leases`): the fences of its writes are checked here.
   */
  readonly leases: LeaseStore;
  /** The run history: every run, its progress samples and its rejects (fenced like the other writes). */
  readonly history: RunHistoryStore;
  /** The pool, for applications that query their local tables on the same connections (the application's, when it passed one). */
  readonly pool: pg.Pool;
  /**
   * Ends the pool. Later calls on the stores reject with code `closed`. Closing twice is
   * harmless. A pool the application passed to {@link openPostgresStore} is left open: the
   * application ends what it opened.
   */
  close(): Promise<void>;
}

/**
 * The stores of {@link openPostgresStore} opened on one client of the application's (a `pg.Client`,
 * or a client it checked out of its pool): every store call runs on that client, one at a time.
 */
export interface PostgresClientStore extends Omit<PostgresStore, 'pool'> {
  /** The application's client the stores run on. */
  readonly client: pg.ClientBase;
  /** Stops the stores (later calls reject with code `closed`); the client stays open and connected. */
  close(): Promise<void>;
}

/** True for a `pg.Pool` (it has `totalCount` and `connect`), false for a client. */
function isPool(connection: pg.Pool | pg.ClientBase): connection is pg.Pool {
  const candidate = connection as { totalCount?: unknown; idleCount?: unknown };
  return typeof candidate.totalCount === 'number' && typeof candidate.idleCount === 'number';
}

/** True when `location` is a PostgreSQL connection string (`postgres://` or `postgresql://`). */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * Connects to PostgreSQL, creates or migrates crm-sync's schema, and returns the stores. Resolves
 * to an `Err` (never rejects) when the server cannot be reached (`connection-failed`), refuses the
 * login (`auth-failed`), the role may not create the schema (`permission-denied`), or the schema
 * was migrated by a newer release (`schema-too-new`). No message ever contains the password.
 *
 * `connection` is a connection string (the store opens and ends its own pool), the application's
 * own `pg.Pool` (the store takes clients from it and never ends it), or one of the application's
 * clients (`pg.Client`, or a `PoolClient` it checked out; see {@link PostgresClientStore}). On a
 * client, a store call made while the application has a transaction open (`BEGIN` sent) joins it
 * as a savepoint: the application's write and crm-sync's (a watermark, records with their
 * checkpoint) commit or roll back together with the application's `COMMIT` or `ROLLBACK`.
 *
 * @example
 * ```ts
 * const store = (await openPostgresStore('postgres://crm@db.internal/app', { schema: 'crm_sync' }))._unsafeUnwrap();
 * await store.records.write('contacts', [{ crmId: '003A', values: { email: 'a@example.com' } }]);
 * await store.close();
 * ```
 */
export function openPostgresStore(connection: string | pg.Pool, options?: PostgresStoreOptions): Promise<Result<PostgresStore, PostgresStoreError>>;
/** On one of the application's clients: see {@link PostgresClientStore}. */
export function openPostgresStore(connection: pg.ClientBase, options?: PostgresStoreOptions): Promise<Result<PostgresClientStore, PostgresStoreError>>;
export async function openPostgresStore(
  connection: string | pg.Pool | pg.ClientBase,
  options: PostgresStoreOptions = {},
): Promise<Result<PostgresStore | PostgresClientStore, PostgresStoreError>> {
  let schema: string;
  try {
    schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
  } catch (error) {
    return err(error as PostgresStoreError);
  }
  const journalRetention = options.journalRetentionDays ?? DEFAULT_JOURNAL_RETENTION_DAYS;
  if (journalRetention !== 'forever' && !(typeof journalRetention === 'number' && Number.isFinite(journalRetention) && journalRetention > 0)) {
    return err(new PostgresStoreError('invalid-argument', `journalRetentionDays must be a number of days > 0 or 'forever', got ${JSON.stringify(journalRetention)}.`));
  }
  if (typeof connection === 'string') return openOnUrl(connection, schema, options);
  if (isPool(connection)) {
    const migrated = await migrateOn(connection, schema, 'the application pool');
    if (migrated.isErr()) return err(migrated.error);
    return ok({ location: 'the application pool', ...stores({ kind: 'pool', pool: connection, owned: false }, schema, options), pool: connection });
  }
  if (typeof (connection as { getTransactionStatus?: unknown }).getTransactionStatus !== 'function') {
    return err(
      new PostgresStoreError('invalid-argument', 'The pg client given to openPostgresStore has no getTransactionStatus(): use pg 8.12 or later, or pass a pg.Pool or a connection string.'),
    );
  }
  const client = connection;
  if (client.getTransactionStatus() !== 'I') {
    return err(
      new PostgresStoreError('invalid-argument', 'The pg client given to openPostgresStore is inside a transaction: open the store (it creates or migrates its schema and commits) before BEGIN.'),
    );
  }
  const migrated = await migrateOn(client, schema, 'the application client');
  if (migrated.isErr()) return err(migrated.error);
  return ok({ location: 'the application client', ...stores({ kind: 'client', client }, schema, options), client });
}

/** Opens a pool of the store's own on a connection string. */
async function openOnUrl(connectionString: string, schema: string, options: PostgresStoreOptions): Promise<Result<PostgresStore, PostgresStoreError>> {
  const location = redactConnectionString(connectionString);
  if (!isPostgresUrl(connectionString)) {
    return err(
      new PostgresStoreError('invalid-argument', `"${location}" is not a PostgreSQL connection string: use postgres://user[:password]@host[:port]/database.`),
    );
  }
  try {
    const url = new URL(connectionString);
    // Registered with the SDK's redaction: a run error or log line that somehow carries it is masked.
    if (url.password !== '') registerSecret(decodeURIComponent(url.password));
    const fromParameter = url.searchParams.get('password');
    if (fromParameter !== null) registerSecret(fromParameter);
  } catch {
    return err(
      new PostgresStoreError(
        'invalid-argument',
        `The PostgreSQL connection string is not a valid URL: use postgres://user[:password]@host[:port]/database, with special characters of the password percent-encoded.`,
      ),
    );
  }
  const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(poolSize) || poolSize < 1) {
    return err(new PostgresStoreError('invalid-argument', `poolSize must be a whole number >= 1, got ${poolSize}.`));
  }
  const idleInTransactionTimeoutMs = options.idleInTransactionTimeoutMs ?? DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS;
  if (!Number.isInteger(idleInTransactionTimeoutMs) || idleInTransactionTimeoutMs < 0) {
    return err(new PostgresStoreError('invalid-argument', `idleInTransactionTimeoutMs must be a whole number of ms >= 0 (0 turns it off), got ${idleInTransactionTimeoutMs}.`));
  }
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? 'crm-sync',
    idle_in_transaction_session_timeout: idleInTransactionTimeoutMs,
  });
  // An idle client whose connection dies (server restart) emits 'error' on the pool; without a
  // listener that would crash the process. The next query reports the failure instead.
  pool.on('error', () => undefined);
  const migrated = await migrateOn(pool, schema, location);
  if (migrated.isErr()) {
    await pool.end().catch(() => undefined);
    return err(migrated.error);
  }
  return ok({ location, ...stores({ kind: 'pool', pool, owned: true }, schema, options), pool });
}

/** Creates or migrates the schema on a pool (one client of it) or on the application's client. */
async function migrateOn(target: pg.Pool | pg.ClientBase, schema: string, location: string): Promise<Result<void, PostgresStoreError>> {
  try {
    if (isPool(target)) {
      const client = await target.connect();
      try {
        await migrate(client, schema);
      } finally {
        client.release();
      }
    } else {
      await migrate(target as pg.PoolClient, schema);
    }
  } catch (error) {
    return err(asOpenError(toStoreError(error, `Opening PostgreSQL store ${location} (schema "${schema}")`)));
  }
  return ok(undefined);
}

/** The stores over one connection. */
function stores(connection: Connection, schema: string, options: PostgresStoreOptions): Omit<PostgresStore, 'pool' | 'location'> {
  const db = new Database(connection, schema);
  const now = options.now ?? (() => new Date());
  const writer = new OptionWriter(db, now);
  const journalRetention = options.journalRetentionDays ?? DEFAULT_JOURNAL_RETENTION_DAYS;
  return {
    schema,
    options: new PostgresOptionStore(db, writer),
    journal: new PostgresExportJournal(db, now, journalRetention),
    records: new PostgresLocalTables(db, writer, now),
    leases: new PostgresLeaseStore(db),
    history: new PostgresRunHistory(db),
    close: () => db.end(),
  };
}

function asOpenError(error: unknown): PostgresStoreError {
  return error instanceof PostgresStoreError ? error : new PostgresStoreError('postgres', String(error));
}

/**
 * Drops a crm-sync schema with everything in it (options, journal, history, local tables): for a
 * fresh start (the CLI's demo) and tests. Refuses, with code `invalid-argument`, a schema that
 * holds no `crm_sync_migrations` table, so that it never drops an application's own schema.
 * Dropping a missing schema is harmless. Resolves to an `Err`, never rejects.
 */
export async function dropPostgresSchema(connectionString: string, schema: string): Promise<Result<void, PostgresStoreError>> {
  const location = redactConnectionString(connectionString);
  let name: string;
  try {
    name = checkSchemaName(schema);
  } catch (error) {
    return err(error as PostgresStoreError);
  }
  const client = new pg.Client({ connectionString });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const found = await client.query<{ schema_exists: boolean; ours: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM information_schema.schemata WHERE schema_name = $1) AS schema_exists,
              to_regclass($2) IS NOT NULL AS ours`,
      [name, `"${name}".crm_sync_migrations`],
    );
    const row = found.rows[0]!;
    if (!row.schema_exists) return ok(undefined);
    if (!row.ours) {
      return err(new PostgresStoreError('invalid-argument', `Schema "${name}" in ${location} is not a crm-sync schema (no crm_sync_migrations table); it was not dropped.`));
    }
    await client.query(`DROP SCHEMA "${name}" CASCADE`);
    return ok(undefined);
  } catch (error) {
    return err(asOpenError(toStoreError(error, `Dropping schema "${name}" of ${location}`)));
  } finally {
    await client.end().catch(() => undefined);
  }
}
