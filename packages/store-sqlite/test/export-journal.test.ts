import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewJournalEntry } from '@crm-sync/sdk';
import { SqliteStoreError, type SqliteStore } from '../src/index.js';
import { join } from 'node:path';
import { makeTempDir, openOrThrow, steppingClock } from './helpers.js';

function entries(from: number, count: number): NewJournalEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: from + i,
    localKey: `k${from + i}`,
    syncKey: `sync-${from + i}`,
    mode: 'upsert' as const,
    payload: { LastName: `Name ${from + i}`, Score: from + i, Active: true, Note: null },
  }));
}

describe('SQLite export journal', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = openOrThrow(':memory:', { now: steppingClock() });
  });
  afterEach(() => store.close());

  it('starts an open run that findOpenRun and getRun return', async () => {
    const run = await store.journal.startRun('export-contacts');
    expect(run).toMatchObject({ jobId: 'export-contacts', status: 'open', startedAt: '2026-01-01T00:00:00.000Z' });
    expect(await store.journal.findOpenRun('export-contacts')).toEqual(run);
    expect(await store.journal.getRun(run.runId)).toEqual(run);
    expect(await store.journal.findOpenRun('other-job')).toBeUndefined();
  });

  it('refuses a second open run for the same job with code run-conflict', async () => {
    const first = await store.journal.startRun('job');
    const second = store.journal.startRun('job');
    await expect(second).rejects.toBeInstanceOf(SqliteStoreError);
    await expect(second).rejects.toMatchObject({ code: 'run-conflict' });
    await expect(second).rejects.toThrow(`[crm-sync] [store-sqlite] Job "job" already has an open export run "${first.runId}"`);
  });

  it('allows a new run once the open one is closed, and lists runs newest first per job', async () => {
    const first = await store.journal.startRun('job');
    await store.journal.closeRun(first.runId, 'failed', { reason: 'killed' });
    const second = await store.journal.startRun('job');
    const other = await store.journal.startRun('other');
    expect((await store.journal.listRuns('job')).map((run) => run.runId)).toEqual([second.runId, first.runId]);
    expect((await store.journal.listRuns()).map((run) => run.runId)).toEqual([other.runId, second.runId, first.runId]);
    expect(await store.journal.getRun(first.runId)).toMatchObject({ status: 'failed', summary: { reason: 'killed' }, finishedAt: expect.any(String) });
  });

  it('adds pending entries and ignores a re-added seq', async () => {
    const run = await store.journal.startRun('job');
    await store.journal.addPending(run.runId, entries(0, 3));
    await store.journal.addPending(run.runId, [{ seq: 1, localKey: 'changed', mode: 'insert', payload: {} }]);
    const listed = await store.journal.listEntries(run.runId);
    expect(listed).toHaveLength(3);
    expect(listed[1]).toEqual({
      runId: run.runId,
      seq: 1,
      localKey: 'k1',
      syncKey: 'sync-1',
      mode: 'upsert',
      payload: { LastName: 'Name 1', Score: 1, Active: true, Note: null },
      state: 'pending',
      attempts: 0,
      updatedAt: expect.any(String),
    });
  });

  it('moves entries pending -> sent -> committed | rejected | unknown with attempts, batch and outcome', async () => {
    const run = await store.journal.startRun('job');
    await store.journal.addPending(run.runId, [...entries(0, 3), { seq: 3, localKey: 'k3', mode: 'update', crmId: '003KNOWN', payload: {} }]);
    await store.journal.markSent(run.runId, [0, 1, 2, 3], 'batch-1');
    await store.journal.recordOutcomes(run.runId, [
      { seq: 0, state: 'committed', crmId: '003NEW', action: 'created' },
      { seq: 1, state: 'rejected', reject: { code: 'validation', symbol: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'bad', fields: ['Email'], retryable: false } },
      { seq: 2, state: 'unknown' },
      { seq: 3, state: 'committed', action: 'updated' },
    ]);
    const [created, rejected, unknown, updated] = await store.journal.listEntries(run.runId);
    expect(created).toMatchObject({ state: 'committed', crmId: '003NEW', action: 'created', batchId: 'batch-1', attempts: 1 });
    expect(rejected).toMatchObject({ state: 'rejected', reject: { code: 'validation', symbol: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', fields: ['Email'] } });
    expect(unknown).toMatchObject({ state: 'unknown', attempts: 1 });
    expect(updated).toMatchObject({ state: 'committed', crmId: '003KNOWN', action: 'updated' });
    await store.journal.markSent(run.runId, [2], 'batch-2');
    expect((await store.journal.listEntries(run.runId, { states: ['sent'] }))[0]).toMatchObject({ seq: 2, batchId: 'batch-2', attempts: 2 });
  });

  it('lists entries filtered by state and paged by afterSeq and limit, in seq order', async () => {
    const run = await store.journal.startRun('job');
    await store.journal.addPending(run.runId, entries(0, 10));
    await store.journal.recordOutcomes(run.runId, [2, 5, 7].map((seq) => ({ seq, state: 'committed' as const })));
    const page = await store.journal.listEntries(run.runId, { states: ['pending'], afterSeq: 2, limit: 3 });
    expect(page.map((entry) => entry.seq)).toEqual([3, 4, 6]);
    expect(await store.journal.listEntries(run.runId, { states: [] })).toEqual([]);
  });

  it('counts entries per state with every state present', async () => {
    const run = await store.journal.startRun('job');
    await store.journal.addPending(run.runId, entries(0, 5));
    await store.journal.markSent(run.runId, [0, 1], 'b');
    await store.journal.recordOutcomes(run.runId, [{ seq: 0, state: 'committed' }]);
    expect(await store.journal.countByState(run.runId)).toEqual({ pending: 3, sent: 1, committed: 1, rejected: 0, unknown: 0 });
  });

  it('rejects writes to an unknown run with code run-not-found and a hint', async () => {
    const attempt = store.journal.addPending('no-such-run', entries(0, 1));
    await expect(attempt).rejects.toMatchObject({ code: 'run-not-found' });
    await expect(attempt).rejects.toThrow(/No export run "no-such-run".*crm-sync journal list/);
  });

  it('writes 100,000 pending entries and their outcomes in one call each', async () => {
    const run = await store.journal.startRun('big');
    await store.journal.addPending(run.runId, entries(0, 100_000));
    await store.journal.recordOutcomes(run.runId, Array.from({ length: 100_000 }, (_, seq) => ({ seq, state: 'committed' as const, action: 'created' as const })));
    expect(await store.journal.countByState(run.runId)).toMatchObject({ pending: 0, committed: 100_000 });
  });

  it('steps issued without awaiting, then the store closed, are committed before the file closes and read back', async () => {
    const temp = makeTempDir();
    try {
      const path = join(temp.dir, 'journal.db');
      const first = openOrThrow(path);
      const run = await first.journal.startRun('job');
      await first.journal.addPending(run.runId, entries(0, 4));
      const sent = first.journal.markSent(run.runId, [0, 1], 'b1');
      const outcomes = first.journal.recordOutcomes(run.runId, [{ seq: 2, state: 'rejected', reject: { code: 'validation', message: 'no', fields: [], retryable: false } }]);
      first.close();
      await expect(Promise.all([sent, outcomes])).resolves.toBeDefined();
      const again = openOrThrow(path);
      try {
        expect(await again.journal.countByState(run.runId)).toEqual({ pending: 1, sent: 2, committed: 0, rejected: 1, unknown: 0 });
      } finally {
        again.close();
      }
    } finally {
      temp.remove();
    }
  });
});
