// The store suite itself: every group runs, a part left out is skipped with its reason, a part the
// factory forgot fails (never a silent pass), and broken stores are caught.
import { MemoryExportJournal, MemoryLeaseStore, MemoryOptionStore, MemoryRecordStore, MemoryRunHistory, type Fence, type RunHistoryProgress, type RunHistoryStore, type RunSample } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { runStoreContract, STORE_CHECK_GROUPS, storeChecks, type StoresUnderTest } from '../src/index.js';

function memoryStores(history?: (leases: MemoryLeaseStore) => RunHistoryStore): StoresUnderTest {
  const leases = new MemoryLeaseStore();
  const options = new MemoryOptionStore(undefined, leases);
  const records = new MemoryRecordStore(options);
  return {
    options,
    journal: new MemoryExportJournal(undefined, leases),
    records,
    leases,
    ...(history === undefined ? {} : { history: history(leases) }),
    async seed(table, rows) {
      for (const row of rows) {
        records.put(table, row.key, { ...row.values }, {
          ...(row.crmId === undefined ? {} : { crmId: row.crmId }),
          ...(row.changedAt === undefined ? {} : { changedAt: row.changedAt }),
        });
      }
    },
  };
}

/** A history whose one method misbehaves, the rest delegated to a correct one. */
function brokenHistory(leases: MemoryLeaseStore, method: keyof RunHistoryStore, replacement: (inner: MemoryRunHistory) => unknown): RunHistoryStore {
  const inner = new MemoryRunHistory(leases);
  return new Proxy(inner, {
    get: (target, name) => (name === method ? replacement(target) : (Reflect.get(target, name) as (...args: unknown[]) => unknown).bind(target)),
  });
}

describe('the store suite', () => {
  it('covers every group, and the memory stores pass every check', async () => {
    expect(new Set(storeChecks.map((check) => check.needs))).toEqual(new Set(STORE_CHECK_GROUPS));
    const outcomes = await runStoreContract({ name: 'memory', factory: () => memoryStores((leases) => new MemoryRunHistory(leases)) });
    expect(outcomes).toHaveLength(storeChecks.length);
    expect(outcomes.filter((outcome) => outcome.status !== 'passed')).toEqual([]);
  });

  it('a part declared left out is skipped with the reason; a part the factory forgot fails naming how to fix it', async () => {
    const skipped = await runStoreContract({ name: 'no-history', factory: () => memoryStores(), without: ['history'] });
    const history = skipped.filter((outcome) => outcome.group === 'history');
    expect(history.length).toBeGreaterThan(5);
    expect(history.every((outcome) => outcome.status === 'skipped' && /no-history declares without: \['history'\]/.test(outcome.reason ?? ''))).toBe(true);
    expect(skipped.filter((outcome) => outcome.group !== 'history').every((outcome) => outcome.status === 'passed')).toBe(true);

    const forgot = await runStoreContract({ name: 'forgot', factory: () => memoryStores() });
    const failed = forgot.filter((outcome) => outcome.status === 'failed');
    expect(failed.map((outcome) => outcome.group)).toEqual(history.map(() => 'history'));
    expect(String(failed[0]?.error)).toMatch(/needs `history` from the factory, which returned none.*without: \['history'\]/);

    await expect(runStoreContract({ name: 'x', factory: () => memoryStores(), without: ['options' as never] })).rejects.toThrow(/without may name records, leases, history, got "options"/);
  });

  it('catches broken histories: a search that is ignored, samples out of order, a fence not checked, a prune that keeps samples', async () => {
    const failing = async (history: (leases: MemoryLeaseStore) => RunHistoryStore): Promise<string[]> =>
      (await runStoreContract({ name: 'broken', factory: () => memoryStores(history) })).filter((outcome) => outcome.status === 'failed').map((outcome) => outcome.name);

    expect(await failing((leases) => brokenHistory(leases, 'listRejects', (inner) => (runId: string) => inner.listRejects(runId)))).toEqual(
      expect.arrayContaining([expect.stringMatching(/listRejects numbers rejects/)]),
    );
    expect(
      await failing((leases) => brokenHistory(leases, 'listSamples', (inner) => async (runId: string) => [...(await inner.listSamples(runId))].reverse())),
    ).toEqual(expect.arrayContaining([expect.stringMatching(/recordProgress appends samples/)]));
    expect(await failing(() => new MemoryRunHistory())).toEqual([expect.stringMatching(/a zombie's startRun, recordProgress and finishRun are refused/)]);
    // A prune that forgets the child rows: samples are kept in their own table and never deleted.
    const keepsSamples = (leases: MemoryLeaseStore): RunHistoryStore => {
      const samples = new Map<string, RunSample[]>();
      const inner = new MemoryRunHistory(leases);
      return new Proxy(inner, {
        get: (target, name) => {
          if (name === 'recordProgress' || name === 'finishRun') {
            return async (runId: string, progress: RunHistoryProgress, fence?: Fence) => {
              await (target[name] as (r: string, p: RunHistoryProgress, f?: Fence) => Promise<void>).call(target, runId, { ...progress, samples: [] }, fence);
              samples.set(runId, [...(samples.get(runId) ?? []), ...(progress.samples ?? [])]);
            };
          }
          if (name === 'listSamples') return async (runId: string) => samples.get(runId) ?? [];
          return (Reflect.get(target, name) as (...args: unknown[]) => unknown).bind(target);
        },
      });
    };
    expect(await failing(keepsSamples)).toEqual(expect.arrayContaining([expect.stringMatching(/pruneRuns deletes the runs/)]));
  });
});
