import { ResultAsync } from 'neverthrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImportDeletedJob } from '../../src/index.js';
import { harnesses, START, withMethod, type Harness } from './harnesses.js';
import { makeRig } from './setup.js';

const DAY = 86_400_000;

for (const factory of harnesses) {
  describe(`deleted records and deletes on ${factory.name}`, () => {
    let harness: Harness;
    beforeEach(async () => {
      harness = await factory.setup();
    });
    afterEach(async () => {
      await factory.teardown?.(harness);
    });

    function deletedJob(overrides: Partial<ImportDeletedJob> = {}): ImportDeletedJob {
      return { kind: 'import-deleted', activity: 'deletedContacts', object: harness.names.object, table: 'contacts', start: START, ...overrides };
    }

    it('applies the records deleted in the window (both ends inclusive) to the local table', async () => {
      const rig = makeRig(harness);
      const ids = [0, 1, 2].map((i) => harness.crm.create({ [harness.names.lastName]: `L${i}` }));
      await rig.records.write('contacts', ids.map((crmId) => ({ crmId, values: {} })));
      harness.crm.advance(DAY);
      harness.crm.remove(ids[0]!);
      harness.crm.remove(ids[1]!);
      const deletedAt = harness.crm.now();
      // A minute later the CRM has replicated the deletions (Salesforce never covers the current minute).
      harness.crm.advance(60_000);
      const summary = (await rig.orchestrator.runImportDeleted(deletedJob({ end: deletedAt })))._unsafeUnwrap();
      expect(summary).toMatchObject({ read: 2, deleted: 2, written: 2 });
      expect(rig.records.get('contacts', ids[0]!)?.deletedAt).toBeDefined();
      expect(rig.records.get('contacts', ids[2]!)?.deletedAt).toBeUndefined();
    });

    it('refuses a window older than the CRM retention, naming the earliest date and recommending a full re-sync', async () => {
      const rig = makeRig(harness);
      harness.crm.advance(40 * DAY);
      const error = (await rig.orchestrator.runImportDeleted(deletedJob()))._unsafeUnwrapErr();
      expect(error.kind).toBe('crm');
      expect(error.crmError?.kind).toBe('retention-exceeded');
      expect(error.message).toMatch(/only available from \d{4}-\d{2}-\d{2}T/);
      expect(error.message).toMatch(/full re-sync/);
      // Server time, the refused call, and (Salesforce, whose refusal names no date) one probe.
      expect(error.summary?.apiCalls).toBeLessThanOrEqual(3);
    });

    it("names the CRM's own earliest date when its delete log was purged early, and a window starting there is accepted", async () => {
      const rig = makeRig(harness);
      const ids = [0, 1].map((i) => harness.crm.create({ [harness.names.lastName]: `P${i}` }));
      await rig.records.write('contacts', ids.map((crmId) => ({ crmId, values: {} })));
      harness.crm.advance(DAY);
      harness.crm.remove(ids[0]!);
      harness.crm.advance(2 * DAY);
      harness.crm.remove(ids[1]!);
      harness.crm.advance(DAY);
      // Well within the connector's retention (10+ days), but the CRM purged its log before this.
      const purgedBefore = new Date(Date.parse(START) + 2 * DAY).toISOString();
      harness.crm.purgeDeleted(purgedBefore);
      const error = (await rig.orchestrator.runImportDeleted(deletedJob()))._unsafeUnwrapErr();
      expect(error.crmError).toMatchObject({ kind: 'retention-exceeded', earliestAvailable: purgedBefore });
      expect(error.message).toContain(`only available from ${purgedBefore}`);
      const summary = (await rig.orchestrator.runImportDeleted(deletedJob({ start: purgedBefore })))._unsafeUnwrap();
      expect(summary).toMatchObject({ read: 1, deleted: 1 });
      expect(rig.records.get('contacts', ids[1]!)?.deletedAt).toBeDefined();
    });

    it('chains two windows across a minute the CRM has not replicated yet without losing a deletion (automatic index)', async () => {
      const rig = makeRig(harness);
      const id = harness.crm.create({ [harness.names.lastName]: 'Late' });
      await rig.records.write('contacts', [{ crmId: id, values: {} }]);
      harness.crm.advance(DAY + 30_000);
      harness.crm.remove(id);
      const deletedAt = harness.crm.now();
      harness.crm.advance(10_000);
      const job = deletedJob({ automaticIndex: { enabled: true } });
      const first = (await rig.orchestrator.runImportDeleted(job))._unsafeUnwrap();
      const option = await rig.options.getOption('LASTDELETED_default_deletedContacts');
      expect(option?.meta?.at).toBe(first.deletedWindow?.end);
      expect(first.variables.crmEndDate).toBe(option?.value);
      // Salesforce does not report the current minute's deletions: the first window misses it.
      if (factory.name.startsWith('salesforce')) expect(first.deleted).toBe(0);
      if (first.deleted === 0) {
        // The CRM did not report the deletion yet, so the run must not claim to have read past it.
        expect(first.deletedWindow!.end <= deletedAt).toBe(true);
        expect(first.deletedWindow!.end < first.deletedWindow!.requestedEnd).toBe(true);
        expect(first.notes.join(' ')).toMatch(/covered deletions up to/);
      }
      harness.crm.advance(2 * 60_000);
      const second = (await rig.orchestrator.runImportDeleted(job))._unsafeUnwrap();
      expect(second.deletedWindow?.start).toBe(first.deletedWindow?.end);
      expect(first.deleted + second.deleted).toBeGreaterThanOrEqual(1);
      expect(rig.records.get('contacts', id)?.deletedAt).toBeDefined();
    });

    it('refuses the window when the CRM itself reports an earliest date after the start', async () => {
      const rig0 = makeRig(harness);
      harness.crm.advance(DAY);
      const earliest = new Date(Date.parse(START) + DAY / 2).toISOString();
      const reporting = withMethod(harness.connector, 'getDeleted', (inner) => (request, cursor, options) =>
        inner.getDeleted(request, cursor, options).map((page) => ({ ...page, earliestDateAvailable: earliest })),
      );
      const error = (await makeRig({ ...harness, connector: reporting }, {}, rig0).orchestrator.runImportDeleted(deletedJob()))._unsafeUnwrapErr();
      expect(error.crmError).toMatchObject({ kind: 'retention-exceeded', earliestAvailable: earliest });
      expect(error.message).toContain(earliest);
    });

    it('deletes by id in batches; an already deleted record counts as deleted', async () => {
      const rig = makeRig(harness);
      const ids = Array.from({ length: 250 }, (_, i) => harness.crm.create({ [harness.names.lastName]: `L${i}` }));
      harness.crm.remove(ids[0]!);
      const summary = (await rig.orchestrator.runDelete({ kind: 'delete', activity: 'del', object: harness.names.object, ids }))._unsafeUnwrap();
      expect(summary).toMatchObject({ read: 250, deleted: 250, rejected: 0 });
      expect(harness.crm.contacts()).toHaveLength(0);
      expect(rig.orchestrator.connector.stats.byOperation.delete?.calls).toBe(Math.ceil(250 / harness.connector.capabilities.maxDeleteBatch));
    });

    it('a record the CRM refuses to delete is a reject with its CRM id, logged and sent to the rejects output; the others are deleted', async () => {
      const rig0 = makeRig(harness);
      const ids = [0, 1, 2].map((i) => harness.crm.create({ [harness.names.lastName]: `L${i}` }));
      const protectedId = ids[1]!;
      const refusing = withMethod(harness.connector, 'delete', (inner) => (request, options) =>
        inner.delete({ ...request, ids: request.ids.filter((id) => id !== protectedId) }, options).map((outcomes) => {
          const answers = [...outcomes];
          return request.ids.map((id) =>
            id === protectedId
              ? { ok: false as const, reject: { code: 'conflict' as const, symbol: 'DELETE_FAILED', message: 'the record is referenced by an open case', retryable: false } }
              : answers.shift()!,
          );
        }),
      );
      const rig = makeRig({ ...harness, connector: refusing }, {}, rig0);
      const summary = (await rig.orchestrator.runDelete({ kind: 'delete', activity: 'del', object: harness.names.object, ids, processRejects: true }))._unsafeUnwrap();
      expect(summary).toMatchObject({ read: 3, deleted: 2, rejected: 1 });
      expect(rig.rejects).toEqual([expect.objectContaining({ operation: 'delete', crmId: protectedId, code: 'conflict', symbol: 'DELETE_FAILED' })]);
      expect(rig.warnings.filter((warning) => /rejected/.test(warning.message ?? ''))).toHaveLength(1);
      expect(harness.crm.contacts().map((contact) => contact.id)).toEqual([protectedId]);
    });

    it('a delete refused with a retryable reject (row lock) is sent again and ends deleted; a lasting lock is a reject', async () => {
      const rig0 = makeRig(harness);
      const ids = [0, 1, 2].map((i) => harness.crm.create({ [harness.names.lastName]: `L${i}` }));
      /** The first `locks` delete calls answer a row lock for ids[1] and delete the rest. */
      const locking = (locks: number) => {
        let left = locks;
        return withMethod(harness.connector, 'delete', (inner) => (request, options) => {
          if (left <= 0 || !request.ids.includes(ids[1]!)) return inner.delete(request, options);
          left -= 1;
          const others = request.ids.filter((id) => id !== ids[1]);
          const locked = { ok: false as const, reject: { code: 'locked' as const, symbol: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record', retryable: true } };
          if (others.length === 0) return ResultAsync.fromSafePromise(Promise.resolve(request.ids.map(() => locked)));
          return inner.delete({ ...request, ids: others }, options).map((outcomes) => {
            const answers = [...outcomes];
            return request.ids.map((id) => (id === ids[1] ? locked : answers.shift()!));
          });
        });
      };
      const once = makeRig({ ...harness, connector: locking(1) }, {}, rig0);
      const summary = (await once.orchestrator.runDelete({ kind: 'delete', activity: 'del', object: harness.names.object, ids: ids.slice(0, 2), processRejects: true }))._unsafeUnwrap();
      expect(summary).toMatchObject({ read: 2, deleted: 2, rejected: 0 });
      expect(harness.crm.contacts().map((contact) => contact.id)).toEqual([ids[2]]);

      const again = harness.crm.create({ [harness.names.lastName]: 'L1 again' });
      ids[1] = again;
      const lasting = makeRig({ ...harness, connector: locking(10) }, {}, rig0);
      const refused = (await lasting.orchestrator.runDelete({ kind: 'delete', activity: 'del', object: harness.names.object, ids: [again], processRejects: true }))._unsafeUnwrap();
      expect(refused).toMatchObject({ deleted: 0, rejected: 1 });
      expect(lasting.rejects).toEqual([expect.objectContaining({ crmId: again, code: 'locked', symbol: 'UNABLE_TO_LOCK_ROW' })]);
    });

    it('deletes the CRM records linked to rows of a local table', async () => {
      const rig = makeRig(harness);
      const id = harness.crm.create({ [harness.names.lastName]: 'linked' });
      harness.crm.create({ [harness.names.lastName]: 'kept' });
      rig.records.put('people', 'p1', {}, { crmId: id });
      rig.records.put('people', 'p2', {});
      const summary = (await rig.orchestrator.runDelete({ kind: 'delete', activity: 'del', object: harness.names.object, table: 'people', confirm: 'all-linked-rows' }))._unsafeUnwrap();
      expect(summary.deleted).toBe(1);
      expect(harness.crm.contacts().map((c) => c.values[harness.names.lastName])).toEqual(['kept']);
    });
  });
}
