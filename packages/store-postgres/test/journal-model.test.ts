// Model test: random sequences of journal calls give the same entries in the PostgreSQL journal as
// in the SDK's in-memory reference journal (timestamps aside). The journal keeps entries by chunk
// row (one per addPending call here), so calls that add seqs out of order make chunks whose seq
// ranges overlap, and steps issued in one turn are written together: both are exercised, and the
// entries are compared whole, page by page, per state, and after the run is closed.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryExportJournal, type ExportJournal, type JournalEntry, type JournalState } from '@crm-sync/sdk';
import type { PostgresStore } from '../src/index.js';
import { openTestStore, pgUrl } from './helpers.js';

type Step =
  | { readonly kind: 'add'; readonly seqs: number[] }
  | { readonly kind: 'sent'; readonly seqs: number[]; readonly batch: string }
  | { readonly kind: 'outcome'; readonly seq: number; readonly state: 'committed' | 'rejected' | 'unknown' | 'pending'; readonly crmId?: string };

/** Steps issued in one turn of the event loop (awaited together), or one alone. */
type Command = { readonly together: readonly Step[] };

const seqs = fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 5 });
const step: fc.Arbitrary<Step> = fc.oneof(
  seqs.map((s) => ({ kind: 'add' as const, seqs: s })),
  fc.tuple(seqs, fc.constantFrom('b1', 'b2', 'b3')).map(([s, batch]) => ({ kind: 'sent' as const, seqs: s, batch })),
  fc
    .record({
      seq: fc.integer({ min: 0, max: 7 }),
      state: fc.constantFrom('committed' as const, 'rejected' as const, 'unknown' as const, 'pending' as const),
      crmId: fc.constantFrom(undefined, '003A', '003B'),
    })
    .map((o) => ({ kind: 'outcome' as const, ...o })),
);
// Steps together never add: the orchestrator adds alone, and sequential adds decide which chunk holds a seq.
const command: fc.Arbitrary<Command> = fc.oneof(
  step.map((s) => ({ together: [s] })),
  fc.array(step.filter((s) => s.kind !== 'add'), { minLength: 2, maxLength: 4 }).map((together) => ({ together })),
);

function apply(journal: ExportJournal, runId: string, s: Step): Promise<void> {
  if (s.kind === 'add') {
    return journal.addPending(runId, s.seqs.map((seq) => ({ seq, localKey: `k${seq}`, mode: 'insert' as const, ...(seq % 2 === 0 ? { syncKey: `s${seq}` } : {}), payload: { n: seq, none: null } })));
  }
  if (s.kind === 'sent') return journal.markSent(runId, s.seqs, s.batch);
  const reject = s.state === 'rejected' ? { reject: { code: 'validation' as const, message: 'no', retryable: false } } : {};
  const action = s.state === 'committed' ? { action: 'created' as const } : {};
  return journal.recordOutcomes(runId, [{ seq: s.seq, state: s.state, ...(s.crmId === undefined ? {} : { crmId: s.crmId }), ...reject, ...action }]);
}

function withoutTimes(entries: readonly JournalEntry[]): Omit<JournalEntry, 'updatedAt' | 'runId'>[] {
  return entries.map(({ updatedAt: _updatedAt, runId: _runId, ...rest }) => rest);
}

/** Every view of the run's entries the journal offers. */
async function views(journal: ExportJournal, runId: string): Promise<unknown> {
  const pages: unknown[] = [];
  for (const limit of [1, 3]) {
    for (let afterSeq = -1; ; ) {
      const page = await journal.listEntries(runId, { afterSeq, limit });
      pages.push(withoutTimes(page));
      if (page.length === 0) break;
      afterSeq = page[page.length - 1]!.seq;
    }
  }
  const byState: unknown[] = [];
  for (const states of [['pending'], ['sent', 'unknown'], ['committed', 'rejected']] as JournalState[][]) {
    byState.push(withoutTimes(await journal.listEntries(runId, { states })), withoutTimes(await journal.listEntries(runId, { states, afterSeq: 2, limit: 2 })));
  }
  return { all: withoutTimes(await journal.listEntries(runId)), pages, byState, counts: await journal.countByState(runId) };
}

describe.skipIf(pgUrl === undefined)('PostgreSQL export journal against the in-memory reference', () => {
  let store: PostgresStore;
  let job = 0;
  beforeAll(async () => {
    store = await openTestStore();
  });
  afterAll(async () => {
    await store?.close();
  });

  it('ends every random sequence of calls with the same entries, pages and counts, open and closed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 20 }), async (commands) => {
        const memory = new MemoryExportJournal();
        const pgRun = await store.journal.startRun(`job-${job++}`);
        const memoryRun = await memory.startRun('job');
        for (const { together } of commands) {
          // Issued in one turn, so the PostgreSQL journal writes them as one group; awaited in order
          // of issue against the reference.
          const written = Promise.all(together.map((s) => apply(store.journal, pgRun.runId, s)));
          for (const s of together) await apply(memory, memoryRun.runId, s);
          await written;
        }
        expect(await views(store.journal, pgRun.runId)).toEqual(await views(memory, memoryRun.runId));
        await store.journal.closeRun(pgRun.runId, 'failed');
        await memory.closeRun(memoryRun.runId, 'failed');
        expect(withoutTimes(await store.journal.listEntries(pgRun.runId))).toEqual(withoutTimes(await memory.listEntries(memoryRun.runId)));
      }),
      { seed: 20261205, numRuns: 150 },
    );
  }, 120_000);
});
