/**
 * Opens the database the CLI keeps options, journals, leases and local tables in: a SQLite file
 * (the default) or a PostgreSQL schema (a `postgres://` / `postgresql://` connection string). Every
 * command works with both through {@link CliStore}.
 *
 * Where the location comes from: `--db`, else `$CRM_SYNC_DB`, else the `database:` key of the
 * accounts file (`--accounts`, `$CRM_SYNC_ACCOUNTS`, `./crm-sync.accounts.yaml`), else
 * `.crm-sync/crm-sync.sqlite`. A connection string's password is registered as a secret the moment
 * it is read, and only ever shown masked (`postgres://crm:***@db/app`).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { registerSecret, type ExportJournal, type LeaseStore, type OptionStore, type RunHistoryStore } from '@crm-sync/sdk';
import { isPostgresUrl, openPostgresStore, redactConnectionString, type PostgresRecordTables } from '@crm-sync/store-postgres';
import { openSqliteStore, type SqliteRecordTables } from '@crm-sync/store-sqlite';
import { err, ok, type Result } from 'neverthrow';
import { describeThrown, invalidInput, runFailed, type CliError } from './cli-error.js';
import type { CliIo } from './io.js';
import { readYamlFile } from './yaml-file.js';

/** The default database file, relative to the working directory (git-ignored `.crm-sync/`). */
const DEFAULT_DB_FILE = '.crm-sync/crm-sync.sqlite';

/** The default accounts file (as in `accounts/load-accounts.ts`). */
const DEFAULT_ACCOUNTS_FILE = 'crm-sync.accounts.yaml';

/** The local tables of either store: what the commands use of them. */
export type CliRecordTables = SqliteRecordTables | PostgresRecordTables;

/** The stores of the CLI's database, SQLite or PostgreSQL. */
export interface CliStore {
  /** The file path, or the connection string with its password masked: safe to print. */
  readonly path: string;
  /** `sqlite` or `postgres`. */
  readonly kind: 'sqlite' | 'postgres';
  readonly options: OptionStore;
  readonly journal: ExportJournal;
  readonly records: CliRecordTables;
  readonly leases: LeaseStore;
  /** The run history: every run, its progress samples and its rejects. */
  readonly history: RunHistoryStore;
  /** Closes the file or ends the pool. */
  close(): Promise<void>;
}

/**
 * The database: `--db`, else `$CRM_SYNC_DB`, else the accounts file's `database:`, else
 * {@link DEFAULT_DB_FILE}. A file path comes back absolute; a connection string unchanged (its
 * password registered as a secret).
 */
export function databasePath(io: CliIo, option: string | undefined, accountsFile?: string): string {
  const fromEnv = io.env.CRM_SYNC_DB !== undefined && io.env.CRM_SYNC_DB !== '' ? io.env.CRM_SYNC_DB : undefined;
  const chosen = option ?? fromEnv ?? fromAccountsFile(io, accountsFile);
  if (chosen !== undefined && isPostgresUrl(chosen)) {
    registerPassword(chosen);
    return chosen;
  }
  return resolve(io.cwd, chosen ?? DEFAULT_DB_FILE);
}

/** The accounts file's top-level `database:` (a path resolves from the file's directory); `undefined` when none. */
function fromAccountsFile(io: CliIo, accountsFile: string | undefined): string | undefined {
  const named = accountsFile ?? (io.env.CRM_SYNC_ACCOUNTS !== undefined && io.env.CRM_SYNC_ACCOUNTS !== '' ? io.env.CRM_SYNC_ACCOUNTS : DEFAULT_ACCOUNTS_FILE);
  const path = resolve(io.cwd, named);
  if (!existsSync(path)) return undefined;
  const read = readYamlFile(path, 'accounts file');
  if (read.isErr()) return undefined;
  const database = (read.value.data as { database?: unknown } | null)?.database;
  if (typeof database !== 'string' || database === '') return undefined;
  return isPostgresUrl(database) ? database : resolve(dirname(path), database);
}

function registerPassword(url: string): void {
  try {
    const password = new URL(url).password;
    if (password !== '') {
      registerSecret(password);
      registerSecret(decodeURIComponent(password));
    }
  } catch {
    // Not a URL: openPostgresStore reports it.
  }
}

/** True when `location` is a PostgreSQL connection string. */
export function isPostgresLocation(location: string): boolean {
  return isPostgresUrl(location);
}

/** The location as it may be printed: a path, or the connection string with its password masked. */
export function shownDatabase(location: string): string {
  return isPostgresUrl(location) ? redactConnectionString(location) : location;
}

/**
 * Whether the database is there to read: the file exists, or (PostgreSQL) always: a server
 * database is opened (its schema created if missing) rather than looked for.
 */
export function databaseExists(location: string): boolean {
  return isPostgresUrl(location) || existsSync(location);
}

/**
 * A local path that stands for the database in file names next to it (the mock CRM's
 * `<database>.mock-crm.json`): the file itself, or for PostgreSQL
 * `.crm-sync/postgres-<hash of the masked URL>` in the working directory.
 */
export function databaseSidecarBase(io: CliIo, location: string): string {
  if (!isPostgresUrl(location)) return location;
  const hash = createHash('sha256').update(redactConnectionString(location)).digest('hex').slice(0, 12);
  return resolve(io.cwd, '.crm-sync', `postgres-${hash}`);
}

/**
 * Opens the store at `location`. A SQLite file (created with its directory if needed) is checked
 * first (`PRAGMA quick_check`, about 150 ms per 100,000 rows): a damaged file is a run failure
 * (exit 1) naming the path and what to do, before anything is read or written. A PostgreSQL URL
 * connects and migrates the schema (`?schema=name` picks the schema, default `crm_sync`): an
 * unreachable server or a refused login is a run failure whose message never holds the password.
 */
export async function openStore(location: string): Promise<Result<CliStore, CliError>> {
  if (isPostgresUrl(location)) return openPostgres(location);
  try {
    mkdirSync(dirname(location), { recursive: true });
  } catch (thrown) {
    return err(invalidInput(`cannot create the directory of the database "${location}": ${describeThrown(thrown)}`));
  }
  const opened = openSqliteStore(location, { quickCheck: true });
  if (opened.isErr()) return err(opened.error.code === 'corrupt' ? runFailed(opened.error.message) : invalidInput(opened.error.message));
  const store = opened.value;
  return ok({
    path: store.path,
    kind: 'sqlite',
    options: store.options,
    journal: store.journal,
    records: store.records,
    leases: store.leases,
    history: store.history,
    close: async () => store.close(),
  });
}

async function openPostgres(location: string): Promise<Result<CliStore, CliError>> {
  registerPassword(location);
  let connectionString = location;
  let schema: string | undefined;
  try {
    const url = new URL(location);
    const fromQuery = url.searchParams.get('schema');
    if (fromQuery !== null) {
      schema = fromQuery;
      url.searchParams.delete('schema');
      connectionString = url.toString();
    }
  } catch {
    // Not a URL: openPostgresStore says so.
  }
  const opened = await openPostgresStore(connectionString, schema === undefined ? {} : { schema });
  if (opened.isErr()) return err(opened.error.code === 'invalid-argument' ? invalidInput(opened.error.message) : runFailed(opened.error.message));
  const store = opened.value;
  return ok({
    path: redactConnectionString(location),
    kind: 'postgres',
    options: store.options,
    journal: store.journal,
    records: store.records,
    leases: store.leases,
    history: store.history,
    close: () => store.close(),
  });
}
