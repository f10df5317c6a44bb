/**
 * A sink that refuses single records (RecordSink.write resolving with `rejects`): the refused
 * records become rejects of the run, the others are written, and the watermark still moves.
 */
import { describe, expect, it } from 'vitest';
import type { LocalRecord, RecordSink } from '../../src/index.js';
import { harnesses } from './harnesses.js';
import { CONTACTS_IMPORT_OPTION, contactsImportJob, makeRig } from './setup.js';

const mock = harnesses.find((factory) => factory.name.includes('mock')) ?? harnesses[0]!;

describe('a sink that refuses single records', () => {
  it('writes the rest of the page, reports each refused record as a reject, and moves the watermark', async () => {
    const harness = await mock.setup();
    try {
      for (let i = 0; i < 5; i += 1) harness.crm.create({ [harness.names.lastName]: i === 2 ? 'REFUSED' : `L${i}` }, '2024-06-01T00:00:00.000Z');
      harness.crm.advance(3_600_000);
      const base = makeRig(harness);
      const sink: RecordSink = {
        atomicCheckpoint: true,
        write: async (table, records, checkpoint, fence) => {
          const refused = records.filter((record: LocalRecord) => record.values.last_name === 'REFUSED');
          await base.records.write(table, records.filter((record) => !refused.includes(record)), checkpoint, fence);
          return { rejects: refused.map((record) => ({ crmId: record.crmId, field: 'last_name', message: 'column "last_name" (CHECK last_name <> REFUSED) refused the value' })) };
        },
        markDeleted: (table, deletions) => base.records.markDeleted(table, deletions),
      };
      const rig = makeRig(harness, { sink }, base);
      const summary = (await rig.orchestrator.runImport(contactsImportJob(harness, { processRejects: true })))._unsafeUnwrap();
      expect(summary).toMatchObject({ read: 5, written: 4, rejected: 1 });
      expect(base.records.rows('contacts')).toHaveLength(4);
      expect(rig.rejects).toHaveLength(1);
      expect(rig.rejects[0]).toMatchObject({ operation: 'import', code: 'invalid-value', fields: ['last_name'], message: expect.stringMatching(/table contacts refused the record: column "last_name"/) });
      expect(rig.rejects[0]?.crmId).toBeDefined();
      expect(await base.options.getOption(CONTACTS_IMPORT_OPTION)).toBeDefined();
    } finally {
      await mock.teardown?.(harness);
    }
  });

  it('a sink resolving void still counts every record as written', async () => {
    const harness = await mock.setup();
    try {
      for (let i = 0; i < 3; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` }, '2024-06-01T00:00:00.000Z');
      harness.crm.advance(3_600_000);
      const rig = makeRig(harness);
      const summary = (await rig.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      expect(summary).toMatchObject({ read: 3, written: 3, rejected: 0 });
    } finally {
      await mock.teardown?.(harness);
    }
  });
});
