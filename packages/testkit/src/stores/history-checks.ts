/**
 * The run-history part of the store contract (`RunHistoryStore` of `@crm-sync/sdk`): a run
 * recorded from start to end, its samples and rejects, the queries, pruning and fencing.
 *
 * Instants are written in `Date.toISOString()` form and must come back exactly as written.
 *
 * @module
 */
import assert from 'node:assert/strict';
import type { NewRunRecord, RunHistoryCalls, RunHistoryCounts, RunHistoryStore, RunSample } from '@crm-sync/sdk';
import type { StoreCheck, StoresUnderTest } from './checks.js';
import { JOB, refused, zombieAndHolder } from './fence-helpers.js';

function history(stores: StoresUnderTest): RunHistoryStore {
  assert.ok(stores.history, 'this check needs `history` from the factory');
  return stores.history;
}

/** A new run; `minute` spaces start times so that "newest first" is unambiguous. */
function newRun(runId: string, overrides: Partial<NewRunRecord> = {}, minute = 0): NewRunRecord {
  return {
    runId,
    jobId: 'default/contacts-in',
    activity: 'contacts-in',
    operation: 'import',
    connector: 'salesforce',
    account: 'prod',
    host: 'worker-1',
    pid: 4242,
    startedAt: new Date(Date.UTC(2024, 0, 10, 3, minute, 0, 125)).toISOString(),
    ...overrides,
  };
}

const COUNTS: RunHistoryCounts = { read: 2000, written: 1990, created: 0, updated: 0, deleted: 3, unchanged: 0, skipped: 7, rejected: 2, errors: 1 };
const CALLS: RunHistoryCalls = { total: 12, retries: 2, rateLimitWaitMs: 1500, byKind: { describe: 1, serverTime: 1, query: 10 } };

function sample(i: number, extra: Partial<RunSample> = {}): RunSample {
  return {
    at: new Date(Date.UTC(2024, 0, 10, 3, 0, i, 125)).toISOString(),
    elapsedMs: i * 1000,
    read: i * 200,
    written: i * 199,
    rejected: Math.floor(i / 5),
    apiCalls: i + 2,
    retries: 0,
    rateLimitWaitMs: 0,
    ...extra,
  };
}

const ENDED = '2024-01-10T03:05:00.500Z';

/** The run-history checks, in a stable order. */
export const historyChecks: readonly StoreCheck[] = [
  {
    name: 'history: startRun records a running run with zero counts; getRun returns it as written, an unknown run as undefined',
    needs: 'history',
    async run(stores) {
      const store = history(stores);
      assert.equal(await store.getRun('nope'), undefined);
      await store.startRun(newRun('r1'));
      const run = await store.getRun('r1');
      assert.ok(run, 'getRun must return a started run');
      assert.equal(run.runId, 'r1');
      assert.equal(run.jobId, 'default/contacts-in');
      assert.equal(run.activity, 'contacts-in');
      assert.equal(run.operation, 'import');
      assert.equal(run.connector, 'salesforce');
      assert.equal(run.account, 'prod');
      assert.equal(run.host, 'worker-1');
      assert.equal(run.pid, 4242);
      assert.equal(run.startedAt, '2024-01-10T03:00:00.125Z');
      assert.equal(run.status, 'running');
      assert.equal(run.endedAt, undefined, 'a running run has no end (absent, never null)');
      assert.equal(run.error, undefined);
      assert.equal(run.window, undefined);
      assert.equal(run.journalRunId, undefined);
      assert.deepEqual(run.counts, { read: 0, written: 0, created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, rejected: 0, errors: 0 });
      assert.deepEqual(run.apiCalls, { total: 0, retries: 0, rateLimitWaitMs: 0, byKind: {} });
      assert.deepEqual(run.variables, {});
      assert.deepEqual(run.notes, []);
      // connector and account are optional.
      await store.startRun(newRun('r2', { connector: undefined, account: undefined }, 1));
      const bare = await store.getRun('r2');
      assert.equal(bare?.connector, undefined);
      assert.equal(bare?.account, undefined);
      await assert.rejects(() => store.startRun(newRun('r1')), 'recording a run id twice must be refused');
    },
  },
  {
    name: 'history: recordProgress appends samples and rejects in order and replaces counts and calls; an unknown run is refused',
    needs: 'history',
    async run(stores) {
      const store = history(stores);
      await store.startRun(newRun('r1'));
      await store.recordProgress('r1', { samples: [sample(1, { phase: 'read' }), sample(2)] });
      await store.recordProgress('r1', {
        counts: COUNTS,
        apiCalls: CALLS,
        samples: [sample(3, { retries: 2, rateLimitWaitMs: 1500 })],
        rejects: [{ code: 'validation', message: 'bad email', fields: ['Email'], localKey: 'k1' }],
      });
      const run = await store.getRun('r1');
      assert.equal(run?.status, 'running');
      assert.deepEqual(run?.counts, COUNTS);
      assert.deepEqual(run?.apiCalls, CALLS);
      const samples = await store.listSamples('r1');
      assert.deepEqual(samples, [sample(1, { phase: 'read' }), sample(2), sample(3, { retries: 2, rateLimitWaitMs: 1500 })]);
      assert.equal(samples[1]?.phase, undefined, 'a sample without phase reads back without one (absent, never null)');
      assert.equal((await store.listRejects('r1')).length, 1);
      // Counts not given are left as they are.
      await store.recordProgress('r1', { samples: [sample(4)] });
      assert.deepEqual((await store.getRun('r1'))?.counts, COUNTS);
      assert.deepEqual(await store.listSamples('nope'), []);
      await assert.rejects(() => store.recordProgress('nope', { samples: [sample(1)] }), 'progress of an unknown run must be refused');
    },
  },
  {
    name: 'history: finishRun stores status, end, window, variables, error, journal link and notes with a last flush, once',
    needs: 'history',
    async run(stores) {
      const store = history(stores);
      await store.startRun(newRun('ok', { operation: 'export', jobId: 'default/contacts-out', activity: 'contacts-out' }));
      await store.finishRun('ok', {
        status: 'succeeded',
        endedAt: ENDED,
        counts: { ...COUNTS, rejected: 1 },
        apiCalls: CALLS,
        samples: [sample(300, { phase: 'done' })],
        rejects: [{ code: 'duplicate', symbol: 'DUPLICATE_VALUE', message: 'dup', fields: [], crmId: '003A' }],
        window: { start: '2024-01-09T00:00:00.000Z', end: '2024-01-10T02:59:00.000Z' },
        variables: { crmOptionName: 'LASTIMPORT_default_contacts-out', crmStartImport: '2024/01/09 00:00:00', crmEndDate: '2024/01/10 02:59:00' },
        journalRunId: 'journal-7',
        notes: ['resumed run journal-7'],
      });
      const run = await store.getRun('ok');
      assert.equal(run?.status, 'succeeded');
      assert.equal(run?.endedAt, ENDED);
      assert.equal(run?.counts.rejected, 1);
      assert.deepEqual(run?.apiCalls, CALLS);
      assert.deepEqual(run?.window, { start: '2024-01-09T00:00:00.000Z', end: '2024-01-10T02:59:00.000Z' });
      assert.deepEqual(run?.variables, { crmOptionName: 'LASTIMPORT_default_contacts-out', crmStartImport: '2024/01/09 00:00:00', crmEndDate: '2024/01/10 02:59:00' });
      assert.equal(run?.journalRunId, 'journal-7');
      assert.deepEqual(run?.notes, ['resumed run journal-7']);
      assert.equal(run?.error, undefined);
      assert.deepEqual((await store.listSamples('ok')).map((s) => s.phase), ['done']);
      assert.equal((await store.listRejects('ok'))[0]?.symbol, 'DUPLICATE_VALUE');
      await assert.rejects(() => store.finishRun('ok', { status: 'failed', endedAt: ENDED }), 'a run is finished once');
      await assert.rejects(() => store.finishRun('nope', { status: 'failed', endedAt: ENDED }), 'finishing an unknown run must be refused');

      await store.startRun(newRun('bad', {}, 1));
      await store.finishRun('bad', { status: 'failed', endedAt: ENDED, error: { kind: 'crm', message: 'page 3 failed: 503' } });
      const bad = await store.getRun('bad');
      assert.equal(bad?.status, 'failed');
      assert.deepEqual(bad?.error, { kind: 'crm', message: 'page 3 failed: 503' });
      assert.equal(bad?.window, undefined);
      assert.deepEqual(bad?.variables, {});
      // A window with only an end (a first full read) keeps no start.
      await store.startRun(newRun('cut', {}, 2));
      await store.finishRun('cut', { status: 'interrupted', endedAt: ENDED, window: { end: '2024-01-10T02:59:00.000Z' }, error: { kind: 'aborted', message: 'aborted' } });
      const cut = await store.getRun('cut');
      assert.equal(cut?.status, 'interrupted');
      assert.deepEqual(cut?.window, { end: '2024-01-10T02:59:00.000Z' });
    },
  },
  {
    name: 'history: listRuns returns runs newest first, filtered by job, activity, status, operation and since, limited',
    needs: 'history',
    async run(stores) {
      const store = history(stores);
      await store.startRun(newRun('a', {}, 0));
      await store.startRun(newRun('b', { operation: 'export', jobId: 'default/contacts-out', activity: 'contacts-out' }, 1));
      await store.startRun(newRun('c', {}, 2));
      await store.startRun(newRun('d', { jobId: 'eu/contacts-in' }, 3));
      await store.finishRun('a', { status: 'succeeded', endedAt: ENDED });
      await store.finishRun('b', { status: 'failed', endedAt: ENDED, error: { kind: 'store', message: 'disk full' } });
      const ids = async (filter?: Parameters<RunHistoryStore['listRuns']>[0]): Promise<string[]> => (await store.listRuns(filter)).map((r) => r.runId);
      assert.deepEqual(await ids(), ['d', 'c', 'b', 'a']);
      assert.deepEqual(await ids({ jobId: 'default/contacts-in' }), ['c', 'a']);
      assert.deepEqual(await ids({ activity: 'contacts-in' }), ['d', 'c', 'a']);
      assert.deepEqual(await ids({ status: 'running' }), ['d', 'c']);
      assert.deepEqual(await ids({ status: ['succeeded', 'failed'] }), ['b', 'a']);
      assert.deepEqual(await ids({ operation: 'export' }), ['b']);
      assert.deepEqual(await ids({ since: newRun('x', {}, 2).startedAt }), ['d', 'c'], 'since includes a run that started at that instant');
      assert.deepEqual(await ids({ limit: 2 }), ['d', 'c']);
      assert.deepEqual(await ids({ jobId: 'default/contacts-in', status: 'running', limit: 5 }), ['c']);
      assert.deepEqual(await ids({ jobId: 'nobody/none' }), []);
      // Runs that started at the same instant come newest-recorded first.
      await store.startRun(newRun('e', { jobId: 'same/t' }, 9));
      await store.startRun(newRun('f', { jobId: 'same/t' }, 9));
      assert.deepEqual(await ids({ jobId: 'same/t' }), ['f', 'e']);
    },
  },
  {
    name: 'history: listRuns pages by offset and limit and bounds by until; countRuns counts the same filter; listRunJobs sums per job',
    needs: 'history',
    async run(stores) {
      const store = history(stores);
      for (let i = 0; i < 7; i += 1) {
        await store.startRun(newRun(`p${i}`, i % 2 === 0 ? {} : { jobId: 'eu/contacts-out', activity: 'contacts-out', operation: 'export' }, i));
      }
      const ids = async (filter?: Parameters<RunHistoryStore['listRuns']>[0]): Promise<string[]> => (await store.listRuns(filter)).map((r) => r.runId);
      assert.deepEqual(await ids({ offset: 2, limit: 2 }), ['p4', 'p3'], 'a page: skip the newest two, take two');
      assert.deepEqual(await ids({ offset: 5 }), ['p1', 'p0'], 'offset without limit takes the rest');
      assert.deepEqual(await ids({ offset: 9, limit: 2 }), []);
      assert.deepEqual(await ids({ until: newRun('x', {}, 2).startedAt }), ['p1', 'p0'], 'until excludes a run that started at that instant');
      assert.deepEqual(await ids({ since: newRun('x', {}, 2).startedAt, until: newRun('x', {}, 4).startedAt }), ['p3', 'p2']);
      assert.equal(await store.countRuns(), 7);
      assert.equal(await store.countRuns({ jobId: 'eu/contacts-out', limit: 1, offset: 1 }), 3, 'limit and offset do not change the count');
      assert.equal(await store.countRuns({ operation: 'import', until: newRun('x', {}, 3).startedAt }), 2);
      assert.equal(await store.countRuns({ status: [] }), 0);
      assert.equal(await store.countRuns({ jobId: 'nobody/none' }), 0);
      await assert.rejects(store.listRuns({ offset: -1 }), /offset/);
      await assert.rejects(store.countRuns({ until: 'yesterday' }), /until/);
      assert.deepEqual(await store.listRunJobs(), [
        { jobId: 'default/contacts-in', activity: 'contacts-in', runs: 4, lastStartedAt: newRun('x', {}, 6).startedAt },
        { jobId: 'eu/contacts-out', activity: 'contacts-out', runs: 3, lastStartedAt: newRun('x', {}, 5).startedAt },
      ]);
    },
  },
  {
    name: 'history: countRejects counts the rejects of a run, all or those matching the search',
    needs: 'history',
    async run(stores) {
      const store = history(stores);
      await store.startRun(newRun('c1'));
      await store.recordProgress('c1', {
        rejects: [
          { code: 'validation', symbol: 'INVALID_EMAIL_ADDRESS', message: 'Email: invalid address', fields: ['Email'], localKey: 'p-1' },
          { code: 'duplicate', message: 'duplicate value found', fields: [], crmId: '003AAA' },
          { code: 'validation', message: 'LastName required', fields: ['LastName'], localKey: 'p-9' },
        ],
      });
      assert.equal(await store.countRejects('c1'), 3);
      assert.equal(await store.countRejects('c1', { search: 'VALIDATION' }), 2);
      assert.equal(await store.countRejects('c1', { search: '003aaa' }), 1);
      assert.equal(await store.countRejects('c1', { search: '%' }), 0, 'search is literal text, not a pattern');
      assert.equal(await store.countRejects('nope'), 0);
    },
  },
  {
    name: 'history: listRejects numbers rejects from 0 across calls, pages by afterSeq and limit, and searches ignoring case',
    needs: 'history',
    async run(stores) {
      const store = history(stores);
      await store.startRun(newRun('r1'));
      await store.startRun(newRun('r2', {}, 1));
      await store.recordProgress('r1', {
        rejects: [
          { code: 'validation', symbol: 'INVALID_EMAIL_ADDRESS', message: 'Email: invalid address', fields: ['Email'], localKey: 'p-1' },
          { code: 'duplicate', symbol: 'DUPLICATE_VALUE', message: 'duplicate value found', fields: [], crmId: '003AAA' },
        ],
      });
      await store.recordProgress('r2', { rejects: [{ code: 'validation', message: 'other run', fields: [] }] });
      await store.recordProgress('r1', {
        rejects: [
          { code: 'not-found', message: 'entity does not exist', fields: [], crmId: '003BBB' },
          { code: 'validation', message: 'LastName required', fields: ['LastName'], localKey: 'p-9' },
        ],
      });
      const all = await store.listRejects('r1');
      assert.deepEqual(all.map((r) => r.seq), [0, 1, 2, 3]);
      assert.deepEqual(all[0], { seq: 0, code: 'validation', symbol: 'INVALID_EMAIL_ADDRESS', message: 'Email: invalid address', fields: ['Email'], localKey: 'p-1' });
      assert.equal(all[1]?.localKey, undefined, 'a reject without local key reads back without one');
      assert.equal(all[0]?.crmId, undefined);
      assert.deepEqual((await store.listRejects('r2')).map((r) => [r.seq, r.message]), [[0, 'other run']]);
      assert.deepEqual((await store.listRejects('r1', { afterSeq: 0, limit: 2 })).map((r) => r.seq), [1, 2]);
      assert.deepEqual((await store.listRejects('r1', { afterSeq: 2 })).map((r) => r.seq), [3]);
      assert.deepEqual((await store.listRejects('r1', { search: 'EMAIL' })).map((r) => r.seq), [0], 'search matches message and symbol ignoring case');
      assert.deepEqual((await store.listRejects('r1', { search: 'dUpLiCaTe' })).map((r) => r.seq), [1]);
      assert.deepEqual((await store.listRejects('r1', { search: '003bbb' })).map((r) => r.seq), [2], 'search matches the CRM id');
      assert.deepEqual((await store.listRejects('r1', { search: 'p-9' })).map((r) => r.seq), [3], 'search matches the local key');
      assert.deepEqual((await store.listRejects('r1', { search: 'lastname' })).map((r) => r.seq), [3], 'search matches a field name');
      assert.deepEqual((await store.listRejects('r1', { search: 'validation', afterSeq: 0, limit: 1 })).map((r) => r.seq), [3]);
      assert.deepEqual((await store.listRejects('r1', { search: '%' })).map((r) => r.seq), [], 'search is literal text, not a pattern');
      assert.deepEqual(await store.listRejects('nope'), []);
    },
  },
  {
    name: 'history: a progress write of 2,000 samples and 1,000 rejects round-trips in one call',
    needs: 'history',
    async run(stores) {
      const store = history(stores);
      await store.startRun(newRun('big'));
      const samples = Array.from({ length: 2000 }, (_, i) => sample(i));
      const rejects = Array.from({ length: 1000 }, (_, i) => ({ code: 'validation' as const, message: `row ${i} rejected`, fields: ['Email'], localKey: `k${i}` }));
      await store.recordProgress('big', { samples, rejects });
      const back = await store.listSamples('big');
      assert.equal(back.length, 2000);
      assert.deepEqual(back[1999], samples[1999]);
      const page = await store.listRejects('big', { afterSeq: 989 });
      assert.deepEqual(page.map((r) => r.localKey), ['k990', 'k991', 'k992', 'k993', 'k994', 'k995', 'k996', 'k997', 'k998', 'k999']);
    },
  },
  {
    name: 'history: pruneRuns deletes the runs that started before the date with their samples and rejects, and counts them',
    needs: 'history',
    async run(stores) {
      const store = history(stores);
      await store.startRun(newRun('old', { startedAt: '2023-01-01T00:00:00.000Z' }));
      await store.recordProgress('old', { samples: [sample(1)], rejects: [{ code: 'validation', message: 'x', fields: [] }] });
      await store.finishRun('old', { status: 'succeeded', endedAt: '2023-01-01T00:10:00.000Z' });
      await store.startRun(newRun('stale', { startedAt: '2023-06-01T00:00:00.000Z' }));
      await store.startRun(newRun('edge', { startedAt: '2024-01-01T00:00:00.000Z' }));
      await store.startRun(newRun('new', { startedAt: '2024-06-01T00:00:00.000Z' }));
      assert.equal(await store.pruneRuns('2024-01-01T00:00:00.000Z'), 2, 'two runs started before the date (any status)');
      assert.equal(await store.getRun('old'), undefined);
      assert.equal(await store.getRun('stale'), undefined);
      assert.deepEqual(await store.listSamples('old'), []);
      assert.deepEqual(await store.listRejects('old'), []);
      assert.deepEqual((await store.listRuns()).map((r) => r.runId), ['new', 'edge'], 'a run that started at the date is kept');
      assert.equal(await store.pruneRuns('2024-01-01T00:00:00.000Z'), 0);
      // A pruned run id can be recorded again (nothing of it is left behind).
      await store.startRun(newRun('old', { startedAt: '2024-07-01T00:00:00.000Z' }));
      assert.deepEqual(await store.listRejects('old'), []);
    },
  },
  {
    name: "history: a zombie's startRun, recordProgress and finishRun are refused and write nothing; the holder's are accepted",
    needs: 'history',
    async run(stores) {
      const store = history(stores);
      if (!stores.leases) return;
      const { zombie, holder } = await zombieAndHolder(stores.leases);
      await store.startRun(newRun('mine', { jobId: JOB }), holder);
      await refused(() => store.startRun(newRun('zombie-run', { jobId: JOB }), zombie), 'startRun');
      await refused(() => store.recordProgress('mine', { counts: COUNTS, samples: [sample(1)], rejects: [{ code: 'validation', message: 'z', fields: [] }] }, zombie), 'recordProgress');
      await refused(() => store.finishRun('mine', { status: 'failed', endedAt: ENDED, error: { kind: 'crm', message: 'zombie' } }, zombie), 'finishRun');
      assert.equal(await store.getRun('zombie-run'), undefined);
      const run = await store.getRun('mine');
      assert.equal(run?.status, 'running');
      assert.equal(run?.counts.read, 0);
      assert.deepEqual(await store.listSamples('mine'), []);
      assert.deepEqual(await store.listRejects('mine'), []);
      await store.recordProgress('mine', { counts: COUNTS, samples: [sample(1)] }, holder);
      await store.finishRun('mine', { status: 'succeeded', endedAt: ENDED }, holder);
      assert.equal((await store.getRun('mine'))?.status, 'succeeded');
      assert.equal((await store.listSamples('mine')).length, 1);
    },
  },
  {
    name: 'history: bad input is refused with an error naming it (bad instant, status running on finish, negative limit)',
    needs: 'history',
    async run(stores) {
      const store = history(stores);
      await assert.rejects(() => store.startRun(newRun('t', { startedAt: 'yesterday' })), /startedAt/);
      await store.startRun(newRun('t'));
      await assert.rejects(() => store.finishRun('t', { status: 'running' as never, endedAt: ENDED }), /status/);
      await assert.rejects(() => store.finishRun('t', { status: 'failed', endedAt: 'soon' }), /endedAt/);
      await assert.rejects(() => Promise.resolve().then(() => store.listRuns({ since: 'last week' })), /since/);
      await assert.rejects(() => Promise.resolve().then(() => store.listRuns({ limit: -1 })), /limit/);
      await assert.rejects(() => Promise.resolve().then(() => store.pruneRuns('90d')), /olderThan/);
      assert.equal((await store.getRun('t'))?.status, 'running', 'a refused finish changes nothing');
    },
  },
];
