/**
 * The two databases the adapter tests run on: SQLite (better-sqlite3, in a temp file) and
 * PostgreSQL (its own schema per test file, dropped afterwards; skipped with one line when the
 * server is unreachable, failing with CRM_SYNC_REQUIRE_SERVICES=1), each with a typed
 * `customers` table and crm-sync's stores sharing the connection.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { POSTGRES_SERVICE, requireService } from '@crm-sync/testkit';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { openPostgresStore } from '@crm-sync/store-postgres';
import type { ExportJournal, LeaseStore, RunHistoryStore } from '@crm-sync/sdk';
import { KyselyOptionStore, kyselyRecordTables, type KyselyRecordTables, type KyselyTableSpec } from '../src/index.js';

/** The server's URL, or `undefined` when the PostgreSQL tests of this file are skipped. */
export const pgUrl: string | undefined = await requireService(POSTGRES_SERVICE);

/** The typed table every test uses. */
export function customersSpec(schema?: string): KyselyTableSpec {
  return {
    name: 'customers',
    ...(schema === undefined ? {} : { schema }),
    key: { column: 'id', type: 'integer' },
    crmId: 'crm_id',
    changedAt: 'updated_at',
    syncedAt: 'synced_at',
    crmChangedAt: 'crm_changed_at',
    deletedAt: 'deleted_at',
    fields: {
      name: { column: 'full_name', type: 'text', nullable: false, maxLength: 40 },
      email: 'text',
      age: 'integer',
      active: 'boolean',
      score: 'number',
    },
  };
}

/** One database with the adapter, the option store and crm-sync's other stores on it. */
export interface Db {
  readonly dialect: 'sqlite' | 'postgres';
  readonly db: Kysely<any>;
  readonly options: KyselyOptionStore;
  readonly tables: KyselyRecordTables;
  readonly journal: ExportJournal;
  readonly leases: LeaseStore;
  readonly history: RunHistoryStore;
  /** The `customers` table, qualified. */
  readonly customers: string;
  /** Runs raw SQL on the database (setup, inspection). */
  query<R>(text: string): Promise<R[]>;
  close(): Promise<void>;
}

const CUSTOMERS_SQLITE = `CREATE TABLE customers (
  id             INTEGER PRIMARY KEY,
  crm_id         TEXT UNIQUE,
  full_name      TEXT NOT NULL,
  email          TEXT CHECK (email IS NULL OR email LIKE '%@%'),
  age            INTEGER,
  active         INTEGER,
  score          REAL,
  notes          TEXT DEFAULT 'kept',
  updated_at     TEXT,
  synced_at      TEXT,
  crm_changed_at TEXT,
  deleted_at     TEXT
)`;

const CUSTOMERS_PG = (schema: string) => `CREATE TABLE "${schema}".customers (
  id             serial PRIMARY KEY,
  crm_id         text UNIQUE,
  full_name      varchar(40) NOT NULL,
  email          text CHECK (email IS NULL OR email LIKE '%@%'),
  age            integer,
  active         boolean,
  score          double precision,
  notes          text DEFAULT 'kept',
  updated_at     timestamptz,
  synced_at      timestamptz,
  crm_changed_at timestamptz,
  deleted_at     timestamptz
)`;

/** A fixed clock, so synced times are predictable. */
export const NOW = new Date('2024-07-01T12:00:00.000Z');

/** SQLite in a temp file: store-sqlite and Kysely on the same better-sqlite3 connection. */
export async function openSqlite(): Promise<Db> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-sync-kysely-'));
  const database = new Database(join(dir, 'app.sqlite'));
  database.pragma('journal_mode = WAL');
  database.exec(CUSTOMERS_SQLITE);
  const store = openSqliteStore(database, { synchronous: 'NORMAL' })._unsafeUnwrap();
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database }) });
  const options = new KyselyOptionStore(db, { now: () => NOW });
  const tables = kyselyRecordTables(db, { options, tables: [customersSpec()], now: () => NOW });
  return {
    dialect: 'sqlite',
    db,
    options,
    tables,
    journal: store.journal,
    leases: store.leases,
    history: store.history,
    customers: 'customers',
    query: async <R>(text: string) => database.prepare(text).reader ? (database.prepare(text).all() as R[]) : (database.prepare(text).run(), []),
    close: async () => {
      store.close();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const prefix = `t_kysely_${randomBytes(4).toString('hex')}`;
let counter = 0;

/** PostgreSQL in a fresh schema: store-postgres and Kysely on the same pool. */
export async function openPostgres(): Promise<Db> {
  if (pgUrl === undefined) throw new Error('PostgreSQL is not reachable');
  const schema = `${prefix}_${counter++}`;
  const pool = new pg.Pool({ connectionString: pgUrl, max: 3 });
  pool.on('error', () => undefined);
  const store = (await openPostgresStore(pool, { schema }))._unsafeUnwrap();
  await pool.query(CUSTOMERS_PG(schema));
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  const options = new KyselyOptionStore(db, { schema, now: () => NOW });
  const tables = kyselyRecordTables(db, { options, tables: [customersSpec(schema)], now: () => NOW });
  return {
    dialect: 'postgres',
    db,
    options,
    tables,
    journal: store.journal,
    leases: store.leases,
    history: store.history,
    customers: `"${schema}".customers`,
    query: async <R>(text: string) => (await pool.query(text)).rows as R[],
    close: async () => {
      await store.close();
      await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(db);
      await db.destroy();
    },
  };
}

/** The databases to run on: SQLite always, PostgreSQL when reachable. */
export const databases: readonly { readonly name: 'sqlite' | 'postgres'; readonly open: () => Promise<Db> }[] = [
  { name: 'sqlite', open: openSqlite },
  ...(pgUrl === undefined ? [] : [{ name: 'postgres' as const, open: openPostgres }]),
];
