// Schema 5 moves the export journal from one row per entry (journal_entries + journal_payloads) to
// chunk rows (journal_chunks). A schema 4 file, with runs in every state, must read back the same
// after the migration, and keep working: steps, closing, pruning.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/index.js';
import { openOrThrow } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'crm-sync-journal-migration-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const STATES = ['pending', 'sent', 'committed', 'rejected', 'unknown'] as const;

/** A schema 4 file as that release wrote it: 450 entries of an open run in every state, 10 of a finished one. */
function version4File(): string {
  const path = join(dir, `v4-${files++}.sqlite`);
  const db = new Database(path);
  db.exec(`
    CREATE TABLE journal_runs (run_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('open', 'finished', 'failed')), started_at TEXT NOT NULL, finished_at TEXT, summary TEXT);
    CREATE TABLE journal_entries (run_id TEXT NOT NULL REFERENCES journal_runs (run_id), seq INTEGER NOT NULL, local_key TEXT NOT NULL, sync_key TEXT,
      mode TEXT NOT NULL CHECK (mode IN ('insert', 'update', 'upsert')), crm_id TEXT, state TEXT NOT NULL, action TEXT, reject TEXT, batch_id TEXT,
      attempts INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
    CREATE TABLE journal_payloads (run_id TEXT NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
    INSERT INTO journal_runs VALUES ('open-run', 'default/export', 'open', '2026-01-01T00:00:00.000Z', NULL, NULL);
    INSERT INTO journal_runs VALUES ('old-run', 'default/export', 'finished', '2025-01-01T00:00:00.000Z', '2025-01-01T01:00:00.000Z', '{"note":"done"}');
    PRAGMA user_version = 4;
  `);
  const entry = db.prepare('INSERT INTO journal_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const payload = db.prepare('INSERT INTO journal_payloads VALUES (?, ?, ?)');
  db.exec('BEGIN');
  for (let i = 0; i < 450; i++) {
    const state = STATES[i % 5]!;
    entry.run(
      'open-run',
      i,
      `k${i}`,
      i % 2 === 0 ? `s${i}` : null,
      i % 3 === 0 ? 'insert' : 'upsert',
      i % 5 === 2 || i % 10 === 0 ? `C${i}` : null,
      state,
      state === 'committed' ? 'created' : null,
      state === 'rejected' ? JSON.stringify({ code: 'invalid-value', message: `bad ${i}`, fields: ['n'], retryable: false }) : null,
      state === 'pending' ? null : `b${Math.floor(i / 200)}`,
      i % 5,
      `2026-01-01T00:00:0${i % 10}.000Z`,
    );
    // A committed entry's values were dropped when it was committed.
    if (state !== 'committed') payload.run('open-run', i, JSON.stringify({ n: i, name: `Name ${i}`, none: null }));
  }
  for (let i = 0; i < 10; i++) entry.run('old-run', i, `o${i}`, null, 'upsert', null, 'committed', null, null, null, 1, '2025-01-01T00:30:00.000Z');
  db.exec('COMMIT');
  db.close();
  return path;
}

/** The entries as schema 4 held them, in the journal's shape (absent columns left out, a dropped payload `{}`). */
function entriesBefore(path: string, runId: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db
      .prepare<[string], Record<string, string | number | null>>(
        `SELECT e.*, p.payload FROM journal_entries e LEFT JOIN journal_payloads p ON p.run_id = e.run_id AND p.seq = e.seq WHERE e.run_id = ? ORDER BY e.seq`,
      )
      .all(runId);
    const names: Record<string, string> = { run_id: 'runId', local_key: 'localKey', sync_key: 'syncKey', crm_id: 'crmId', batch_id: 'batchId', updated_at: 'updatedAt' };
    return rows.map((row) => {
      const entry: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(row)) {
        if (value === null && name !== 'payload') continue;
        entry[names[name] ?? name] = name === 'reject' ? JSON.parse(value as string) : name === 'payload' ? (value === null ? {} : JSON.parse(value as string)) : value;
      }
      return entry;
    });
  } finally {
    db.close();
  }
}

describe('SQLite export journal migration to chunk rows (schema 5)', () => {
  it('an export journal written one row per entry reads back the same after the migration, absent fields absent', async () => {
    const path = version4File();
    const before = entriesBefore(path, 'open-run');
    const old = entriesBefore(path, 'old-run');
    const store = openOrThrow(path);
    try {
      expect(await store.journal.listEntries('open-run')).toEqual(before);
      expect(await store.journal.listEntries('old-run')).toEqual(old);
      expect(await store.journal.listEntries('open-run', { states: ['unknown', 'sent'], afterSeq: 200, limit: 7 })).toEqual(
        before.filter((entry) => ['unknown', 'sent'].includes((entry as { state: string }).state) && (entry as { seq: number }).seq > 200).slice(0, 7),
      );
      expect(await store.journal.countByState('open-run')).toEqual({ pending: 90, sent: 90, committed: 90, rejected: 90, unknown: 90 });
    } finally {
      store.close();
    }
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(raw.prepare(`SELECT name FROM sqlite_master WHERE name IN ('journal_entries', 'journal_payloads')`).all()).toEqual([]);
    raw.close();
  });

  it('a migrated run keeps working: steps apply, closing drops settled payloads, pruning keeps it while in doubt', async () => {
    const store = openOrThrow(version4File());
    try {
      const journal = store.journal;
      await journal.addPending('open-run', [
        { seq: 1, localKey: 'other', mode: 'upsert', payload: { n: -1 } },
        { seq: 450, localKey: 'k450', mode: 'upsert', payload: { n: 450 } },
      ]);
      const pending = await journal.listEntries('open-run', { states: ['pending'] });
      expect(pending.map((entry) => entry.seq)).toEqual([...Array.from({ length: 90 }, (_, i) => i * 5), 450]);
      expect(pending[1]).toEqual({ runId: 'open-run', seq: 5, localKey: 'k5', mode: 'upsert', payload: { n: 5, name: 'Name 5', none: null }, state: 'pending', attempts: 0, updatedAt: '2026-01-01T00:00:05.000Z' });
      await journal.markSent('open-run', [5, 10, 450], 'b-new');
      await journal.recordOutcomes('open-run', [
        { seq: 5, state: 'committed', action: 'updated' },
        { seq: 10, state: 'rejected', reject: { code: 'invalid-value', message: 'no', fields: [], retryable: false } },
        { seq: 450, state: 'committed', crmId: 'C450', action: 'created' },
      ]);
      expect(await journal.listEntries('open-run', { afterSeq: 449 })).toEqual([
        expect.objectContaining({ seq: 450, state: 'committed', crmId: 'C450', action: 'created', batchId: 'b-new', attempts: 1, payload: {} }),
      ]);
      expect((await journal.listEntries('open-run', { afterSeq: 9, limit: 1 }))[0]).toMatchObject({ seq: 10, crmId: 'C10', state: 'rejected', attempts: 1, payload: { n: 10, name: 'Name 10', none: null } });
      expect(await journal.pruneRuns({ finishedBefore: '2099-01-01T00:00:00.000Z', dryRun: true })).toEqual({ runIds: ['old-run'], entries: 10, keptInDoubt: [] });
      await journal.closeRun('open-run', 'failed');
      const closed = await journal.listEntries('open-run');
      expect(closed.filter((entry) => entry.state === 'committed' || entry.state === 'rejected').every((entry) => Object.keys(entry.payload).length === 0)).toBe(true);
      expect(closed.find((entry) => entry.seq === 4)).toMatchObject({ state: 'unknown', payload: { n: 4, name: 'Name 4', none: null } });
      // The old run went with the close (past the retention); the closed one stays while in doubt.
      expect(await journal.listEntries('old-run')).toEqual([]);
      expect(await journal.pruneRuns({ finishedBefore: '2099-01-01T00:00:00.000Z' })).toEqual({ runIds: [], entries: 0, keptInDoubt: ['open-run'] });
      expect(await journal.countByState('open-run')).toEqual({ pending: 88, sent: 90, committed: 92, rejected: 91, unknown: 90 });
    } finally {
      store.close();
    }
  });
});
