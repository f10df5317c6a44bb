// The orchestrator records every run in the run history: all four operations, their counts, API
// calls by kind, window and variables, rejects, samples; failures, aborts and dead runs.
import { performance } from 'node:perf_hooks';
import { hostname } from 'node:os';
import { ResultAsync } from 'neverthrow';
import { describe, expect, it } from 'vitest';
import {
  MemoryExportJournal,
  MemoryLeaseStore,
  MemoryOptionStore,
  MemoryRecordStore,
  MemoryRunHistory,
  type CrmConnector,
  type ExportJob,
  type OrchestratorOptions,
  type RunHistoryStore,
} from '../../src/index.js';
import { harnesses, START, withMethod, type Harness } from './harnesses.js';
import { contactsImportJob, makeRig, type Rig } from './setup.js';

const mock = harnesses.find((factory) => factory.name === 'mock')!;
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface HistoryRig extends Rig {
  readonly history: MemoryRunHistory;
  readonly leases: MemoryLeaseStore;
}

function historyRig(harness: Harness, overrides: Partial<OrchestratorOptions> = {}, base?: HistoryRig): HistoryRig {
  const leases = base?.leases ?? new MemoryLeaseStore();
  const options = base?.options ?? new MemoryOptionStore(undefined, leases);
  const journal = base?.journal ?? new MemoryExportJournal(undefined, leases);
  const records = base?.records ?? new MemoryRecordStore(options);
  const history = base?.history ?? new MemoryRunHistory(leases);
  const rig = makeRig(harness, { options, journal, sink: records, source: records, leases, history, account: 'prod-eu', ...overrides }, base ?? ({ options, journal, records } as unknown as Rig));
  return { ...rig, history, leases };
}

function exportJob(harness: Harness, overrides: Partial<ExportJob> = {}): ExportJob {
  return {
    kind: 'export',
    activity: 'exportContacts',
    object: harness.names.object,
    table: 'people',
    mode: 'auto',
    batchSize: 20,
    fields: [
      { local: 'last_name', remote: harness.names.lastName },
      { local: 'email', remote: harness.names.email },
    ],
    ...overrides,
  };
}

async function withMock(body: (harness: Harness) => Promise<void>): Promise<void> {
  const harness = await mock.setup();
  try {
    await body(harness);
  } finally {
    await mock.teardown?.(harness);
  }
}

/** Delete refused for every id: each is a reject. */
function refusingDeletes(harness: Harness): CrmConnector {
  return withMethod(harness.connector, 'delete', () => (request) =>
    harness.connector.delete({ ...request, ids: [] }).map(() =>
      request.ids.map(() => ({ ok: false as const, reject: { code: 'conflict' as const, symbol: 'DELETE_FAILED', message: 'record is protected', retryable: false } })),
    ),
  );
}

describe('run history', () => {
  it('records an import with its counts, calls by kind, window, variables, host, pid, connector and account', () =>
    withMock(async (harness) => {
      const rig = historyRig(harness);
      for (let i = 0; i < 450; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` });
      harness.crm.advance(60_000);
      const summary = (await rig.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      const [run] = await rig.history.listRuns();
      expect(run).toMatchObject({
        jobId: 'default/importContacts',
        activity: 'importContacts',
        operation: 'import',
        connector: harness.connector.id,
        account: 'prod-eu',
        host: hostname(),
        pid: process.pid,
        status: 'succeeded',
        counts: { read: 450, written: 450, rejected: 0 },
        apiCalls: { total: summary.apiCalls, retries: 0 },
        variables: summary.variables,
        notes: summary.notes,
      });
      expect(run?.apiCalls.byKind.query).toBe(3);
      expect(Object.values(run!.apiCalls.byKind).reduce((a, b) => a + b, 0)).toBe(summary.apiCalls);
      expect(run?.window).toEqual({ end: summary.window?.endInstant });
      expect(run?.variables.crmOptionName).toBe('LASTIMPORT_default_importContacts');
      expect(run?.error).toBeUndefined();
      expect(Date.parse(run!.endedAt!)).toBeGreaterThanOrEqual(Date.parse(run!.startedAt));
      // Samples: one at the start, pages in between (never two within 100 ms), one at the end.
      const samples = await rig.history.listSamples(run!.runId);
      expect(samples.length).toBeGreaterThanOrEqual(2);
      expect(samples[0]).toMatchObject({ phase: 'validate', read: 0 });
      expect(samples.at(-1)).toMatchObject({ phase: 'done', read: 450, written: 450, apiCalls: summary.apiCalls });
      // The second run reads from the watermark: its window has a start.
      harness.crm.create({ [harness.names.lastName]: 'late' });
      harness.crm.advance(60_000);
      const second = (await rig.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      const [latest] = await rig.history.listRuns({ limit: 1 });
      expect(latest?.window).toEqual({ start: second.window?.startInstant, end: second.window?.endInstant });
      expect(latest?.variables.crmStartImport).toBe(second.variables.crmStartImport);
      expect(latest?.counts.read).toBe(1);
    }));

  it('records an export with its journal link, a delete with its rejects, an import of deleted records; a dry run is not recorded', () =>
    withMock(async (harness) => {
      const rig = historyRig(harness);
      for (let i = 0; i < 30; i += 1) rig.records.put('people', `p${i}`, { last_name: `Last ${i}`, email: `p${i}@example.test` });
      const plan = await rig.orchestrator.plan(exportJob(harness));
      expect(plan.isOk()).toBe(true);
      expect(await rig.history.listRuns()).toEqual([]);

      const exported = (await rig.orchestrator.runExport(exportJob(harness)))._unsafeUnwrap();
      const [exportRun] = await rig.history.listRuns({ operation: 'export' });
      expect(exportRun).toMatchObject({ status: 'succeeded', journalRunId: exported.runId, counts: { read: 30, created: 30 } });
      expect(exportRun?.apiCalls.byKind.upsertBatch).toBe(2);
      expect((await rig.history.listSamples(exportRun!.runId)).at(-1)).toMatchObject({ written: 30 });

      const ids = harness.crm.contacts().slice(0, 3).map((contact) => contact.id);
      const refusing = historyRig({ ...harness, connector: refusingDeletes(harness) }, {}, rig);
      // Rejects are kept in the history whether or not the job processes them.
      const deleted = (await refusing.orchestrator.runDelete({ kind: 'delete', activity: 'del', object: harness.names.object, ids }))._unsafeUnwrap();
      expect(deleted.rejected).toBe(3);
      const [deleteRun] = await rig.history.listRuns({ operation: 'delete' });
      expect(deleteRun).toMatchObject({ status: 'succeeded', counts: { read: 3, deleted: 0, rejected: 3 } });
      const rejects = await rig.history.listRejects(deleteRun!.runId);
      expect(rejects.map((r) => [r.seq, r.crmId, r.code, r.symbol])).toEqual(ids.map((id, seq) => [seq, id, 'conflict', 'DELETE_FAILED']));
      expect((await rig.history.listRejects(deleteRun!.runId, { search: ids[1]! })).map((r) => r.seq)).toEqual([1]);

      harness.crm.remove(ids[0]!);
      harness.crm.advance(60_000);
      const gone = (await rig.orchestrator.runImportDeleted({ kind: 'import-deleted', activity: 'deletedContacts', object: harness.names.object, table: 'contacts', start: START }))._unsafeUnwrap();
      const [deletedRun] = await rig.history.listRuns({ operation: 'import-deleted' });
      expect(deletedRun).toMatchObject({ status: 'succeeded', window: { start: gone.deletedWindow?.start, end: gone.deletedWindow?.end } });
      expect((await rig.history.listRuns()).map((r) => r.operation)).toEqual(['import-deleted', 'delete', 'export']);
    }));

  it('a failed run is recorded as failed with its error kind and message; an aborted run as interrupted', () =>
    withMock(async (harness) => {
      const rig = historyRig(harness);
      const failed = await rig.orchestrator.runImport(contactsImportJob(harness, { object: 'NoSuchObject' }));
      expect(failed.isErr()).toBe(true);
      const [run] = await rig.history.listRuns();
      expect(run).toMatchObject({ status: 'failed', error: { kind: failed._unsafeUnwrapErr().kind, message: failed._unsafeUnwrapErr().message } });

      for (let i = 0; i < 100; i += 1) rig.records.put('people', `p${i}`, { last_name: `Last ${i}` });
      const controller = new AbortController();
      const aborted = await rig.orchestrator.runExport(exportJob(harness, { fields: [{ local: 'last_name', remote: harness.names.lastName }] }), {
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.phase === 'write') controller.abort();
        },
      });
      expect(aborted._unsafeUnwrapErr().kind).toBe('aborted');
      const [cut] = await rig.history.listRuns({ limit: 1 });
      expect(cut).toMatchObject({ status: 'interrupted', operation: 'export', error: { kind: 'aborted' } });
      expect(cut?.journalRunId).toEqual(expect.any(String));
    }));

  it('a run the history still shows as running (its process died) is recorded as interrupted by the next run of its job', () =>
    withMock(async (harness) => {
      const rig = historyRig(harness);
      // What a kill -9 leaves: a start, no end.
      await rig.history.startRun({ runId: 'dead', jobId: 'default/importContacts', activity: 'importContacts', operation: 'import', host: 'h', pid: 1, startedAt: '2024-01-01T00:00:00.000Z' });
      await rig.history.startRun({ runId: 'other-job', jobId: 'default/other', activity: 'other', operation: 'import', host: 'h', pid: 1, startedAt: '2024-01-01T00:00:00.000Z' });
      const summary = (await rig.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      expect(await rig.history.getRun('dead')).toMatchObject({ status: 'interrupted', error: { kind: 'process-died' } });
      expect((await rig.history.getRun('other-job'))?.status).toBe('running');
      expect(summary.notes.join('\n')).toMatch(/run dead .* never recorded its end; recorded it as interrupted/);
    }));

  it('a history store that fails on every write never fails the run: one warning, the run succeeds', () =>
    withMock(async (harness) => {
      const broken: RunHistoryStore = new Proxy(new MemoryRunHistory(), {
        get: (target, name) => (typeof name === 'string' && ['startRun', 'recordProgress', 'finishRun', 'listRuns'].includes(name) ? async () => { throw new Error('disk full (password=hunter2)'); } : Reflect.get(target, name)),
      });
      const rig = makeRig(harness, { history: broken });
      for (let i = 0; i < 10; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` });
      harness.crm.advance(60_000);
      const result = await rig.orchestrator.runImport(contactsImportJob(harness));
      expect(result._unsafeUnwrap()).toMatchObject({ read: 10, written: 10 });
      const warnings = rig.warnings.filter((w) => /run history/.test(w.message ?? ''));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.message).toMatch(/recording the start of the run failed; the sync run goes on/);
      expect(warnings[0]?.message).not.toContain('hunter2');
      // A store that fails only later (progress and end) is warned about too, and the run still succeeds.
      const flaky = new MemoryRunHistory();
      const failingEnd: RunHistoryStore = new Proxy(flaky, {
        get: (target, name) => (name === 'finishRun' ? async () => { throw new Error('locked'); } : Reflect.get(target, name).bind(target)),
      });
      const second = makeRig(harness, { history: failingEnd });
      expect((await second.orchestrator.runImport(contactsImportJob(harness, { activity: 'again' }))).isOk()).toBe(true);
      expect(second.warnings.filter((w) => /recording the end of the run failed/.test(w.message ?? ''))).toHaveLength(1);
      expect((await flaky.listRuns())[0]?.status).toBe('running');
    }));

  it('samples are taken on a timer (about one per historySampleMs) while a slow run waits, and buffered into few store writes', () =>
    withMock(async (harness) => {
      const history = new MemoryRunHistory();
      let writes = 0;
      const counting: RunHistoryStore = new Proxy(history, {
        get: (target, name) => {
          const value = Reflect.get(target, name);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (name === 'recordProgress' || name === 'finishRun' || name === 'startRun') writes += 1;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      // The run waits 300 ms on one call (as on a rate-limit pause): no page boundary, only the timer.
      const slowDescribe = withMethod(harness.connector, 'describe', (inner) => (object: string, options?: Parameters<CrmConnector['describe']>[1]) =>
        inner.describe(object, options).andThen((description) => ResultAsync.fromSafePromise(realSleep(300).then(() => description))),
      );
      const rig = makeRig({ ...harness, connector: slowDescribe }, { history: counting, historySampleMs: 20 });
      for (let i = 0; i < 100; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` });
      harness.crm.advance(60_000);
      const started = performance.now();
      expect((await rig.orchestrator.runImport(contactsImportJob(harness, { pageSize: 10 }))).isOk()).toBe(true);
      const elapsed = performance.now() - started;
      const [run] = await history.listRuns();
      const samples = await history.listSamples(run!.runId);
      // 300 ms of waiting with a sample every 20 ms, far more than the ten page boundaries give.
      expect(samples.filter((sample) => sample.phase === 'validate').length).toBeGreaterThan(5);
      expect(samples.length).toBeLessThanOrEqual(Math.ceil(elapsed / 20) + 12);
      for (let i = 1; i < samples.length; i += 1) expect(samples[i]!.elapsedMs).toBeGreaterThanOrEqual(samples[i - 1]!.elapsedMs);
      // Start, end, and a flush every 5 s at most: a sub-second run is two or three writes.
      expect(writes).toBeLessThanOrEqual(3);
    }));

  it('page-boundary samples are throttled: 200 fast pages give far fewer than 200 samples', () =>
    withMock(async (harness) => {
      const rig = historyRig(harness);
      for (let i = 0; i < 2000; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` });
      harness.crm.advance(60_000);
      const withHistory = performance.now();
      expect((await rig.orchestrator.runImport(contactsImportJob(harness, { pageSize: 10 }))).isOk()).toBe(true);
      const recordedMs = performance.now() - withHistory;
      const [run] = await rig.history.listRuns();
      const samples = await rig.history.listSamples(run!.runId);
      expect(samples.length).toBeLessThan(Math.ceil(recordedMs / 100) + 3);
      expect(samples.at(-1)).toMatchObject({ read: 2000 });
      console.info(`[run-history] 2,000 records in 200 pages (memory history): ${samples.length} samples in ${recordedMs.toFixed(0)} ms`);
    }));
});
