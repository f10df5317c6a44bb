/**
 * The orchestrator on the table adapter (SQLite): an import into a typed table where two records
 * are refused (one by the adapter's checks, one by the database) ends with those two as rejects,
 * the others written and the watermark stored; an export from the typed table links the CRM ids.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemoryCrm, ManualClock, MockConnector } from '@crm-sync/connector-mock';
import { Orchestrator, type ExportJob, type ImportJob, type RejectItem } from '@crm-sync/sdk';
import { openSqliteStore, type SqliteStore } from '@crm-sync/store-sqlite';
import { KyselyOptionStore, kyselyRecordTables, type KyselyRecordTables } from '../src/index.js';

const IMPORT: ImportJob = {
  kind: 'import',
  activity: 'importCustomers',
  object: 'contact',
  table: 'customers',
  fields: [
    { remote: 'lastName', local: 'name' },
    { remote: 'email', local: 'email' },
  ],
  automaticIndex: { enabled: true, safetyLagMs: 1000 },
  processRejects: true,
  pageSize: 200,
};

const EXPORT: ExportJob = {
  kind: 'export',
  activity: 'exportCustomers',
  object: 'contact',
  table: 'customers',
  mode: 'insert',
  fields: [
    { local: 'name', remote: 'lastName' },
    { local: 'email', remote: 'email' },
  ],
};

describe('the orchestrator on the Kysely table adapter (SQLite)', () => {
  let dir: string;
  let database: Database.Database;
  let db: Kysely<any>;
  let store: SqliteStore;
  let options: KyselyOptionStore;
  let tables: KyselyRecordTables;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-sync-kysely-orch-'));
    database = new Database(join(dir, 'app.sqlite'));
    database.exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, crm_id TEXT UNIQUE, full_name TEXT NOT NULL CHECK (full_name <> 'REFUSED'),
      email TEXT, updated_at TEXT, synced_at TEXT, deleted_at TEXT)`);
    store = openSqliteStore(database, { synchronous: 'NORMAL' })._unsafeUnwrap();
    db = new Kysely<any>({ dialect: new SqliteDialect({ database }) });
    options = new KyselyOptionStore(db);
    tables = kyselyRecordTables(db, {
      options,
      tables: [
        {
          name: 'customers',
          key: { column: 'id', type: 'integer' },
          crmId: 'crm_id',
          changedAt: 'updated_at',
          syncedAt: 'synced_at',
          deletedAt: 'deleted_at',
          fields: { name: { column: 'full_name', type: 'text', nullable: false, maxLength: 20 }, email: 'text' },
        },
      ],
    });
  });
  afterEach(async () => {
    store.close();
    await db.destroy();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports typed rows; refused records become rejects, the rest and the watermark are written', async () => {
    const clock = new ManualClock();
    const crm = new InMemoryCrm({ clock });
    for (const name of ['Ada', 'A name far too long for the column', 'Bob', 'REFUSED', 'Cy']) crm.insert('contact', { lastName: name, email: `${name.length}@x.test` });
    clock.advance(60_000);
    const rejects: RejectItem[] = [];
    const orchestrator = new Orchestrator({
      connector: new MockConnector(crm),
      options,
      journal: store.journal,
      leases: store.leases,
      sink: tables,
      source: tables,
      rejects: { write: async (items) => void rejects.push(...items) },
    });
    const summary = (await orchestrator.runImport(IMPORT))._unsafeUnwrap();
    expect(summary).toMatchObject({ read: 5, written: 3, rejected: 2 });
    expect(database.prepare('SELECT full_name FROM customers ORDER BY id').pluck().all()).toEqual(['Ada', 'Bob', 'Cy']);
    expect(rejects.map((r) => [r.code, r.fields, r.message.replace(/: .*?refuses/, ': refuses')])).toEqual([
      ['invalid-value', ['name'], expect.stringMatching(/longer than 20 characters/)],
      ['invalid-value', [], expect.stringMatching(/the database refused the row: CHECK constraint failed/)],
    ]);
    expect(rejects.every((r) => r.crmId !== undefined)).toBe(true);
    // The watermark is crm-sync's own option, in the same database (the options table openSqliteStore made).
    expect((await store.options.getOption('LASTIMPORT_default_importCustomers'))?.value).toBeDefined();
  });

  it('exports rows of the typed table and links the created CRM ids back into crm_id', async () => {
    const crm = new InMemoryCrm({ clock: new ManualClock() });
    database.exec(`INSERT INTO customers (id, full_name, email, updated_at) VALUES (7, 'Dee', 'dee@x.test', '2024-06-01T00:00:00.000Z'), (12, 'Eli', NULL, '2024-06-01T00:00:00.000Z')`);
    const orchestrator = new Orchestrator({ connector: new MockConnector(crm), options, journal: store.journal, leases: store.leases, sink: tables, source: tables });
    const summary = (await orchestrator.runExport(EXPORT))._unsafeUnwrap();
    expect(summary).toMatchObject({ created: 2, rejected: 0 });
    const rows = database.prepare('SELECT id, crm_id, synced_at FROM customers ORDER BY id').all() as { id: number; crm_id: string | null; synced_at: string | null }[];
    expect(rows.every((row) => row.crm_id !== null && row.synced_at !== null)).toBe(true);
    expect(crm.count('contact')).toBe(2);
  });
});
