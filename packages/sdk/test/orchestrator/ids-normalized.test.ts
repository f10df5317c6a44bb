/**
 * Ids compared the way the CRM compares them: import by ids, deletes and export linking go
 * through the connector's `normalizeId`, so a Salesforce 15-character id, an 18-character id in
 * another letter case or an upper-case Dataverse GUID is the same record, not "not found".
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idNormalizer, type ExportJob, type ImportJob } from '../../src/index.js';
import { harnesses, mockHarness, withMethod, type Harness } from './harnesses.js';
import { makeRig } from './setup.js';

/** Other spellings of `id` the CRM treats as the same record. */
function otherSpellings(id: string): string[] {
  if (/^[a-zA-Z0-9]{18}$/.test(id)) return [id.slice(0, 15), id.toUpperCase() === id ? id.toLowerCase() : id.toUpperCase()];
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-/.test(id)) return [id.toUpperCase()];
  return [];
}

for (const factory of [...harnesses, mockHarness('salesforce'), mockHarness('guid')]) {
  describe(`ids as the CRM compares them on ${factory.name}`, () => {
    let harness: Harness;
    beforeEach(async () => {
      harness = await factory.setup();
    });
    afterEach(async () => {
      await factory.teardown?.(harness);
    });

    function importJob(ids: readonly string[]): ImportJob {
      return { kind: 'import', activity: 'byIds', object: harness.names.object, table: 'contacts', fields: [{ remote: harness.names.lastName, local: 'last_name' }], ids };
    }

    it('import by ids: other spellings of existing ids are imported once and not listed as not found', async (context) => {
      const ids = [0, 1, 2].map((i) => harness.crm.create({ [harness.names.lastName]: `L${i}` }));
      if (otherSpellings(ids[0]!).length === 0) return context.skip("this CRM's ids have no other spelling (the mock's own CON-000001 ids): the Salesforce-style and GUID runs cover it");
      const rig = makeRig(harness);
      const asked = [...ids.flatMap(otherSpellings), ids[2]!, 'missing-1'];
      const summary = (await rig.orchestrator.runImport(importJob(asked)))._unsafeUnwrap();
      expect(summary.notFound).toEqual(['missing-1']);
      expect(rig.records.rows('contacts').map((row) => row.crmId).sort()).toEqual([...ids].sort());
    });

    it('delete: two spellings of one id are one record, sent once', async (context) => {
      const [id, other] = [0, 1].map((i) => harness.crm.create({ [harness.names.lastName]: `L${i}` }));
      const spellings = otherSpellings(id!);
      if (spellings.length === 0) return context.skip("this CRM's ids have no other spelling (the mock's own CON-000001 ids): the Salesforce-style and GUID runs cover it");
      const rig = makeRig(harness);
      const sent: string[][] = [];
      const recording = withMethod(harness.connector, 'delete', (inner) => (request, options) => {
        sent.push([...request.ids]);
        return inner.delete(request, options);
      });
      const summary = (await makeRig({ ...harness, connector: recording }, {}, rig).orchestrator.runDelete({ kind: 'delete', activity: 'del', object: harness.names.object, ids: [id!, ...spellings], maxDeletes: 1 }))._unsafeUnwrap();
      expect(summary).toMatchObject({ read: 1 + spellings.length, deleted: 1, rejected: 0 });
      expect(sent).toEqual([[id]]);
      expect(summary.notes.join('\n')).toMatch(/name a record already listed/);
      expect(harness.crm.contacts().map((contact) => contact.id)).toEqual([other]);
    });

    it('export: a created record is linked by its canonical id even when the CRM answers another spelling', async (context) => {
      const probe = harness.crm.create({ [harness.names.lastName]: 'probe' });
      if (otherSpellings(probe).length === 0) return context.skip("this CRM's ids have no other spelling (the mock's own CON-000001 ids): the Salesforce-style and GUID runs cover it");
      const rig0 = makeRig(harness);
      const respelling = withMethod(harness.connector, 'upsertBatch', (inner) => (request, options) =>
        inner.upsertBatch(request, options).map((outcomes) => outcomes.map((outcome) => (outcome.ok ? { ...outcome, id: otherSpellings(outcome.id).at(-1)! } : outcome))),
      );
      const rig = makeRig({ ...harness, connector: respelling }, {}, rig0);
      rig.records.put('people', 'p1', { last_name: 'Exported' });
      const job: ExportJob = { kind: 'export', activity: 'exp', object: harness.names.object, table: 'people', mode: 'auto', fields: [{ local: 'last_name', remote: harness.names.lastName }] };
      (await rig.orchestrator.runExport(job))._unsafeUnwrap();
      const created = harness.crm.contacts().find((contact) => contact.values[harness.names.lastName] === 'Exported');
      expect(rig.records.get('people', 'p1')?.crmId).toBe(created?.id);
    });

    it('delete: a malformed id is a reject, never counted as deleted', async () => {
      const rig = makeRig(harness);
      const id = harness.crm.create({ [harness.names.lastName]: 'kept' });
      const summary = (await rig.orchestrator.runDelete({ kind: 'delete', activity: 'del', object: harness.names.object, ids: ["x' OR 1=1"], processRejects: true }))._unsafeUnwrap();
      expect(summary).toMatchObject({ deleted: 0, rejected: 1 });
      expect(rig.rejects).toEqual([expect.objectContaining({ code: 'invalid-value', crmId: "x' OR 1=1" })]);
      expect(harness.crm.contacts().map((contact) => contact.id)).toEqual([id]);
    });

    it('the connector normalizes its own ids to themselves', () => {
      const id = harness.crm.create({ [harness.names.lastName]: 'x' });
      const normalize = idNormalizer(harness.connector, harness.names.object);
      expect(normalize(id)).toBe(id);
      for (const other of otherSpellings(id)) expect(normalize(other)).toBe(id);
    });
  });
}
