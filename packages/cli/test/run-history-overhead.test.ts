// What recording a run costs: the same 10,000-record import into a SQLite file, with and without
// the run history, alternated to even out machine noise. Prints the numbers; asserts a loose bound.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InMemoryCrm, MockConnector, SystemClock } from '@crm-sync/connector-mock';
import { Orchestrator, type ImportJob, type RunHistoryStore } from '@crm-sync/sdk';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { describe, expect, it } from 'vitest';
import { seedSampleData } from '../src/demo/sample-data.js';
import { tempDir } from './helpers.js';

const RECORDS = 10_000;

function job(activity: string): ImportJob {
  return {
    kind: 'import',
    activity,
    object: 'contact',
    table: `contacts_${activity}`,
    fields: [
      { remote: 'firstName', local: 'first_name' },
      { remote: 'email', local: 'email' },
    ],
    pageSize: 500,
  };
}

describe('run history overhead', () => {
  it(`recording a ${RECORDS.toLocaleString('en')}-record import into SQLite costs a few store writes and little time`, async () => {
    const crm = new InMemoryCrm({ clock: new SystemClock() });
    seedSampleData(crm, { contacts: RECORDS, until: new Date(Date.now() - 60_000) });
    const opened = openSqliteStore(join(tempDir(), 'overhead.sqlite'));
    if (opened.isErr()) throw opened.error;
    const store = opened.value;
    let historyWrites = 0;
    // Time spent in the history store's calls (start, progress, end, and the stale-run lookup).
    let historyMs = 0;
    const counted: RunHistoryStore = new Proxy(store.history, {
      get: (target, name) => {
        const value = Reflect.get(target, name) as (...args: unknown[]) => unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (name === 'startRun' || name === 'recordProgress' || name === 'finishRun') historyWrites += 1;
          const started = performance.now();
          return Promise.resolve(value.apply(target, args)).finally(() => {
            historyMs += performance.now() - started;
          });
        };
      },
    });
    const run = async (withHistory: boolean, activity: string): Promise<number> => {
      const orchestrator = new Orchestrator({
        connector: new MockConnector(crm),
        options: store.options,
        journal: store.journal,
        sink: store.records,
        source: store.records,
        leases: store.leases,
        ...(withHistory ? { history: counted } : {}),
      });
      const started = performance.now();
      const summary = (await orchestrator.runImport(job(activity)))._unsafeUnwrap();
      expect(summary.read).toBe(RECORDS);
      return performance.now() - started;
    };
    try {
      const times = { with: [] as number[], without: [] as number[] };
      // A warm-up run of each, then alternate which goes first.
      await run(false, 'warm');
      for (let round = 0; round < 3; round += 1) {
        if (round % 2 === 0) {
          times.without.push(await run(false, `plain${round}`));
          times.with.push(await run(true, `recorded${round}`));
        } else {
          times.with.push(await run(true, `recorded${round}`));
          times.without.push(await run(false, `plain${round}`));
        }
      }
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      const runs = await store.history.listRuns();
      expect(runs).toHaveLength(3);
      const samples = (await store.history.listSamples(runs[0]!.runId)).length;
      const writesPerRun = historyWrites / 3;
      console.info(
        `[run-history] ${RECORDS} records, 20 pages, SQLite file: median ${median(times.without).toFixed(0)} ms without history, ` +
          `${median(times.with).toFixed(0)} ms with (${(median(times.with) - median(times.without)).toFixed(0)} ms); ` +
          `${writesPerRun} history writes, ${(historyMs / 3).toFixed(1)} ms in history calls and ${samples} samples per run`,
      );
      // Start, end, and a flush every 5 s at most: a run of a few seconds is a handful of writes.
      expect(writesPerRun).toBeLessThanOrEqual(2 + Math.ceil(median(times.with) / 5000) + 1);
      // The wall-clock difference is within machine noise; the time in history calls is the real cost.
      expect(historyMs / 3).toBeLessThan(250);
      expect(median(times.with)).toBeLessThan(median(times.without) * 1.5 + 250);
    } finally {
      store.close();
    }
  }, 120_000);
});
