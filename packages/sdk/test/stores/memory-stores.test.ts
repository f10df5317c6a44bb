import { describe, expect, it } from 'vitest';
import { MemoryExportJournal, MemoryLeaseStore, MemoryOptionStore, MemoryRecordStore, MemoryRunHistory } from '../../src/index.js';
// The store contract lives in the testkit; the SDK's own memory stores must pass it too.
import { describeStoreContract, type StoresUnderTest } from '@crm-sync/testkit';

function memoryStores(): StoresUnderTest {
  const leases = new MemoryLeaseStore();
  const options = new MemoryOptionStore(undefined, leases);
  const records = new MemoryRecordStore(options);
  return {
    options,
    journal: new MemoryExportJournal(undefined, leases),
    records,
    leases,
    history: new MemoryRunHistory(leases),
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

// The whole suite, every group: options, journal, records, leases, history.
describeStoreContract({ name: 'memory', factory: memoryStores });

describe('MemoryRecordStore', () => {
  it('without an option store it leaves checkpoints to the orchestrator (atomicCheckpoint false)', async () => {
    const records = new MemoryRecordStore();
    expect(records.atomicCheckpoint).toBe(false);
    await records.write('t', [{ crmId: 'a', values: { x: 1 } }], { optionName: 'o', value: 'v' });
    expect(records.rows('t')).toHaveLength(1);
  });

  it('counts how many times an import wrote each row', async () => {
    const records = new MemoryRecordStore();
    await records.write('t', [{ crmId: 'a', values: { x: 1 } }]);
    await records.write('t', [{ crmId: 'a', values: { x: 2 } }]);
    expect(records.get('t', 'a')).toMatchObject({ writes: 2, values: { x: 2 } });
  });
});
