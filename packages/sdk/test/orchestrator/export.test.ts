import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResultAsync } from 'neverthrow';
import { clearRegisteredSecrets, crmError, registerSecret, type ExportJob, type ExportJournal } from '../../src/index.js';
import { harnesses, withCapabilities, withMethod, type Harness } from './harnesses.js';
import { fakeTime, makeRig, peopleExportJob, type Rig } from './setup.js';

for (const factory of harnesses) {
  describe(`export on ${factory.name}`, () => {
    let harness: Harness;
    beforeEach(async () => {
      harness = await factory.setup();
    });
    afterEach(async () => {
      await factory.teardown?.(harness);
    });

    function job(overrides: Partial<ExportJob> = {}): ExportJob {
      return peopleExportJob(harness, overrides);
    }

    function seed(rig: Rig, count: number, from = 0): void {
      for (let i = from; i < from + count; i += 1) {
        rig.records.put('people', `p${String(i).padStart(5, '0')}`, { last_name: `Last ${i}`, email: `p${i}@example.test` });
      }
    }

    /** CRM contacts per sync key value (or per last name without one). */
    function crmCount(by: string): Map<unknown, number> {
      const counts = new Map<unknown, number>();
      for (const contact of harness.crm.contacts()) counts.set(contact.values[by], (counts.get(contact.values[by]) ?? 0) + 1);
      return counts;
    }

    /** A journal whose recordOutcomes throws once: the process "dies" after the CRM answered. */
    function journalThatDiesOnce(inner: ExportJournal): ExportJournal {
      let died = false;
      return new Proxy(inner, {
        get(target, property, receiver) {
          if (property === 'recordOutcomes' && !died) {
            return async () => {
              died = true;
              throw new Error('process killed (simulated)');
            };
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    }

    /** A journal whose closeRun throws once: the process "dies" right before the run is closed. */
    function journalThatDiesBeforeClose(inner: ExportJournal): ExportJournal {
      let died = false;
      return new Proxy(inner, {
        get(target, property, receiver) {
          if (property === 'closeRun' && !died) {
            return async () => {
              died = true;
              throw new Error('process killed (simulated)');
            };
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    }

    /** A journal whose markSent of the second batch fails: the process "dies" while marking it sent. */
    function journalThatFailsSecondMarkSent(inner: ExportJournal): { journal: ExportJournal; failedSeqs: () => readonly number[] } {
      let calls = 0;
      let failed: readonly number[] = [];
      const journal = new Proxy(inner, {
        get(target, property, receiver) {
          if (property === 'markSent') {
            return async (runId: string, seqs: readonly number[], batchId: string, fence?: Parameters<ExportJournal['markSent']>[3]) => {
              calls += 1;
              if (calls === 2) {
                failed = seqs;
                // Fails after a turn, as a write to a database server would, while the batch may be on its way.
                await new Promise((resolve) => setTimeout(resolve, 5));
                throw new Error('process killed (simulated)');
              }
              return target.markSent(runId, seqs, batchId, fence);
            };
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      return { journal, failedSeqs: () => failed };
    }

    it('an insert batch leaves only once the journal says sent: a failed mark sends none of it, and the rerun sends it once', async () => {
      const noIds = { ...harness, connector: withCapabilities(harness.connector, { clientInsertIds: false }) };
      const base = makeRig(noIds);
      seed(base, 30);
      const insertJob = job({ mode: 'insert', batchSize: 10 });
      const failing = journalThatFailsSecondMarkSent(base.journal);
      const crashed = await makeRig(noIds, { journal: failing.journal }, base).orchestrator.runExport(insertJob);
      expect(crashed._unsafeUnwrapErr().kind).toBe('store');
      expect(failing.failedSeqs()).toHaveLength(10);
      // Nothing of the batch whose mark failed reached the CRM: no insert is in doubt.
      const sentNames = new Set(harness.crm.contacts().map((contact) => contact.values[harness.names.lastName]));
      for (const seq of failing.failedSeqs()) expect(sentNames.has(`Last ${seq}`)).toBe(false);
      const resumed = (await base.orchestrator.runExport(insertJob))._unsafeUnwrap();
      expect(resumed.notes.join('\n')).not.toMatch(/in doubt/);
      const counts = crmCount(harness.names.lastName);
      expect(counts.size).toBe(30);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    });

    it('an upsert batch leaves while the journal marks it sent; when that mark fails, the rerun sends it again by sync key: no duplicate, no loss', async () => {
      const base = makeRig(harness);
      seed(base, 30);
      const upsertJob = job({ mode: 'upsert', batchSize: 10, syncKey: { remoteField: harness.names.syncKey } });
      const failing = journalThatFailsSecondMarkSent(base.journal);
      const crashed = await makeRig(harness, { journal: failing.journal }, base).orchestrator.runExport(upsertJob);
      expect(crashed._unsafeUnwrapErr().kind).toBe('store');
      expect(failing.failedSeqs()).toHaveLength(10);
      // The journal never recorded the mark: its entries are still pending, never committed.
      const runId = (await base.journal.listRuns())[0]!.runId;
      const entries = await base.journal.listEntries(runId, {});
      for (const seq of failing.failedSeqs()) expect(entries.find((entry) => entry.seq === seq)?.state).toBe('pending');
      const resumed = (await base.orchestrator.runExport(upsertJob))._unsafeUnwrap();
      expect(resumed.created + resumed.updated + resumed.unchanged).toBe(30);
      const counts = crmCount(harness.names.syncKey);
      expect(counts.size).toBe(30);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(base.records.rows('people').every((row) => row.crmId !== undefined)).toBe(true);
    });

    it('inserts rows without a CRM id, links the new ids back, and updates them on the next run', async () => {
      const rig = makeRig(harness);
      seed(rig, 3);
      const first = (await rig.orchestrator.runExport(job()))._unsafeUnwrap();
      expect(first).toMatchObject({ read: 3, created: 3, updated: 0, rejected: 0 });
      expect(harness.crm.contacts()).toHaveLength(3);
      const linked = rig.records.rows('people').map((row) => row.crmId);
      expect(linked.every((id) => typeof id === 'string')).toBe(true);

      rig.records.get('people', 'p00001')!.values.last_name = 'Changed';
      const second = (await rig.orchestrator.runExport(job()))._unsafeUnwrap();
      expect(second).toMatchObject({ created: 0, updated: 3 });
      expect(harness.crm.contacts()).toHaveLength(3);
      expect(harness.crm.contacts().map((c) => c.values[harness.names.lastName])).toContain('Changed');
    });

    it('sends batches of the connector maximum, and closes the journal run as finished, kept for inspection', async () => {
      const rig = makeRig(harness);
      seed(rig, 450);
      const summary = (await rig.orchestrator.runExport(job()))._unsafeUnwrap();
      expect(summary.created).toBe(450);
      const batches = Math.ceil(450 / harness.connector.capabilities.maxUpsertBatch);
      expect(rig.orchestrator.connector.stats.byOperation.upsertBatch?.calls).toBe(batches);
      const runs = await rig.journal.listRuns('default/exportContacts');
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ status: 'finished', runId: summary.runId });
      expect(await rig.journal.countByState(summary.runId!)).toMatchObject({ committed: 450, pending: 0, unknown: 0 });
    });

    it('keeps several batches in flight, never more than the concurrency limit', async () => {
      let inFlight = 0;
      let most = 0;
      const slow = new Proxy(withCapabilities(harness.connector, { concurrency: 3 }), {
        get(target, property, receiver) {
          if (property === 'upsertBatch') {
            return (...args: Parameters<typeof target.upsertBatch>) => {
              inFlight += 1;
              most = Math.max(most, inFlight);
              return ResultAsync.fromSafePromise(new Promise((resolve) => setTimeout(resolve, 5)))
                .andThen(() => target.upsertBatch(...args))
                .map((outcomes) => ((inFlight -= 1), outcomes));
            };
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const rig = makeRig({ ...harness, connector: slow });
      seed(rig, 1000);
      const summary = (await rig.orchestrator.runExport(job({ batchSize: 100 })))._unsafeUnwrap();
      expect(summary.created).toBe(1000);
      expect(most).toBeGreaterThan(1);
      expect(most).toBeLessThanOrEqual(3);
    });

    it('a slow batch does not hold back the next window of batches: the free slots go on sending', async () => {
      // 20 batches of 10 with 2 in flight; the send loop reads 8 batches per window. The first
      // batch answers only once the tenth (in the second window) has been sent; a loop that waited
      // for a whole window before reading the next would never get there (released after 5 s
      // only so that such a loop fails instead of hanging).
      let started = 0;
      let release!: () => void;
      const tenthStarted = new Promise<void>((resolve) => {
        release = resolve;
      });
      let firstReleasedBy: 'the tenth batch' | 'the fallback' | undefined;
      const gated = withMethod(withCapabilities(harness.connector, { concurrency: 2 }), 'upsertBatch', (inner) => (request, options) => {
        started += 1;
        if (started === 10) release();
        if (started !== 1) return inner.upsertBatch(request, options);
        const fallback = new Promise<'the fallback'>((resolve) => setTimeout(() => resolve('the fallback'), 5_000).unref());
        const released = Promise.race([tenthStarted.then(() => 'the tenth batch' as const), fallback]).then((by) => {
          firstReleasedBy = by;
        });
        return ResultAsync.fromSafePromise(released).andThen(() => inner.upsertBatch(request, options));
      });
      const rig = makeRig({ ...harness, connector: gated });
      seed(rig, 200);
      const summary = (await rig.orchestrator.runExport(job({ batchSize: 10 })))._unsafeUnwrap();
      expect(summary.created).toBe(200);
      expect(firstReleasedBy).toBe('the tenth batch');
      expect(await rig.journal.countByState(summary.runId!)).toMatchObject({ committed: 200, pending: 0, sent: 0, unknown: 0 });
    });

    it('rejects go to the rejects output with code, symbol, message, fields and local key, each logged as a warning', async () => {
      const rig = makeRig(harness);
      seed(rig, 2);
      rig.records.put('people', 'bad', { last_name: 'Bad', email: 'no-at-sign' });
      const summary = (await rig.orchestrator.runExport(job({ processRejects: true })))._unsafeUnwrap();
      expect(summary).toMatchObject({ created: 2, rejected: 1 });
      expect(rig.rejects).toHaveLength(1);
      expect(rig.rejects[0]).toMatchObject({ operation: 'export', localKey: 'bad', code: expect.any(String), message: expect.any(String) });
      expect(rig.rejects[0]?.symbol).toBeTruthy();
      expect(rig.warnings.filter((w) => /rejected/.test(w.message ?? ''))).toHaveLength(1);
    });

    it('a reject whose CRM message carries a registered secret is journaled without it', async () => {
      const secret = 'journal-canary-0123456789abcdef';
      registerSecret(secret);
      try {
        const leaky = withMethod(harness.connector, 'upsertBatch', (inner) => (request, options) =>
          inner.upsertBatch(request, options).map((outcomes) =>
            outcomes.map(() => ({ ok: false as const, reject: { code: 'validation' as const, message: `refused for session ${secret}`, retryable: false } })),
          ),
        );
        const rig = makeRig({ ...harness, connector: leaky });
        seed(rig, 2);
        const summary = (await rig.orchestrator.runExport(job({ processRejects: true })))._unsafeUnwrap();
        expect(summary.rejected).toBe(2);
        const entries = await rig.journal.listEntries(summary.runId!);
        expect(entries.map((entry) => entry.state)).toEqual(['rejected', 'rejected']);
        expect(JSON.stringify(entries)).not.toContain(secret);
        expect(JSON.stringify(rig.rejects)).not.toContain(secret);
      } finally {
        clearRegisteredSecrets();
      }
    });

    /** The connector answers a row lock for the first record of each of its first `locks` batches (nothing written for it). */
    function lockingFirstRecord(locks: number) {
      let left = locks;
      return withMethod(harness.connector, 'upsertBatch', (inner) => (request, options) => {
        if (left <= 0) return inner.upsertBatch(request, options);
        left -= 1;
        const [, ...rest] = request.records;
        const locked = { ok: false as const, reject: { code: 'locked' as const, symbol: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record', retryable: true } };
        if (rest.length === 0) return ResultAsync.fromSafePromise(Promise.resolve([locked]));
        return inner.upsertBatch({ ...request, records: rest }, options).map((outcomes) => [locked, ...outcomes]);
      });
    }

    it('a record refused with a retryable reject (row lock) is resent within the run and ends in the CRM once', async () => {
      const rig = makeRig({ ...harness, connector: lockingFirstRecord(1) });
      seed(rig, 3);
      const summary = (await rig.orchestrator.runExport(job({ processRejects: true })))._unsafeUnwrap();
      expect(summary).toMatchObject({ created: 3, rejected: 0 });
      expect(rig.rejects).toHaveLength(0);
      expect([...crmCount(harness.names.lastName).values()]).toEqual([1, 1, 1]);
      expect(summary.notes.some((note) => /retryable reject/.test(note))).toBe(true);
      const entries = await rig.journal.listEntries(summary.runId!);
      expect(entries.map((entry) => entry.state)).toEqual(['committed', 'committed', 'committed']);
    });

    it('a row lock that outlasts every attempt of the run is a reject, never a silent loss', async () => {
      const rig = makeRig({ ...harness, connector: lockingFirstRecord(10) });
      seed(rig, 1);
      const summary = (await rig.orchestrator.runExport(job({ processRejects: true })))._unsafeUnwrap();
      expect(summary).toMatchObject({ created: 0, rejected: 1 });
      expect(rig.rejects[0]).toMatchObject({ code: 'locked', symbol: 'UNABLE_TO_LOCK_ROW', localKey: 'p00000' });
      expect(harness.crm.contacts()).toHaveLength(0);
    });

    it('with process rejects off, rejects are not sent to the output but are still logged as warnings', async () => {
      const rig = makeRig(harness);
      rig.records.put('people', 'bad', { last_name: 'Bad', email: 'no-at-sign' });
      const summary = (await rig.orchestrator.runExport(job()))._unsafeUnwrap();
      expect(summary.rejected).toBe(1);
      expect(rig.rejects).toHaveLength(0);
      expect(rig.warnings).toHaveLength(1);
    });

    it('update-only never re-creates a record deleted in the CRM: it is a deleted-in-crm reject', async () => {
      const rig = makeRig(harness);
      seed(rig, 2);
      (await rig.orchestrator.runExport(job()))._unsafeUnwrap();
      const gone = rig.records.get('people', 'p00000')!.crmId!;
      harness.crm.remove(gone);
      const summary = (await rig.orchestrator.runExport(job({ mode: 'update', processRejects: true })))._unsafeUnwrap();
      expect(summary).toMatchObject({ updated: 1, rejected: 1, created: 0 });
      expect(rig.rejects[0]).toMatchObject({ code: 'deleted-in-crm', localKey: 'p00000' });
      expect(harness.crm.contacts()).toHaveLength(1);
    });

    it('lost answer after the CRM committed an insert batch, with a sync key: no duplicate, no loss', async () => {
      const rig = makeRig(harness);
      seed(rig, 450);
      harness.crm.failNext(1, crmError('transient', harness.connector.id, 'connection reset after send (simulated)', { inDoubt: true }), {
        operations: ['upsertBatch'],
        afterCommit: true,
      });
      const summary = (await rig.orchestrator.runExport(job({ mode: 'insert', syncKey: { remoteField: harness.names.syncKey } })))._unsafeUnwrap();
      const counts = crmCount(harness.names.syncKey);
      expect(counts.size).toBe(450);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(await rig.journal.countByState(summary.runId!)).toMatchObject({ committed: 450 });
      expect(rig.records.rows('people').every((row) => row.crmId !== undefined)).toBe(true);
    });

    it('without upsert by external id, in-doubt inserts are settled by looking them up by sync key: no duplicate, no loss', async () => {
      // Without client-chosen ids either (Dynamics has them), so the sync key must settle them.
      const noUpsert = withCapabilities(harness.connector, { upsertByExternalId: false, clientInsertIds: false });
      const rig = makeRig({ ...harness, connector: noUpsert });
      seed(rig, 450);
      harness.crm.failNext(1, crmError('transient', harness.connector.id, 'reset after send (simulated)', { inDoubt: true }), {
        operations: ['upsertBatch'],
        afterCommit: true,
      });
      const summary = (await rig.orchestrator.runExport(job({ syncKey: { remoteField: harness.names.syncKey } })))._unsafeUnwrap();
      expect(summary.notes.join('\n')).toMatch(/settled \d+ in-doubt inserts by sync key: \d+ were already in the CRM/);
      expect(summary.created).toBe(450);
      const counts = crmCount(harness.names.syncKey);
      expect(counts.size).toBe(450);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    });

    it('a crash after the CRM answered but before the journal recorded it, then a restart: no duplicate, no loss with a sync key', async () => {
      const base = makeRig(harness);
      seed(base, 300);
      const syncJob = job({ mode: 'insert', syncKey: { remoteField: harness.names.syncKey } });
      const crashed = await makeRig(harness, { journal: journalThatDiesOnce(base.journal) }, base).orchestrator.runExport(syncJob);
      expect(crashed._unsafeUnwrapErr().kind).toBe('store');
      expect((await base.journal.listRuns())[0]?.status).toBe('open');

      const resumed = (await base.orchestrator.runExport(syncJob))._unsafeUnwrap();
      expect(resumed.notes.join('\n')).toMatch(/resuming/);
      // Every record counts by what happened to it, whichever invocation settled it: the batch in
      // flight at the crash was created by its first send, so it counts as created, not updated.
      expect(resumed).toMatchObject({ created: 300, updated: 0, unchanged: 0, skipped: 0, rejected: 0 });
      const counts = crmCount(harness.names.syncKey);
      expect(counts.size).toBe(300);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(base.records.rows('people').every((row) => row.crmId !== undefined)).toBe(true);
    });

    it('the same crash without a sync key stops with a clear error naming the records and the options, never a silent duplicate', async () => {
      // A connector without client-chosen insert ids (with them, see export-client-ids.test.ts).
      const noIds = { ...harness, connector: withCapabilities(harness.connector, { clientInsertIds: false }) };
      const base = makeRig(noIds);
      seed(base, 5);
      const crashed = await makeRig(noIds, { journal: journalThatDiesOnce(base.journal) }, base).orchestrator.runExport(job({ mode: 'insert' }));
      expect(crashed.isErr()).toBe(true);
      const stopped = (await base.orchestrator.runExport(job({ mode: 'insert' })))._unsafeUnwrapErr();
      expect(stopped.kind).toBe('in-doubt');
      expect(stopped.ambiguousKeys).toEqual(['p00000', 'p00001', 'p00002', 'p00003', 'p00004']);
      expect(stopped.message).toMatch(/p00000/);
      expect(stopped.message).toMatch(/resend/);
      expect(stopped.message).toMatch(/skip/);
      expect(harness.crm.contacts()).toHaveLength(5);

      const skipped = (await base.orchestrator.runExport(job({ mode: 'insert', inDoubtPolicy: 'skip' })))._unsafeUnwrap();
      expect(skipped.rejected).toBe(5);
      expect(harness.crm.contacts()).toHaveLength(5);
    });

    it('abandoning an interrupted run with records in doubt (resume false) is refused unless a policy is chosen', async () => {
      const base = makeRig(harness);
      seed(base, 3);
      expect((await makeRig(harness, { journal: journalThatDiesOnce(base.journal) }, base).orchestrator.runExport(job({ mode: 'insert' }))).isErr()).toBe(true);
      const refused = (await base.orchestrator.runExport(job({ mode: 'insert' }), { resume: false }))._unsafeUnwrapErr();
      expect(refused.kind).toBe('in-doubt');
      expect(refused.message).toMatch(/resume it/);
      expect(harness.crm.contacts()).toHaveLength(3);
    });

    it('a lost answer to an insert batch without a sync key is never retried blindly', async () => {
      const rig = makeRig({ ...harness, connector: withCapabilities(harness.connector, { clientInsertIds: false }) });
      seed(rig, 3);
      harness.crm.failNext(1, crmError('transient', harness.connector.id, 'reset after send (simulated)', { inDoubt: true }), {
        operations: ['upsertBatch'],
        afterCommit: true,
      });
      const result = await rig.orchestrator.runExport(job({ mode: 'insert', processErrors: { retries: 3, waitMs: 10 } }));
      expect(result._unsafeUnwrapErr().kind).toBe('in-doubt');
      expect(harness.crm.contacts()).toHaveLength(3);
    });

    it('a batch that fails (not in doubt) after retries goes back to pending and the run fails; the rerun completes it', async () => {
      const rig = makeRig(harness);
      seed(rig, 3);
      harness.crm.failNext(1, crmError('invalid-request', harness.connector.id, 'bad request (simulated)'), { operations: ['upsertBatch'] });
      const failed = (await rig.orchestrator.runExport(job()))._unsafeUnwrapErr();
      expect(failed).toMatchObject({ kind: 'crm' });
      expect(harness.crm.contacts()).toHaveLength(0);
      const done = (await rig.orchestrator.runExport(job()))._unsafeUnwrap();
      expect(done.created).toBe(3);
      expect(harness.crm.contacts()).toHaveLength(3);
    });

    it('on restart, committed records are not resent and rejected ones only with resendRejected; the counts keep what happened to each', async () => {
      const base = makeRig(harness);
      seed(base, 2);
      base.records.put('people', 'bad', { last_name: 'Bad', email: 'no-at-sign' });
      const crashed = await makeRig(harness, { journal: journalThatDiesBeforeClose(base.journal) }, base).orchestrator.runExport(job());
      expect(crashed._unsafeUnwrapErr().kind).toBe('store');

      const resumed = (await base.orchestrator.runExport(job()))._unsafeUnwrap();
      expect(resumed).toMatchObject({ skipped: 0, created: 2, rejected: 1 });
      expect(base.orchestrator.connector.stats.byOperation.upsertBatch?.calls ?? 0).toBe(0);
      expect(harness.crm.contacts()).toHaveLength(2);

      const crashedAgain = await makeRig(harness, { journal: journalThatDiesBeforeClose(base.journal) }, base).orchestrator.runExport(job());
      expect(crashedAgain.isErr()).toBe(true);
      const resent = makeRig(harness, {}, base);
      const summary = (await resent.orchestrator.runExport(job({ resendRejected: true })))._unsafeUnwrap();
      expect(summary).toMatchObject({ skipped: 0, created: 0, rejected: 1 });
      expect(resent.orchestrator.connector.stats.byOperation.upsertBatch?.calls).toBe(1);
      expect(harness.crm.contacts()).toHaveLength(2);
    });

    it('with process errors on, a failed batch goes to the errors output, waits and is retried', async () => {
      const base = makeRig(harness);
      seed(base, 3);
      harness.crm.failNext(2, crmError('transient', harness.connector.id, 'HTTP 503 (simulated)'), { operations: ['upsertBatch'] });
      const rig = makeRig(harness, { runtime: { ...fakeTime(), retry: { retries: 0 } } }, base);
      const summary = (await rig.orchestrator.runExport(job({ processErrors: { retries: 2, waitMs: 1000 } })))._unsafeUnwrap();
      expect(summary).toMatchObject({ created: 3, errors: 2 });
      expect(rig.errors.map((item) => item.willRetry)).toEqual([true, true]);
      expect(rig.waits).toEqual([1000, 1000]);
      expect(harness.crm.contacts()).toHaveLength(3);
    });

    it('refuses non-createable fields and a sync key that is not an external id, with job paths, before any write', async () => {
      const rig = makeRig(harness);
      seed(rig, 1);
      const result = await rig.orchestrator.runExport(
        job({
          fields: [
            { local: 'last_name', remote: harness.names.lastName },
            { local: 'email', remote: harness.names.readOnly },
          ],
          syncKey: { remoteField: harness.names.email },
        }),
      );
      const error = result._unsafeUnwrapErr();
      expect(error.kind).toBe('invalid-job');
      expect(error.issues?.map((issue) => issue.path)).toEqual(['fields[1].remote', 'syncKey.remoteField']);
      expect(harness.crm.contacts()).toHaveLength(0);
    });

    it('a dry run counts records and batches and sends nothing', async () => {
      const rig = makeRig(harness);
      seed(rig, 450);
      const plan = (await rig.orchestrator.plan(job()))._unsafeUnwrap();
      expect(plan).toMatchObject({ operation: 'export', records: 450, batches: Math.ceil(450 / harness.connector.capabilities.maxUpsertBatch) });
      expect(harness.crm.contacts()).toHaveLength(0);
      expect(await rig.journal.listRuns()).toHaveLength(0);
    });
  });
}
