// The shared store contract (the same assertions as the SDK's in-memory stores) run against the
// SQLite stores, both in memory and on a real file in WAL mode.
import { join } from 'node:path';
import { describeStoreContract, type StoresUnderTest } from '@crm-sync/testkit';
import type { SqliteStore } from '../src/index.js';
import { makeTempDir, openOrThrow } from './helpers.js';

function stores(store: SqliteStore, cleanUp: () => void = () => {}): StoresUnderTest {
  return {
    options: store.options,
    journal: store.journal,
    records: store.records,
    leases: store.leases,
    history: store.history,
    async seed(table, rows) {
      for (const row of rows) {
        await store.records.upsertLocal(table, row.key, row.values, row.changedAt === undefined ? {} : { changedAt: row.changedAt });
        if (row.crmId !== undefined) await store.records.linkCrmIds(table, [{ key: row.key, crmId: row.crmId }]);
      }
    },
    async close() {
      store.close();
      cleanUp();
    },
  };
}

describeStoreContract({ name: 'sqlite :memory:', factory: () => stores(openOrThrow(':memory:')) });

describeStoreContract({
  name: 'sqlite file (WAL)',
  factory: () => {
    const temp = makeTempDir();
    return stores(openOrThrow(join(temp.dir, 'contract.sqlite')), temp.remove);
  },
});
