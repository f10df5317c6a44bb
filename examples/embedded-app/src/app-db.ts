/**
 * The application's own database: its `customers` and `sync_rejects` tables, typed for Kysely,
 * created on SQLite (better-sqlite3) or in a PostgreSQL schema. None of this is crm-sync: an
 * application has it before it syncs anything.
 */
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type ColumnType, type Generated } from 'kysely';
import type pg from 'pg';

/** An ISO instant: text on SQLite, `timestamptz` on PostgreSQL (read back as a `Date`). */
export type Timestamp = ColumnType<string | Date, string, string>;

/** The application's customers: an integer key, typed columns, and the columns sync uses. */
export interface CustomersTable {
  id: Generated<number>;
  crm_id: string | null;
  first_name: string | null;
  last_name: string;
  email: string | null;
  /** When the application last changed the row (exports send rows changed since the last export). */
  updated_at: Timestamp | null;
  /** When the row was last written by an import or confirmed by an export. */
  synced_at: Timestamp | null;
  /** The CRM's change time of the record, written by imports. */
  crm_changed_at: Timestamp | null;
  /** Set when the record was deleted in the CRM. */
  deleted_at: Timestamp | null;
}

/** Records the sync refused: the CRM's, on import, or the application's, on export. */
export interface SyncRejectsTable {
  id: Generated<number>;
  activity: string;
  crm_id: string | null;
  local_key: string | null;
  code: string;
  message: string;
  rejected_at: Timestamp;
}

/** The application's tables, for `Kysely<AppTables>`. */
export interface AppTables {
  customers: CustomersTable;
  sync_rejects: SyncRejectsTable;
}

const SQLITE_DDL = `
CREATE TABLE IF NOT EXISTS customers (
  id             INTEGER PRIMARY KEY,
  crm_id         TEXT UNIQUE,
  first_name     TEXT,
  last_name      TEXT NOT NULL,
  email          TEXT,
  updated_at     TEXT,
  synced_at      TEXT,
  crm_changed_at TEXT,
  deleted_at     TEXT
);
CREATE TABLE IF NOT EXISTS sync_rejects (
  id          INTEGER PRIMARY KEY,
  activity    TEXT NOT NULL,
  crm_id      TEXT,
  local_key   TEXT,
  code        TEXT NOT NULL,
  message     TEXT NOT NULL,
  rejected_at TEXT NOT NULL
);`;

const postgresDdl = (schema: string): string => `
CREATE SCHEMA IF NOT EXISTS "${schema}";
CREATE TABLE IF NOT EXISTS "${schema}".customers (
  id             serial PRIMARY KEY,
  crm_id         text UNIQUE,
  first_name     varchar(40),
  last_name      varchar(40) NOT NULL,
  email          text,
  updated_at     timestamptz,
  synced_at      timestamptz,
  crm_changed_at timestamptz,
  deleted_at     timestamptz
);
CREATE TABLE IF NOT EXISTS "${schema}".sync_rejects (
  id          serial PRIMARY KEY,
  activity    text NOT NULL,
  crm_id      text,
  local_key   text,
  code        text NOT NULL,
  message     text NOT NULL,
  rejected_at timestamptz NOT NULL
);`;

/** The application's SQLite database: the file, its connection, and Kysely on that connection. */
export interface SqliteApp {
  readonly database: Database.Database;
  readonly db: Kysely<AppTables>;
}

/** Opens (and creates) the application's SQLite database in `file`, in WAL mode. */
export function openSqliteApp(file: string): SqliteApp {
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  database.exec(SQLITE_DDL);
  return { database, db: new Kysely<AppTables>({ dialect: new SqliteDialect({ database }) }) };
}

/** Creates the application's tables in `schema` and returns Kysely on the application's pool (use `db.withSchema(schema)` for the application's queries). */
export async function openPostgresApp(pool: pg.Pool, schema: string): Promise<Kysely<AppTables>> {
  await pool.query(postgresDdl(schema));
  return new Kysely<AppTables>({ dialect: new PostgresDialect({ pool }) });
}

/** Drops the application's PostgreSQL schema (tests). */
export async function dropPostgresApp(db: Kysely<AppTables>, schema: string): Promise<void> {
  await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(db);
}

/** The application adds a customer (what its own screens do). */
export async function addCustomer(db: Kysely<AppTables>, values: { first_name?: string; last_name: string; email?: string }): Promise<number> {
  const row = await db
    .insertInto('customers')
    .values({ first_name: values.first_name ?? null, last_name: values.last_name, email: values.email ?? null, updated_at: new Date().toISOString() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The application changes a customer: it sets `updated_at`, so the next export sends the row. */
export async function changeCustomer(db: Kysely<AppTables>, id: number, values: { first_name?: string | null; last_name?: string; email?: string | null }): Promise<void> {
  await db.updateTable('customers').set({ ...values, updated_at: new Date().toISOString() }).where('id', '=', id).execute();
}
