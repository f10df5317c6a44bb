// A batch's sent mark is a row of its own (crm_sync_journal_marks), folded into the chunks by the
// next step that writes them: these tests read the file itself to check where each step wrote,
// and the journal's answers to check that every reader sees the mark as if it were in the chunk.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewJournalEntry } from '@crm-sync/sdk';
import { SCHEMA_VERSION } from '../src/index.js';
import { makeTempDir, openOrThrow, steppingClock } from './helpers.js';

function entries(from: number, count: number): NewJournalEntry[] {
  return Array.from({ length: count }, (_, i) => ({ seq: from + i, localKey: `k${from + i}`, syncKey: `s${from + i}`, mode: 'upsert' as const, payload: { LastName: `Name ${from + i}` } }));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('SQLite journal: sent marks as rows of their own', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let path: string;
  beforeEach(() => {
    temp = makeTempDir();
    path = join(temp.dir, 'journal.sqlite');
  });
  afterEach(() => temp.remove());

  /** The raw rows: chunk states by first seq, and the marks left. */
  function raw(): { readonly states: Map<number, string>; readonly marks: { batch_id: string; seqs: string }[] } {
    const db = new Database(path, { readonly: true });
    try {
      const states = new Map(db.prepare<[], { first_seq: number; states: string }>('SELECT first_seq, states FROM journal_chunks ORDER BY first_seq').all().map((row) => [row.first_seq, row.states]));
      const marks = db.prepare<[], { batch_id: string; seqs: string }>('SELECT batch_id, seqs FROM crm_sync_journal_marks ORDER BY id').all();
      return { states, marks };
    } finally {
      db.close();
    }
  }

  it('markSent writes a mark and no chunk; every reader sees the entries sent; the outcomes fold the mark in and delete it', async () => {
    const store = openOrThrow(path, { now: steppingClock() });
    try {
      const run = await store.journal.startRun('job');
      await store.journal.addPending(run.runId, entries(1, 200));
      const before = raw();
      await store.journal.markSent(run.runId, range(1, 200), 'b1');
      const marked = raw();
      expect(marked.states).toEqual(before.states);
      expect(marked.marks).toEqual([{ batch_id: 'b1', seqs: JSON.stringify(range(1, 200)) }]);
      expect(await store.journal.countByState(run.runId)).toMatchObject({ pending: 0, sent: 200 });
      const listed = await store.journal.listEntries(run.runId, { states: ['sent'] });
      expect(listed).toHaveLength(200);
      expect(listed[0]).toMatchObject({ seq: 1, state: 'sent', attempts: 1, batchId: 'b1', payload: { LastName: 'Name 1' } });

      await store.journal.recordOutcomes(run.runId, range(1, 200).map((seq) => ({ seq, state: 'committed' as const, crmId: `003${seq}`, action: 'created' as const })));
      expect(raw().marks).toEqual([]);
      const settled = await store.journal.listEntries(run.runId);
      expect(settled[199]).toMatchObject({ seq: 200, state: 'committed', attempts: 1, batchId: 'b1', crmId: '003200', payload: {} });
      expect(await store.journal.countByState(run.runId)).toMatchObject({ sent: 0, committed: 200 });
    } finally {
      store.close();
    }
  });

  it('folds a mark across two chunks whole when an outcome touches only one of them', async () => {
    const store = openOrThrow(path, { now: steppingClock() });
    try {
      const run = await store.journal.startRun('job');
      await store.journal.addPending(run.runId, entries(1, 150));
      await store.journal.addPending(run.runId, entries(151, 150));
      await store.journal.markSent(run.runId, range(100, 250), 'b1');
      await store.journal.recordOutcomes(run.runId, [{ seq: 100, state: 'committed', crmId: '003A', action: 'created' }]);
      const after = raw();
      expect(after.marks).toEqual([]);
      // The second chunk (first seq 151) was written by the fold: its sent entries are in its own text now.
      const second = JSON.parse(after.states.get(151)!) as { s: number[]; t: number[][] };
      expect(second.t[second.s.indexOf(250)]![0]).toBe(1);
      expect(second.t[second.s.indexOf(251)]![0]).toBe(0);
      expect(await store.journal.countByState(run.runId)).toEqual({ pending: 99 + 50, sent: 150, committed: 1, rejected: 0, unknown: 0 });
      const entry = (await store.journal.listEntries(run.runId, { afterSeq: 249, limit: 2 })).map(({ seq, state, attempts }) => ({ seq, state, attempts }));
      expect(entry).toEqual([
        { seq: 250, state: 'sent', attempts: 1 },
        { seq: 251, state: 'pending', attempts: 0 },
      ]);
    } finally {
      store.close();
    }
  });

  it('keeps a mark across a crash: the reopened store reads the batch as sent (in doubt), closing folds it, and pruning keeps the run', async () => {
    const first = openOrThrow(path, { now: steppingClock() });
    const run = await first.journal.startRun('job');
    await first.journal.addPending(run.runId, entries(1, 10));
    await first.journal.markSent(run.runId, range(1, 4), 'b1');
    await first.journal.markSent(run.runId, range(3, 6), 'b2');
    first.close(); // no outcome: the process died while both batches were out

    const second = openOrThrow(path, { now: steppingClock('2026-02-01T00:00:00.000Z') });
    try {
      expect(await second.journal.countByState(run.runId)).toEqual({ pending: 4, sent: 6, committed: 0, rejected: 0, unknown: 0 });
      const sent = await second.journal.listEntries(run.runId, { states: ['sent'] });
      expect(sent.map(({ seq, attempts, batchId }) => [seq, attempts, batchId])).toEqual([
        [1, 1, 'b1'],
        [2, 1, 'b1'],
        [3, 2, 'b2'],
        [4, 2, 'b2'],
        [5, 1, 'b2'],
        [6, 1, 'b2'],
      ]);
      await second.journal.closeRun(run.runId, 'failed');
      expect(raw().marks).toEqual([]);
      expect(await second.journal.countByState(run.runId)).toEqual({ pending: 4, sent: 6, committed: 0, rejected: 0, unknown: 0 });
      const pruned = await second.journal.pruneRuns({ finishedBefore: '2027-01-01T00:00:00.000Z' });
      expect(pruned.keptInDoubt).toEqual([run.runId]);
    } finally {
      second.close();
    }
  });

  it('a mark made before its seqs were added leaves them pending once they come in', async () => {
    const store = openOrThrow(path, { now: steppingClock() });
    try {
      const run = await store.journal.startRun('job');
      await store.journal.addPending(run.runId, entries(1, 2));
      await store.journal.markSent(run.runId, [2, 3], 'b1');
      await store.journal.addPending(run.runId, entries(3, 1));
      expect((await store.journal.listEntries(run.runId)).map(({ seq, state, attempts }) => [seq, state, attempts])).toEqual([
        [1, 'pending', 0],
        [2, 'sent', 1],
        [3, 'pending', 0],
      ]);
      expect(await store.journal.countByState(run.runId)).toMatchObject({ pending: 2, sent: 1 });
    } finally {
      store.close();
    }
  });

  it('opens a version 5 file with an open run, adds the marks table and goes on with the run', async () => {
    const old = openOrThrow(path, { now: steppingClock() });
    const run = await old.journal.startRun('job');
    await old.journal.addPending(run.runId, entries(1, 3));
    old.close();
    const db = new Database(path);
    db.exec('DROP TABLE crm_sync_journal_marks; PRAGMA user_version = 5;');
    db.close();

    const store = openOrThrow(path, { now: steppingClock() });
    try {
      expect(SCHEMA_VERSION).toBe(7);
      await store.journal.markSent(run.runId, [1, 2, 3], 'b1');
      await store.journal.recordOutcomes(run.runId, [{ seq: 1, state: 'committed', crmId: '003A', action: 'updated' }]);
      expect(await store.journal.countByState(run.runId)).toMatchObject({ sent: 2, committed: 1 });
    } finally {
      store.close();
    }
    const check = new Database(path, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(7);
    } finally {
      check.close();
    }
  });

  it('opens a version 6 file whose chunks hold their states as objects by seq, and goes on with its open run', async () => {
    const old = openOrThrow(path, { now: steppingClock() });
    const run = await old.journal.startRun('job');
    await old.journal.addPending(run.runId, entries(1, 3));
    await old.journal.addPending(run.runId, entries(10, 2));
    old.close();
    // As a version 6 release wrote them: per seq, its tuple, in an object.
    const db = new Database(path);
    for (const row of db.prepare<[], { first_seq: number; states: string }>('SELECT first_seq, states FROM journal_chunks').all()) {
      const { U, B, s, t } = JSON.parse(row.states) as { U: string[]; B: string[]; s: number[]; t: unknown[] };
      db.prepare('UPDATE journal_chunks SET states = ? WHERE first_seq = ?').run(JSON.stringify({ U, B, e: Object.fromEntries(s.map((seq, i) => [seq, t[i]])) }), row.first_seq);
    }
    db.exec('PRAGMA user_version = 6;');
    db.close();

    const store = openOrThrow(path, { now: steppingClock() });
    try {
      expect((await store.journal.listEntries(run.runId, { afterSeq: -1, limit: 10 })).map((entry) => [entry.seq, entry.state, entry.payload])).toEqual([
        [1, 'pending', { LastName: 'Name 1' }],
        [2, 'pending', { LastName: 'Name 2' }],
        [3, 'pending', { LastName: 'Name 3' }],
        [10, 'pending', { LastName: 'Name 10' }],
        [11, 'pending', { LastName: 'Name 11' }],
      ]);
      // A seq the run holds (3) is not added twice; 4 is new.
      await store.journal.addPending(run.runId, entries(3, 2));
      await store.journal.markSent(run.runId, [1, 2, 3], 'b1');
      await store.journal.recordOutcomes(run.runId, [
        { seq: 1, state: 'committed', crmId: '003A', action: 'created' },
        { seq: 3, state: 'rejected', reject: { code: 'invalid-value', message: 'bad', retryable: false } },
      ]);
      expect(await store.journal.countByState(run.runId)).toMatchObject({ pending: 3, sent: 1, committed: 1, rejected: 1 });
      const read = await store.journal.listEntries(run.runId, { afterSeq: -1, limit: 10 });
      expect(read.map((entry) => [entry.seq, entry.state, entry.crmId, entry.attempts])).toEqual([
        [1, 'committed', '003A', 1],
        [2, 'sent', undefined, 1],
        [3, 'rejected', undefined, 1],
        [4, 'pending', undefined, 0],
        [10, 'pending', undefined, 0],
        [11, 'pending', undefined, 0],
      ]);
      expect(read[0]!.payload).toEqual({});
      // The chunks the steps rewrote are in the new form; the other one is as it was.
      const states = [...raw().states.values()].map((text) => Object.keys(JSON.parse(text) as object).join());
      expect(states.sort()).toEqual(['U,B,e', 'U,B,s,t', 'U,B,s,t'].sort());
    } finally {
      store.close();
    }
  });
});
