// The run history in the SQLite file: the migration to schema version 3 from versions 1 and 2,
// two connections (two processes) sharing one history, and the cost of a buffered progress write.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { NewRunRecord, RunSample } from '@crm-sync/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/index.js';
import { makeTempDir, openOrThrow } from './helpers.js';

const V1_TABLES = `
  CREATE TABLE options (name TEXT PRIMARY KEY, value TEXT NOT NULL, meta TEXT, updated_at TEXT NOT NULL);
  CREATE TABLE journal_runs (run_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('open', 'finished', 'failed')), started_at TEXT NOT NULL, finished_at TEXT, summary TEXT);
  CREATE TABLE journal_entries (run_id TEXT NOT NULL REFERENCES journal_runs (run_id), seq INTEGER NOT NULL, local_key TEXT NOT NULL, sync_key TEXT, mode TEXT NOT NULL, crm_id TEXT, payload TEXT NOT NULL, state TEXT NOT NULL, action TEXT, reject TEXT, batch_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
  CREATE TABLE local_tables (name TEXT PRIMARY KEY COLLATE NOCASE, created_at TEXT NOT NULL);
  INSERT INTO options VALUES ('LASTIMPORT_default_imp', '2024/01/01 00:00:00', NULL, '2024-01-01T00:00:00.000Z');
  INSERT INTO journal_runs VALUES ('j-1', 'default/exp', 'finished', '2024-01-01T00:00:00.000Z', '2024-01-01T00:01:00.000Z', NULL);
`;

const V2_LEASES = `
  CREATE TABLE crm_sync_leases (key TEXT PRIMARY KEY, token INTEGER NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, run_id TEXT NOT NULL, acquired_at TEXT NOT NULL, renewed_at TEXT NOT NULL, expires_at TEXT NOT NULL, released INTEGER NOT NULL DEFAULT 0 CHECK (released IN (0, 1)));
  INSERT INTO crm_sync_leases VALUES ('default/exp', 7, 'h', 1, 'r', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:30.000Z', 1);
`;

function run(runId: string, startedAt = '2024-03-01T00:00:00.000Z'): NewRunRecord {
  return { runId, jobId: 'default/imp', activity: 'imp', operation: 'import', host: 'h', pid: 1, startedAt };
}

function sample(i: number): RunSample {
  return { at: new Date(Date.UTC(2024, 2, 1, 0, 0, i)).toISOString(), elapsedMs: i * 1000, read: i * 2000, written: i * 2000, rejected: 0, apiCalls: i, retries: 0, rateLimitWaitMs: 0 };
}

describe('SQLite run history', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(() => temp.remove());

  for (const [version, ddl] of [
    [1, V1_TABLES],
    [2, V1_TABLES + V2_LEASES],
  ] as const) {
    it(`opens a schema version ${version} file, keeps its data and adds the run-history tables (version ${SCHEMA_VERSION})`, async () => {
      expect(SCHEMA_VERSION).toBe(7);
      const path = join(temp.dir, `v${version}.sqlite`);
      const old = new Database(path);
      old.exec(`${ddl}\nPRAGMA user_version = ${version};`);
      old.close();
      const store = openOrThrow(path);
      try {
        expect((await store.options.getOption('LASTIMPORT_default_imp'))?.value).toBe('2024/01/01 00:00:00');
        expect((await store.journal.getRun('j-1'))?.status).toBe('finished');
        if (version === 2) {
          // The lease row survives: the next token is 8, never a reused one.
          const taken = await store.leases.acquireLease('default/exp', { host: 'h', pid: 2, runId: 'x' }, { ttlMs: 60_000 });
          expect(taken).toMatchObject({ acquired: true, lease: { token: 8 } });
        }
        await store.history.startRun(run('r1'));
        await store.history.recordProgress('r1', { samples: [sample(1)], rejects: [{ code: 'validation', message: 'm', fields: [] }] });
        await store.history.finishRun('r1', { status: 'succeeded', endedAt: '2024-03-01T00:01:00.000Z' });
        expect((await store.history.getRun('r1'))?.status).toBe('succeeded');
      } finally {
        store.close();
      }
      const raw = new Database(path);
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      raw.close();
    });
  }

  it('two connections to one file share one history: a run recorded by one is read and finished by the other', async () => {
    const path = join(temp.dir, 'shared.sqlite');
    const first = openOrThrow(path);
    const second = openOrThrow(path);
    try {
      await first.history.startRun(run('r1'));
      await first.history.recordProgress('r1', { samples: [sample(1)] });
      expect((await second.history.listRuns({ status: 'running' })).map((r) => r.runId)).toEqual(['r1']);
      await second.history.finishRun('r1', { status: 'interrupted', endedAt: '2024-03-01T00:01:00.000Z', error: { kind: 'process-died', message: 'gone' } });
      expect((await first.history.getRun('r1'))?.error).toEqual({ kind: 'process-died', message: 'gone' });
    } finally {
      first.close();
      second.close();
    }
  });

  it('bad input is refused with code invalid-argument, a missing run with run-not-found, a second end with run-conflict', async () => {
    const store = openOrThrow(':memory:');
    try {
      await expect(store.history.listRuns({ since: 'yesterday' })).rejects.toMatchObject({ code: 'invalid-argument', message: expect.stringContaining('since') });
      await expect(store.history.recordProgress('nope', {})).rejects.toMatchObject({ code: 'run-not-found' });
      await store.history.startRun(run('r1'));
      await store.history.finishRun('r1', { status: 'failed', endedAt: '2024-03-01T00:01:00.000Z' });
      await expect(store.history.finishRun('r1', { status: 'failed', endedAt: '2024-03-01T00:01:00.000Z' })).rejects.toMatchObject({ code: 'run-conflict' });
      await expect(store.history.startRun(run('r1'))).rejects.toMatchObject({ code: 'constraint' });
    } finally {
      store.close();
    }
  });

  it('a buffered progress write (60 samples, one per second of a minute) costs one transaction on a WAL file with FULL sync', async () => {
    const store = openOrThrow(join(temp.dir, 'cost.sqlite'));
    try {
      await store.history.startRun(run('r1'));
      const rounds = 20;
      const started = performance.now();
      for (let round = 0; round < rounds; round += 1) {
        await store.history.recordProgress('r1', {
          counts: { read: round, written: round, created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, rejected: 0, errors: 0 },
          samples: Array.from({ length: 60 }, (_, i) => sample(round * 60 + i)),
        });
      }
      const perWriteMs = (performance.now() - started) / rounds;
      expect((await store.history.listSamples('r1')).length).toBe(rounds * 60);
      // Generous bound: a transaction per sample would cost about 60 fsyncs here.
      expect(perWriteMs).toBeLessThan(250);
      console.info(`[run-history] one progress write of 60 samples: ${perWriteMs.toFixed(2)} ms (WAL, synchronous FULL)`);
    } finally {
      store.close();
    }
  });
});
