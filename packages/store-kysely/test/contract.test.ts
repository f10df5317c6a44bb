/**
 * The store contract suite on the Kysely table adapter, with a typed table and an integer key, on
 * SQLite and PostgreSQL: the adapter (records) and KyselyOptionStore (options) over the same
 * connection as crm-sync's own stores (journal, leases, history), whose lease table the adapter's
 * fenced writes are checked against.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { describeStoreContract, type StoreRecordTable, type StoresUnderTest } from '@crm-sync/testkit';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { openPostgresStore } from '@crm-sync/store-postgres';
import type { SourceRecord } from '@crm-sync/sdk';
import { KyselyOptionStore, kyselyRecordTables, type KyselyTableSpec } from '../src/index.js';
import { pgUrl } from './setup.js';

const recordTable: StoreRecordTable = { name: 'people', keyType: 'integer', textFields: ['email', 'phone', 'first_name'] };

function peopleSpec(schema?: string): KyselyTableSpec {
  return {
    name: 'people',
    ...(schema === undefined ? {} : { schema }),
    key: { column: 'id', type: 'integer' },
    crmId: 'crm_id',
    changedAt: 'changed_at',
    syncedAt: 'synced_at',
    deletedAt: 'deleted_at',
    fields: { email: { column: 'email', type: 'text', maxLength: 200 }, phone: 'text', first_name: 'text' },
  };
}

/** Seeds rows through Kysely: the test's stand-in for the application writing its own table. */
async function seed(db: Kysely<any>, schema: string | undefined, rows: readonly SourceRecord[]): Promise<void> {
  const on = schema === undefined ? db : db.withSchema(schema);
  for (const row of rows) {
    await on
      .insertInto('people')
      .values({ id: Number(row.key), crm_id: row.crmId ?? null, changed_at: row.changedAt ?? null, ...row.values })
      .execute();
  }
}

describeStoreContract({
  name: 'kysely (sqlite, typed table, integer key)',
  recordTable,
  factory: (): StoresUnderTest => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-sync-kysely-contract-'));
    const database = new Database(join(dir, 'app.sqlite'));
    database.exec(`CREATE TABLE people (id INTEGER PRIMARY KEY, crm_id TEXT UNIQUE, email TEXT, phone TEXT, first_name TEXT,
      changed_at TEXT, synced_at TEXT, deleted_at TEXT)`);
    const store = openSqliteStore(database, { synchronous: 'NORMAL' })._unsafeUnwrap();
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database }) });
    const options = new KyselyOptionStore(db);
    return {
      options,
      journal: store.journal,
      leases: store.leases,
      history: store.history,
      records: kyselyRecordTables(db, { options, tables: [peopleSpec()] }),
      seed: (_table, rows) => seed(db, undefined, rows),
      close: async () => {
        store.close();
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

const prefix = `t_kysely_contract_${randomBytes(4).toString('hex')}`;
let counter = 0;

if (pgUrl !== undefined) {
  const url = pgUrl;
  describeStoreContract({
    name: 'kysely (postgres, typed table, integer key)',
    recordTable,
    factory: async (): Promise<StoresUnderTest> => {
      const schema = `${prefix}_${counter++}`;
      const pool = new pg.Pool({ connectionString: url, max: 3 });
      pool.on('error', () => undefined);
      const store = (await openPostgresStore(pool, { schema }))._unsafeUnwrap();
      await pool.query(`CREATE TABLE "${schema}".people (id integer PRIMARY KEY, crm_id text UNIQUE, email varchar(200), phone text, first_name text,
        changed_at timestamptz, synced_at timestamptz, deleted_at timestamptz)`);
      // Integer keys the database does not generate here: imports key new rows by a sequence.
      await pool.query(`CREATE SEQUENCE "${schema}".people_ids START 1000; ALTER TABLE "${schema}".people ALTER COLUMN id SET DEFAULT nextval('"${schema}".people_ids')`);
      const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
      const options = new KyselyOptionStore(db, { schema });
      return {
        options,
        journal: store.journal,
        leases: store.leases,
        history: store.history,
        records: kyselyRecordTables(db, { options, tables: [peopleSpec(schema)] }),
        seed: (_table, rows) => seed(db, schema, rows),
        close: async () => {
          await store.close();
          await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(db);
          await db.destroy();
        },
      };
    },
  });
}
