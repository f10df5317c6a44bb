// Run leases in the SQLite file: the migration from schema version 1, and fencing across two
// connections to one file (what two processes see).
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StaleFenceError } from '@crm-sync/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/index.js';
import { makeTempDir, openOrThrow } from './helpers.js';

const owner = (pid: number) => ({ host: 'host-a', pid, runId: `run-${pid}` });

describe('SQLite run leases', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(() => temp.remove());

  it('opens a schema version 1 file, keeps its data and adds the lease table', async () => {
    const path = join(temp.dir, 'v1.sqlite');
    const v1 = new Database(path);
    v1.exec(`
      CREATE TABLE options (name TEXT PRIMARY KEY, value TEXT NOT NULL, meta TEXT, updated_at TEXT NOT NULL);
      CREATE TABLE journal_runs (run_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('open', 'finished', 'failed')), started_at TEXT NOT NULL, finished_at TEXT, summary TEXT);
      CREATE TABLE journal_entries (run_id TEXT NOT NULL REFERENCES journal_runs (run_id), seq INTEGER NOT NULL, local_key TEXT NOT NULL, sync_key TEXT, mode TEXT NOT NULL, crm_id TEXT, payload TEXT NOT NULL, state TEXT NOT NULL, action TEXT, reject TEXT, batch_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
      CREATE TABLE local_tables (name TEXT PRIMARY KEY COLLATE NOCASE, created_at TEXT NOT NULL);
      INSERT INTO options VALUES ('LASTIMPORT_default_imp', '2024/01/01 00:00:00', NULL, '2024-01-01T00:00:00.000Z');
      PRAGMA user_version = 1;
    `);
    v1.close();
    expect(SCHEMA_VERSION).toBe(7);
    const store = openOrThrow(path);
    try {
      expect((await store.options.getOption('LASTIMPORT_default_imp'))?.value).toBe('2024/01/01 00:00:00');
      const taken = await store.leases.acquireLease('default/exp', owner(1), { ttlMs: 60_000 });
      expect(taken).toMatchObject({ acquired: true, lease: { token: 1 } });
    } finally {
      store.close();
    }
    const raw = new Database(path);
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
  });

  it('two connections to one file: the second is refused and sees the holder; after a takeover the first is fenced off', async () => {
    const path = join(temp.dir, 'shared.sqlite');
    const first = openOrThrow(path);
    const second = openOrThrow(path);
    try {
      const a = await first.leases.acquireLease('default/exp', owner(100), { ttlMs: 60_000 });
      if (!a.acquired) throw new Error('first acquisition refused');
      const refused = await second.leases.acquireLease('default/exp', owner(200), { ttlMs: 60_000 });
      expect(refused).toMatchObject({ acquired: false, holder: { token: a.lease.token, owner: owner(100) } });

      const zombieFence = { key: 'default/exp', token: a.lease.token };
      const run = await first.journal.startRun('default/exp', zombieFence);
      await first.records.upsertLocal('people', 'p1', { name: 'A' });

      // The holder is proven dead: compare-and-set takeover on its token.
      const b = await second.leases.acquireLease('default/exp', owner(200), { ttlMs: 60_000, takeOverToken: a.lease.token });
      expect(b).toMatchObject({ acquired: true, lease: { token: a.lease.token + 1 }, previous: { token: a.lease.token } });

      await expect(first.options.setOption('LASTIMPORT_default_exp', '2024/01/01 00:00:00', undefined, zombieFence)).rejects.toBeInstanceOf(StaleFenceError);
      await expect(first.journal.addPending(run.runId, [{ seq: 0, localKey: 'p1', mode: 'insert', payload: {} }], zombieFence)).rejects.toMatchObject({ code: 'stale-fence', currentToken: a.lease.token + 1 });
      await expect(first.records.write('people', [{ crmId: '003Z', values: {} }], { optionName: 'cp', value: 'v' }, zombieFence)).rejects.toBeInstanceOf(StaleFenceError);
      await expect(first.records.linkCrmIds('people', [{ key: 'p1', crmId: '003A' }], zombieFence)).rejects.toBeInstanceOf(StaleFenceError);
      await expect(first.leases.renewLease(zombieFence, 60_000)).rejects.toBeInstanceOf(StaleFenceError);
      expect(await second.options.getOption('LASTIMPORT_default_exp')).toBeUndefined();
      expect(await second.options.getOption('cp')).toBeUndefined();
      expect(await second.journal.listEntries(run.runId)).toEqual([]);
      expect(await second.records.countLocal('people')).toBe(1);
      expect((await second.records.getLocal('people', 'p1'))?.crmId).toBeUndefined();
      // The zombie's release is harmless; the new holder's lease stays.
      await first.leases.releaseLease(zombieFence);
      expect((await second.leases.getLease('default/exp'))?.token).toBe(a.lease.token + 1);
    } finally {
      first.close();
      second.close();
    }
  });
});
