// The SQLite journal's retention and the schema 3 -> 4 move of payloads into their own table.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'crm-sync-journal-retention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DAY = 86_400_000;

describe('SQLite journal retention', () => {
  it('closing a run prunes closed runs older than journalRetentionDays, never an open run', async () => {
    const path = join(dir, 'retention.sqlite');
    let clock = Date.parse('2026-01-01T00:00:00.000Z');
    const store = openSqliteStore(path, { now: () => new Date(clock), journalRetentionDays: 7 })._unsafeUnwrap();
    const old = await store.journal.startRun('a');
    await store.journal.closeRun(old.runId, 'finished');
    const open = await store.journal.startRun('b');
    clock += 8 * DAY;
    const next = await store.journal.startRun('a');
    await store.journal.closeRun(next.runId, 'finished');
    expect(await store.journal.getRun(old.runId)).toBeUndefined();
    expect((await store.journal.getRun(open.runId))?.status).toBe('open');
    expect((await store.journal.getRun(next.runId))?.status).toBe('finished');
    store.close();
  });

  it('refuses a retention that is not a positive number of days', () => {
    const opened = openSqliteStore(join(dir, 'bad.sqlite'), { journalRetentionDays: 0 });
    expect(opened.isErr() && opened.error.message).toMatch(/journalRetentionDays must be a number of days > 0 or 'forever', got 0/);
  });

  it('opens a schema 3 file, moving the journal payloads into their own table and keeping them', async () => {
    const path = join(dir, 'v3.sqlite');
    const old = new Database(path);
    old.exec(`CREATE TABLE journal_runs (run_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, summary TEXT);
      CREATE TABLE journal_entries (run_id TEXT NOT NULL, seq INTEGER NOT NULL, local_key TEXT NOT NULL, sync_key TEXT, mode TEXT NOT NULL, crm_id TEXT,
        payload TEXT NOT NULL, state TEXT NOT NULL, action TEXT, reject TEXT, batch_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
      CREATE INDEX journal_entries_by_state ON journal_entries (run_id, state);
      INSERT INTO journal_runs VALUES ('r1', 'j', 'open', '2026-01-01T00:00:00.000Z', NULL, NULL);
      INSERT INTO journal_entries VALUES ('r1', 0, 'k0', NULL, 'insert', NULL, '{"Email":"a@example.com"}', 'pending', NULL, NULL, NULL, 0, '2026-01-01T00:00:00.000Z');`);
    old.pragma('user_version = 3');
    old.close();
    const store = openSqliteStore(path)._unsafeUnwrap();
    const [entry] = await store.journal.listEntries('r1');
    expect(entry).toMatchObject({ localKey: 'k0', state: 'pending', payload: { Email: 'a@example.com' } });
    store.close();
  });
});
