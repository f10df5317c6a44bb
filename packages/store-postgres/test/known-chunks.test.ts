// The one-statement write of a batch step (the journal knows the chunks it wrote): it is used, it
// never overwrites a chunk another writer changed, and it never writes under a stale fence.
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StaleFenceError, type Fence, type NewJournalEntry } from '@crm-sync/sdk';
import type { PostgresStore } from '../src/index.js';
import { adminQuery, freshSchema, openTestStore, pgUrl } from './helpers.js';

function entries(from: number, count: number): NewJournalEntry[] {
  return Array.from({ length: count }, (_, index) => ({ seq: from + index, localKey: `k${from + index}`, mode: 'upsert' as const, syncKey: `s${from + index}`, payload: { n: from + index } }));
}

const seqs = (from: number, count: number): number[] => Array.from({ length: count }, (_, index) => from + index);

describe.skipIf(pgUrl === undefined)('PostgreSQL journal: batch steps on chunks it wrote', () => {
  const stores: PostgresStore[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const store of stores.splice(0)) await store.close();
  });

  async function open(): Promise<{ store: PostgresStore; schema: string }> {
    const schema = freshSchema();
    const store = await openTestStore({ schema });
    stores.push(store);
    return { store, schema };
  }

  /** The statements sent to the server while `body` runs (every pg client of the process). */
  async function statementsDuring(body: () => Promise<unknown>): Promise<string[]> {
    const sent: string[] = [];
    const original = pg.Client.prototype.query;
    vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const first = args[0] as string | { text?: string };
      sent.push(typeof first === 'string' ? first : (first.text ?? ''));
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as never);
    await body();
    vi.restoreAllMocks();
    return sent;
  }

  it('writes a batch step on chunks it added as one statement, no transaction, no read; a sent mark only appends to the marks', async () => {
    const { store, schema } = await open();
    const run = await store.journal.startRun('job');
    await store.journal.addPending(run.runId, entries(0, 400));
    const rows = (): Promise<{ first_seq: number; states: string; marks: string }[]> =>
      adminQuery(`SELECT first_seq, states, marks FROM "${schema}".journal_chunks WHERE run_id = $1 ORDER BY first_seq`, [run.runId]);
    const before = await rows();
    const sent = await statementsDuring(() => Promise.all([store.journal.markSent(run.runId, seqs(0, 200), 'b1'), store.journal.markSent(run.runId, seqs(200, 200), 'b2')]));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^WITH\s+appended AS \(UPDATE/);
    const marked = await rows();
    expect(marked.map((row) => row.states)).toEqual(before.map((row) => row.states));
    expect(marked.map((row) => row.marks.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as unknown[])[0]))).toEqual([['b1'], ['b2']]);
    expect(await store.journal.countByState(run.runId)).toMatchObject({ pending: 0, sent: 400 });
    const outcomes = await statementsDuring(() => store.journal.recordOutcomes(run.runId, seqs(0, 200).map((seq) => ({ seq, state: 'committed' as const, crmId: `c${seq}`, action: 'created' as const }))));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatch(/^WITH\s+written AS \(UPDATE/);
    // The outcome folded the chunk's marks into its states and emptied them.
    expect((await rows()).map((row) => row.marks === '')).toEqual([true, false]);
    const listed = await store.journal.listEntries(run.runId);
    expect(listed.filter((entry) => entry.state === 'committed' && entry.batchId === 'b1' && entry.attempts === 1 && entry.crmId === `c${entry.seq}`)).toHaveLength(200);
    expect(listed.filter((entry) => entry.state === 'sent' && entry.batchId === 'b2' && entry.payload['n'] === entry.seq)).toHaveLength(200);
  });

  it('does not overwrite a chunk another writer changed: the step is read and written again', async () => {
    const { store, schema } = await open();
    const run = await store.journal.startRun('job');
    await store.journal.addPending(run.runId, entries(0, 200));
    await store.journal.markSent(run.runId, [0, 1], 'b1');
    // Another writer (another process on the same run) marks seq 5 sent behind this journal's back.
    const [row] = await adminQuery<{ states: string }>(`SELECT states FROM "${schema}".journal_chunks WHERE run_id = $1`, [run.runId]);
    const states = JSON.parse(row!.states) as { B: string[]; s: number[]; t: unknown[][] };
    states.B.push('other');
    states.t[states.s.indexOf(5)] = [1, 1, 0, states.B.length - 1];
    await adminQuery(`UPDATE "${schema}".journal_chunks SET states = $2, pending = pending - 1, sent = sent + 1 WHERE run_id = $1`, [run.runId, JSON.stringify(states)]);

    // A sent mark appends to the row's marks: the other writer's states stay as they are.
    const sent = await statementsDuring(() => store.journal.markSent(run.runId, [7], 'b2'));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^WITH\s+appended AS/);
    // An outcome rewrites the states: the guarded statement is refused (the states are not those
    // this journal wrote), then the reading way applies the marks and the outcome to what is there.
    // (A rejected entry keeps its payload until the run closes: no payload is read for it.)
    const outcome = await statementsDuring(() => store.journal.recordOutcomes(run.runId, [{ seq: 0, state: 'rejected', reject: { code: 'validation', message: 'no', retryable: false } }]));
    expect(outcome[0]).toMatch(/^WITH\s+written AS/);
    expect(outcome).toContain('BEGIN');
    const byState = new Map((await store.journal.listEntries(run.runId)).map((entry) => [entry.seq, [entry.state, entry.batchId]]));
    expect(byState.get(0)).toEqual(['rejected', 'b1']);
    expect(byState.get(1)).toEqual(['sent', 'b1']);
    expect(byState.get(5)).toEqual(['sent', 'other']);
    expect(byState.get(7)).toEqual(['sent', 'b2']);
    expect(await store.journal.countByState(run.runId)).toMatchObject({ pending: 196, sent: 3, rejected: 1 });
    const [after] = await adminQuery<{ marks: string }>(`SELECT marks FROM "${schema}".journal_chunks WHERE run_id = $1`, [run.runId]);
    expect(after!.marks).toBe('');
  });

  it('writes nothing under a stale fence and rejects with StaleFenceError, as the reading way does', async () => {
    const { store } = await open();
    const first = await store.leases.acquireLease('job', { host: 'a', pid: 1, runId: 'a' }, { ttlMs: 60_000 });
    if (!first.acquired) throw new Error('lease not acquired');
    const fence: Fence = { key: 'job', token: first.lease.token };
    const run = await store.journal.startRun('job', fence);
    await store.journal.addPending(run.runId, entries(0, 200), fence);
    await store.journal.markSent(run.runId, [0], 'b1', fence);
    const takeover = await store.leases.acquireLease('job', { host: 'b', pid: 2, runId: 'b' }, { ttlMs: 60_000, takeOverToken: first.lease.token });
    expect(takeover.acquired).toBe(true);

    const refused = await store.journal.markSent(run.runId, [1, 2], 'b2', fence).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StaleFenceError);
    const listed = await store.journal.listEntries(run.runId, { states: ['sent'] });
    expect(listed.map((entry) => entry.seq)).toEqual([0]);
  });

  it('keeps the payloads of the entries still pending when a step commits some of a chunk', async () => {
    const { store } = await open();
    const run = await store.journal.startRun('job');
    await store.journal.addPending(run.runId, entries(0, 10));
    await store.journal.markSent(run.runId, seqs(0, 10), 'b1');
    await store.journal.recordOutcomes(run.runId, [{ seq: 3, state: 'committed', crmId: 'c3', action: 'created' }, { seq: 4, state: 'pending' }]);
    const listed = await store.journal.listEntries(run.runId);
    expect(listed.find((entry) => entry.seq === 3)?.payload).toEqual({});
    expect(listed.filter((entry) => entry.seq !== 3).every((entry) => entry.payload['n'] === entry.seq)).toBe(true);
    expect(await store.journal.countByState(run.runId)).toMatchObject({ pending: 1, sent: 8, committed: 1 });
  });
});
