/**
 * Property tests: random data shapes and random crash points, checked against the simplest model
 * (every record ends up once on the other side).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crmError, type ExportJob, type ImportJob, type RecordSink } from '../../src/index.js';
import { harnesses } from './harnesses.js';
import { makeRig } from './setup.js';

const factory = harnesses[0]!;

describe(`orchestrator properties on ${factory.name}`, () => {
  it('import with crashes at random pages: after restarts every record is written exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 7, max: 60 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 4 }),
        async (count, distinctStamps, pageSize, crashAtWrites) => {
          const harness = await factory.setup();
          for (let i = 0; i < count; i += 1) {
            harness.crm.create({ [harness.names.lastName]: `L${i}` }, new Date(Date.parse('2024-06-01T00:00:00.000Z') + (i % distinctStamps) * 1000).toISOString());
          }
          harness.crm.advance(3_600_000);
          const base = makeRig(harness);
          const job: ImportJob = {
            kind: 'import',
            activity: 'prop',
            object: harness.names.object,
            table: 't',
            fields: [{ remote: harness.names.lastName, local: 'l' }],
            automaticIndex: { enabled: true },
            pageSize,
          };
          for (const crashAt of crashAtWrites) {
            let writes = 0;
            const sink: RecordSink = {
              atomicCheckpoint: true,
              write: async (table, records, checkpoint) => {
                writes += 1;
                if (writes === crashAt) throw new Error('crash (simulated)');
                return base.records.write(table, records, checkpoint);
              },
              markDeleted: (table, deletions) => base.records.markDeleted(table, deletions),
            };
            await makeRig(harness, { sink }, base).orchestrator.runImport(job);
          }
          (await base.orchestrator.runImport(job))._unsafeUnwrap();
          const rows = base.records.rows('t');
          expect(rows).toHaveLength(count);
          expect(rows.every((row) => row.writes === 1)).toBe(true);
        },
      ),
      { numRuns: 30, seed: 20241125 },
    );
  });

  it('export with lost answers at random batches and a sync key: one CRM record per local record', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), async (count, lostAnswers, lookup) => {
        const harness = await factory.setup();
        const rig = makeRig(harness);
        for (let i = 0; i < count; i += 1) rig.records.put('p', `k${String(i).padStart(4, '0')}`, { l: `L${i}` });
        harness.crm.failNext(lostAnswers, crmError('transient', harness.connector.id, 'reset after send (simulated)', { inDoubt: true }), {
          operations: ['upsertBatch'],
          afterCommit: true,
        });
        const job: ExportJob = {
          kind: 'export',
          activity: 'prop',
          object: harness.names.object,
          table: 'p',
          mode: lookup ? 'insert' : 'auto',
          syncKey: { remoteField: harness.names.syncKey },
          fields: [{ local: 'l', remote: harness.names.lastName }],
        };
        for (let attempt = 0; attempt < 4; attempt += 1) {
          if ((await rig.orchestrator.runExport(job)).isOk()) break;
        }
        const keys = harness.crm.contacts().map((contact) => contact.values[harness.names.syncKey]);
        expect(keys).toHaveLength(count);
        expect(new Set(keys).size).toBe(count);
      }),
      { numRuns: 25, seed: 20241125 },
    );
  });
});
