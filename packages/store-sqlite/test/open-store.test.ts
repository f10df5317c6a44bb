import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SYNCHRONOUS, openSqliteStore, SCHEMA_VERSION } from '../src/index.js';
import { collectBatches, makeTempDir, openOrThrow } from './helpers.js';

describe('openSqliteStore', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(() => temp.remove());

  it('keeps options, journal and local rows across close and reopen', async () => {
    const path = join(temp.dir, 'crm-sync.sqlite');
    const first = openOrThrow(path);
    await first.records.write('contacts', [{ crmId: '003A', values: { email: 'a@example.com' } }], {
      optionName: 'LASTIMPORT_demo_import',
      value: '2024/03/01 10:00:00',
    });
    const run = await first.journal.startRun('export');
    await first.journal.addPending(run.runId, [{ seq: 0, localKey: '003A', mode: 'update', crmId: '003A', payload: { Email: 'a@example.com' } }]);
    first.close();

    const second = openOrThrow(path);
    try {
      expect((await second.options.getOption('LASTIMPORT_demo_import'))?.value).toBe('2024/03/01 10:00:00');
      expect((await second.journal.findOpenRun('export'))?.runId).toBe(run.runId);
      expect(await second.journal.listEntries(run.runId)).toHaveLength(1);
      expect((await collectBatches(second.records.read('contacts'))).flat()).toEqual([
        { key: '003A', crmId: '003A', values: { email: 'a@example.com' } },
      ]);
      expect(await second.records.listTables()).toEqual(['contacts']);
    } finally {
      second.close();
    }
  });

  it('lets a second connection read the journal while the first keeps writing (CLI inspection during an export)', async () => {
    const path = join(temp.dir, 'shared.sqlite');
    const writer = openOrThrow(path);
    const reader = openOrThrow(path);
    try {
      const run = await writer.journal.startRun('export');
      await writer.journal.addPending(run.runId, [{ seq: 0, localKey: 'a', mode: 'insert', payload: {} }]);
      expect(await reader.journal.countByState(run.runId)).toMatchObject({ pending: 1 });
      await writer.journal.recordOutcomes(run.runId, [{ seq: 0, state: 'committed', crmId: '003A', action: 'created' }]);
      expect(await reader.journal.countByState(run.runId)).toMatchObject({ pending: 0, committed: 1 });
      await expect(reader.journal.startRun('export')).rejects.toMatchObject({ code: 'run-conflict' });
    } finally {
      reader.close();
      writer.close();
    }
  });

  it('opens files in WAL mode with the chosen synchronous level', () => {
    const path = join(temp.dir, 'wal.sqlite');
    const store = openOrThrow(path, { synchronous: 'NORMAL' });
    expect(store.synchronous).toBe('NORMAL');
    store.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
    expect(DEFAULT_SYNCHRONOUS).toBe('FULL');
    const defaulted = openOrThrow(path);
    expect(defaulted.synchronous).toBe('FULL');
    defaulted.close();
  });

  it('returns an open-failed error naming the path when the directory does not exist', () => {
    const path = join(temp.dir, 'no-such-dir', 'x.sqlite');
    const result = openSqliteStore(path);
    expect(result.isErr()).toBe(true);
    expect(result._unsafeUnwrapErr()).toMatchObject({ code: 'open-failed' });
    expect(result._unsafeUnwrapErr().message).toMatch(
      new RegExp(`^\\[crm-sync\\] \\[store-sqlite\\] Cannot open SQLite store ".*no-such-dir.*".*Check that the directory exists`),
    );
  });

  it('returns an open-failed error for a file that is not a SQLite database', () => {
    const path = join(temp.dir, 'jobs.yaml');
    writeFileSync(path, 'activity: importContacts\n'.repeat(100));
    expect(openSqliteStore(path)._unsafeUnwrapErr()).toMatchObject({ code: 'open-failed', message: expect.stringMatching(/not a database/) });
  });

  describe('a damaged file', () => {
    /** A store with a few journal runs and contacts, whose journal_runs table page is then overwritten. */
    async function damagedJournal(path: string): Promise<void> {
      const store = openOrThrow(path);
      await store.records.write('contacts', [{ crmId: '003A', values: { email: 'a@example.com' } }]);
      for (const job of ['a', 'b', 'c']) await store.journal.closeRun((await store.journal.startRun(job)).runId, 'finished');
      store.close();
      const db = new Database(path);
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      const { rootpage } = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'journal_runs'").get() as { rootpage: number };
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      const fd = openSync(path, 'r+');
      writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (rootpage - 1) * pageSize);
      closeSync(fd);
    }

    it('is found on open with quickCheck: code corrupt, naming the path and what to do', async () => {
      const path = join(temp.dir, 'damaged.sqlite');
      await damagedJournal(path);
      const error = openSqliteStore(path, { quickCheck: true })._unsafeUnwrapErr();
      expect(error.code).toBe('corrupt');
      expect(error.message).toContain(`The SQLite file "${path}" is damaged (PRAGMA quick_check: `);
      expect(error.message).toContain('Restore it from a backup, or move it away and start with a new file.');
    });

    it('passes quickCheck when sound', () => {
      const store = openOrThrow(join(temp.dir, 'sound.sqlite'), { quickCheck: true });
      store.close();
    });

    it('without quickCheck, opens, and the first read of a damaged page rejects with code corrupt', async () => {
      const path = join(temp.dir, 'damaged.sqlite');
      await damagedJournal(path);
      const store = openOrThrow(path);
      try {
        // The contacts table is intact, which is why a check on open matters: this read succeeds.
        expect(await store.records.countLocal('contacts')).toBe(1);
        await expect(store.journal.listRuns()).rejects.toMatchObject({ code: 'corrupt', message: expect.stringMatching(/the database file is damaged \(database disk image is malformed\)\. Restore it from a backup/) });
      } finally {
        store.close();
      }
    });
  });

  it('refuses a file written by a newer schema version instead of misreading it', () => {
    const path = join(temp.dir, 'future.sqlite');
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(openSqliteStore(path)._unsafeUnwrapErr().message).toMatch(/newer than this release understands/);
  });

  it('refuses to use an application table of the same name that crm-sync did not create', async () => {
    const path = join(temp.dir, 'app.sqlite');
    const db = new Database(path);
    db.exec('CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)');
    db.close();
    const store = openOrThrow(path);
    try {
      await expect(store.records.write('contacts', [{ crmId: '003A', values: {} }])).rejects.toThrow(
        /Table "contacts" exists in this SQLite file but is not a crm-sync local table \(missing columns: key, crm_id/,
      );
    } finally {
      store.close();
    }
  });

  it('rejects calls after close with code closed, and closing twice is harmless', async () => {
    const store = openOrThrow(join(temp.dir, 'closed.sqlite'));
    store.close();
    store.close();
    await expect(store.options.getOption('x')).rejects.toMatchObject({ code: 'closed' });
  });

  it('rejects a synchronous level other than NORMAL or FULL', () => {
    const result = openSqliteStore(':memory:', { synchronous: 'OFF' as 'FULL' });
    expect(result._unsafeUnwrapErr()).toMatchObject({ code: 'invalid-argument' });
  });
});
