// The shared store contract (the same checks as the SDK's in-memory stores and SQLite) run against
// PostgreSQL, each check in a fresh schema.
import { describe } from 'vitest';
import { describeStoreContract, type StoresUnderTest } from '@crm-sync/testkit';
import type { PostgresStore } from '../src/index.js';
import { openTestStore, pgUrl } from './helpers.js';

function stores(store: PostgresStore): StoresUnderTest {
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
    close: () => store.close(),
  };
}

describe.skipIf(pgUrl === undefined)('store-postgres', () => {
  describeStoreContract({ name: 'postgres', factory: async () => stores(await openTestStore()) });
});
