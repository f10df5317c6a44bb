// Model test: random sequences of journal calls give the same entries in the SQLite journal as in
// the SDK's in-memory reference journal (timestamps aside).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryExportJournal, type ExportJournal, type JournalEntry, type JournalState } from '@crm-sync/sdk';
import { openOrThrow } from './helpers.js';

type Command =
  | { readonly kind: 'add'; readonly seqs: number[] }
  | { readonly kind: 'sent'; readonly seqs: number[]; readonly batch: string }
  | { readonly kind: 'outcome'; readonly seq: number; readonly state: 'committed' | 'rejected' | 'unknown' | 'pending'; readonly crmId?: string };

// A small seq range makes calls collide on the same entries, where the interesting transitions are.
const seqs = fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { maxLength: 4 });
const command: fc.Arbitrary<Command> = fc.oneof(
  seqs.map((s) => ({ kind: 'add' as const, seqs: s })),
  fc.tuple(seqs, fc.constantFrom('b1', 'b2', 'b3')).map(([s, batch]) => ({ kind: 'sent' as const, seqs: s, batch })),
  fc
    .record({
      seq: fc.integer({ min: 0, max: 3 }),
      state: fc.constantFrom('committed' as const, 'rejected' as const, 'unknown' as const, 'pending' as const),
      crmId: fc.constantFrom(undefined, '003A', '003B'),
    })
    .map((o) => ({ kind: 'outcome' as const, ...o })),
);

async function apply(journal: ExportJournal, runId: string, step: Command): Promise<void> {
  if (step.kind === 'add') {
    await journal.addPending(runId, step.seqs.map((seq) => ({ seq, localKey: `k${seq}`, mode: 'insert' as const, payload: { n: seq } })));
  } else if (step.kind === 'sent') {
    await journal.markSent(runId, step.seqs, step.batch);
  } else {
    const reject = step.state === 'rejected' ? { reject: { code: 'validation' as const, message: 'no', retryable: false } } : {};
    const action = step.state === 'committed' ? { action: 'created' as const } : {};
    await journal.recordOutcomes(runId, [{ seq: step.seq, state: step.state, ...(step.crmId === undefined ? {} : { crmId: step.crmId }), ...reject, ...action }]);
  }
}

function withoutTimes(entries: readonly JournalEntry[]): Omit<JournalEntry, 'updatedAt' | 'runId'>[] {
  return entries.map(({ updatedAt: _updatedAt, runId: _runId, ...rest }) => rest);
}

describe('SQLite export journal against the in-memory reference', () => {
  it('ends every random sequence of calls with the same entries and counts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 25 }), async (commands) => {
        const store = openOrThrow(':memory:');
        try {
          const memory = new MemoryExportJournal();
          const sqliteRun = await store.journal.startRun('job');
          const memoryRun = await memory.startRun('job');
          for (const step of commands) {
            await apply(store.journal, sqliteRun.runId, step);
            await apply(memory, memoryRun.runId, step);
          }
          expect(withoutTimes(await store.journal.listEntries(sqliteRun.runId))).toEqual(withoutTimes(await memory.listEntries(memoryRun.runId)));
          expect(await store.journal.countByState(sqliteRun.runId)).toEqual(await memory.countByState(memoryRun.runId));
        } finally {
          store.close();
        }
      }),
      { seed: 20261125, numRuns: 300 },
    );
  });

  // The journal keeps entries by chunk row (one per addPending call here): seqs added out of order
  // make chunks whose seq ranges overlap, where paging has to read past a full page.
  it('pages, per-state lists and closing agree with the reference when chunks overlap', async () => {
    const wide = fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 5 });
    const wideCommand: fc.Arbitrary<Command> = fc.oneof(
      wide.map((s) => ({ kind: 'add' as const, seqs: s })),
      fc.tuple(wide, fc.constantFrom('b1', 'b2')).map(([s, batch]) => ({ kind: 'sent' as const, seqs: s, batch })),
      fc
        .record({ seq: fc.integer({ min: 0, max: 7 }), state: fc.constantFrom('committed' as const, 'rejected' as const, 'unknown' as const, 'pending' as const), crmId: fc.constantFrom(undefined, '003A') })
        .map((o) => ({ kind: 'outcome' as const, ...o })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(wideCommand, { maxLength: 20 }), async (commands) => {
        const store = openOrThrow(':memory:');
        try {
          const memory = new MemoryExportJournal();
          const sqliteRun = await store.journal.startRun('job');
          const memoryRun = await memory.startRun('job');
          for (const step of commands) {
            await apply(store.journal, sqliteRun.runId, step);
            await apply(memory, memoryRun.runId, step);
          }
          expect(await views(store.journal, sqliteRun.runId)).toEqual(await views(memory, memoryRun.runId));
          await store.journal.closeRun(sqliteRun.runId, 'failed');
          await memory.closeRun(memoryRun.runId, 'failed');
          expect(withoutTimes(await store.journal.listEntries(sqliteRun.runId))).toEqual(withoutTimes(await memory.listEntries(memoryRun.runId)));
        } finally {
          store.close();
        }
      }),
      { seed: 20261205, numRuns: 200 },
    );
  });
});

/** Every view of the run's entries the journal offers: pages of 1 and 3, per-state lists, counts. */
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
  return { pages, byState, counts: await journal.countByState(runId) };
}
