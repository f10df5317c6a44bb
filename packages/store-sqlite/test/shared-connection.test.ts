/**
 * openSqliteStore on the application's own better-sqlite3 connection: crm-sync's writes join the
 * application's transaction, and the store never closes a connection it did not open.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../src/index.js';
import { makeTempDir } from './helpers.js';

describe('openSqliteStore on a shared connection', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let app: Database.Database;
  let store: SqliteStore;
  beforeEach(() => {
    temp = makeTempDir();
    app = new Database(join(temp.dir, 'app.sqlite'));
    app.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    store = openSqliteStore(app)._unsafeUnwrap();
  });
  afterEach(() => {
    store.close();
    if (app.open) app.close();
    temp.remove();
  });

  it('creates its tables in the application database and reports its path', async () => {
    expect(store.path).toBe(app.name);
    await store.options.setOption('o', 'x');
    expect(app.prepare('SELECT value FROM options WHERE name = ?').pluck().get('o')).toBe('x');
  });

  it("commits the application's write and the watermark together", async () => {
    app.exec('BEGIN');
    app.prepare('INSERT INTO customers (name) VALUES (?)').run('Ada');
    await store.options.setOption('LASTIMPORT_app_customers', '2024/06/01 00:00:00', { at: '2024-06-01T00:00:00.000Z' });
    app.exec('COMMIT');
    expect(app.prepare('SELECT count(*) FROM customers').pluck().get()).toBe(1);
    expect((await store.options.getOption('LASTIMPORT_app_customers'))?.value).toBe('2024/06/01 00:00:00');
  });

  it("rolls back the watermark and crm-sync's records with the application's transaction", async () => {
    app.exec('BEGIN');
    app.prepare('INSERT INTO customers (name) VALUES (?)').run('Ada');
    await store.options.setOption('LASTIMPORT_app_customers', '2024/06/01 00:00:00');
    await store.records.write('contacts', [{ crmId: '003A', values: { email: 'a@x.test' } }], { optionName: 'LASTIMPORT_app_contacts', value: '2024/06/02 00:00:00' });
    app.exec('ROLLBACK');
    expect(app.prepare('SELECT count(*) FROM customers').pluck().get()).toBe(0);
    expect(await store.options.getOption('LASTIMPORT_app_customers')).toBeUndefined();
    expect(await store.options.getOption('LASTIMPORT_app_contacts')).toBeUndefined();
    const rows = [];
    for await (const batch of store.records.read('contacts')) rows.push(...batch);
    expect(rows).toEqual([]);
  });

  it('inside db.transaction(...) a failing application write rolls the watermark back too', async () => {
    const write = app.transaction(() => {
      // The store's body runs synchronously up to its first await: its write is part of this transaction.
      void store.options.setOption('LASTIMPORT_app_customers', '2024/06/01 00:00:00');
      app.prepare('INSERT INTO customers (name) VALUES (?)').run(null);
    });
    expect(() => write()).toThrow(/NOT NULL/);
    expect(await store.options.getOption('LASTIMPORT_app_customers')).toBeUndefined();
  });

  it('close() leaves the application connection open; a closed connection is refused with a clear error', () => {
    store.close();
    expect(app.open).toBe(true);
    expect(app.prepare('SELECT count(*) FROM customers').pluck().get()).toBe(0);
    const other = new Database(':memory:');
    other.close();
    const refused = openSqliteStore(other);
    expect(refused._unsafeUnwrapErr()).toMatchObject({ code: 'invalid-argument', message: expect.stringMatching(/is closed\. Pass an open connection/) });
  });

  it("keeps the application's journal mode", () => {
    const memory = new Database(join(temp.dir, 'rollback.sqlite'));
    try {
      memory.pragma('journal_mode = DELETE');
      const shared = openSqliteStore(memory)._unsafeUnwrap();
      expect(memory.pragma('journal_mode', { simple: true })).toBe('delete');
      shared.close();
      expect(memory.open).toBe(true);
    } finally {
      memory.close();
    }
  });
});
