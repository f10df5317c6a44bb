/**
 * Deletes need intent and have a limit: a delete of every linked row of a table needs
 * `confirm: 'all-linked-rows'`, and `maxDeletes` (a count, a percentage, or the default 500) is
 * checked before the first delete request and before the first local row is marked deleted.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_DELETES, type DeleteJob, type ImportDeletedJob } from '../../src/index.js';
import { harnesses, mockHarness, START, type Harness } from './harnesses.js';
import { makeRig } from './setup.js';

const DAY = 86_400_000;

for (const factory of [...harnesses, mockHarness('guid')]) {
  describe(`delete intent and limits on ${factory.name}`, () => {
    let harness: Harness;
    beforeEach(async () => {
      harness = await factory.setup();
    });
    afterEach(async () => {
      await factory.teardown?.(harness);
    });

    function deleteJob(overrides: Partial<DeleteJob> = {}): DeleteJob {
      return { kind: 'delete', activity: 'del', object: harness.names.object, ...overrides };
    }

    function create(count: number): string[] {
      return Array.from({ length: count }, (_, i) => harness.crm.create({ [harness.names.lastName]: `L${i}` }));
    }

    it('refuses to delete every linked row of a table without confirm: all-linked-rows, before any call', async () => {
      const rig = makeRig(harness);
      const ids = create(3);
      ids.forEach((crmId, i) => rig.records.put('people', `p${i}`, {}, { crmId }));
      const error = (await rig.orchestrator.runDelete(deleteJob({ table: 'people' })))._unsafeUnwrapErr();
      expect(error.kind).toBe('invalid-job');
      expect(error.issues).toEqual([expect.objectContaining({ path: 'confirm', message: expect.stringMatching(/confirm: all-linked-rows/) })]);
      expect(error.message).toMatch(/every linked row of table people/);
      expect(rig.orchestrator.connector.stats.calls).toBe(0);
      expect(harness.crm.contacts()).toHaveLength(3);

      const confirmed = (await rig.orchestrator.runDelete(deleteJob({ table: 'people', confirm: 'all-linked-rows' })))._unsafeUnwrap();
      expect(confirmed.deleted).toBe(3);
      expect(harness.crm.contacts()).toHaveLength(0);
    });

    it('a table delete limited to keys needs no confirm; confirm with ids or keys, or another confirmation, is refused', async () => {
      const rig = makeRig(harness);
      const ids = create(2);
      ids.forEach((crmId, i) => rig.records.put('people', `p${i}`, {}, { crmId }));
      const some = (await rig.orchestrator.runDelete(deleteJob({ table: 'people', keys: ['p0'] })))._unsafeUnwrap();
      expect(some.deleted).toBe(1);
      for (const job of [
        deleteJob({ ids: [ids[1]!], confirm: 'all-linked-rows' }),
        deleteJob({ table: 'people', keys: ['p1'], confirm: 'all-linked-rows' }),
        deleteJob({ table: 'people', confirm: 'everything' as 'all-linked-rows' }),
      ]) {
        const error = (await rig.orchestrator.runDelete(job))._unsafeUnwrapErr();
        expect(error.kind).toBe('invalid-job');
        expect(error.issues?.[0]?.path).toBe('confirm');
      }
      expect(harness.crm.contacts()).toHaveLength(1);
    });

    it('over maxDeletes nothing is deleted, and the message gives the count and how to raise the limit', async () => {
      const rig = makeRig(harness);
      const ids = create(5);
      const error = (await rig.orchestrator.runDelete(deleteJob({ ids, maxDeletes: 3 })))._unsafeUnwrapErr();
      expect(error.kind).toBe('invalid-job');
      expect(error.message).toMatch(/5 records of .* to delete, more than maxDeletes 3; nothing was deleted/);
      expect(error.message).toMatch(/raise the limit in the job: maxDeletes: 5/);
      expect(error.issues).toEqual([expect.objectContaining({ path: 'maxDeletes' })]);
      expect(rig.orchestrator.connector.stats.byOperation.delete).toBeUndefined();
      expect(harness.crm.contacts()).toHaveLength(5);

      const within = (await rig.orchestrator.runDelete(deleteJob({ ids, maxDeletes: 5 })))._unsafeUnwrap();
      expect(within.deleted).toBe(5);
    });

    it('the default limit is 500: a stream of 501 ids is read to the end but none is sent', async () => {
      const rig = makeRig(harness);
      const [real] = create(1);
      let pulled = 0;
      async function* stream(): AsyncIterable<string> {
        yield real!;
        // Well-formed ids of records that do not exist: counted, never sent.
        for (let i = 1; i <= DEFAULT_MAX_DELETES; i += 1) {
          pulled += 1;
          yield harness.crm.create({ [harness.names.lastName]: `S${i}` });
        }
      }
      const error = (await rig.orchestrator.runDelete(deleteJob({ ids: stream() })))._unsafeUnwrapErr();
      expect(DEFAULT_MAX_DELETES).toBe(500);
      expect(pulled).toBe(500);
      expect(error.message).toMatch(/501 records .* more than the default limit of 500/);
      expect(rig.orchestrator.connector.stats.byOperation.delete).toBeUndefined();
      expect(harness.crm.contacts()).toHaveLength(501);
    });

    it('a percentage limit is of the records of the object in the CRM, counted before the first delete', async () => {
      const rig = makeRig(harness);
      const ids = create(10);
      const over = (await rig.orchestrator.runDelete(deleteJob({ ids: ids.slice(0, 3), maxDeletes: '20%' })))._unsafeUnwrapErr();
      expect(over.message).toMatch(/3 records .* more than maxDeletes "20%" of the 10 records of .* \(2\)/);
      expect(rig.orchestrator.connector.stats.byOperation.delete).toBeUndefined();
      expect(rig.orchestrator.connector.stats.byOperation.query?.calls).toBeGreaterThanOrEqual(1);
      expect(harness.crm.contacts()).toHaveLength(10);
      const within = (await rig.orchestrator.runDelete(deleteJob({ ids: ids.slice(0, 2), maxDeletes: '20%' })))._unsafeUnwrap();
      expect(within.deleted).toBe(2);
      expect(harness.crm.contacts()).toHaveLength(8);
    });

    it('a maxDeletes that is not a count >= 1 or a percentage up to 100% is refused before any call', async () => {
      const rig = makeRig(harness);
      const ids = create(1);
      for (const maxDeletes of [0, 2.5, -1, '0%', '150%', 'ten'] as const) {
        const error = (await rig.orchestrator.runDelete(deleteJob({ ids, maxDeletes: maxDeletes as DeleteJob['maxDeletes'] })))._unsafeUnwrapErr();
        expect(error.kind).toBe('invalid-job');
        expect(error.issues).toEqual([expect.objectContaining({ path: 'maxDeletes' })]);
      }
      expect(rig.orchestrator.connector.stats.calls).toBe(0);
    });

    it('a dry run shows the count and the first ids, and says when a real run would be refused', async () => {
      const rig = makeRig(harness);
      const ids = create(12);
      const plan = (await rig.orchestrator.plan(deleteJob({ ids })))._unsafeUnwrap();
      expect(plan).toMatchObject({ operation: 'delete', records: 12 });
      expect(plan.notes.join('\n')).toMatch(/12 ids in 1 batches/);
      expect(plan.notes.join('\n')).toContain(`first ids: ${ids.slice(0, 10).map((id) => harness.connector.normalizeId?.(harness.names.object, id) ?? id).join(', ')}, ... (12 in all)`);
      const over = (await rig.orchestrator.plan(deleteJob({ ids, maxDeletes: 5 })))._unsafeUnwrap();
      expect(over.notes.join('\n')).toMatch(/12 ids to delete, more than maxDeletes 5: a real run would be refused/);
      expect(rig.orchestrator.connector.stats.byOperation.delete).toBeUndefined();
      expect(harness.crm.contacts()).toHaveLength(12);
    });

    it('import-deleted: a window with more deletions than maxDeletes marks no local row; within it, all are marked', async () => {
      const rig = makeRig(harness);
      const ids = create(4);
      await rig.records.write('contacts', ids.map((crmId) => ({ crmId, values: {} })));
      harness.crm.advance(DAY);
      for (const id of ids.slice(0, 3)) harness.crm.remove(id);
      // Salesforce reports the deletions of a minute only once it is over (latestDateCovered).
      harness.crm.advance(2 * 60_000);
      const job: ImportDeletedJob = { kind: 'import-deleted', activity: 'deleted', object: harness.names.object, table: 'contacts', start: START, end: harness.crm.now(), pageSize: 1 };
      const error = (await rig.orchestrator.runImportDeleted({ ...job, maxDeletes: 2 }))._unsafeUnwrapErr();
      expect(error.kind).toBe('invalid-job');
      expect(error.message).toMatch(/3 deleted records of .* more than maxDeletes 2; no local row was marked/);
      expect(error.message).toMatch(/maxDeletes: 3/);
      expect(rig.records.rows('contacts').filter((row) => row.deletedAt !== undefined)).toHaveLength(0);

      const percent = (await rig.orchestrator.runImportDeleted({ ...job, maxDeletes: '100%' }))._unsafeUnwrapErr();
      expect(percent.message).toMatch(/more than maxDeletes "100%" of the 1 records/);

      const summary = (await rig.orchestrator.runImportDeleted({ ...job, maxDeletes: 3 }))._unsafeUnwrap();
      expect(summary).toMatchObject({ read: 3, deleted: 3 });
      expect(rig.records.rows('contacts').filter((row) => row.deletedAt !== undefined)).toHaveLength(3);
    });
  });
}
