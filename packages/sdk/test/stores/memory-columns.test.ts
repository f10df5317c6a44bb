import { describe, expect, it } from 'vitest';
import { checkLocalColumns, MemoryRecordStore } from '../../src/index.js';

describe('MemoryRecordStore.columns and checkLocalColumns', () => {
  it('knows every field name some row holds (nulls and deleted rows included); undefined for a table without rows', async () => {
    const store = new MemoryRecordStore();
    expect(await store.columns('people')).toBeUndefined();
    store.put('people', 'p1', { first_name: 'Ann', phone: null });
    await store.write('people', [{ crmId: 'c1', values: { email: 'e@example.test' } }]);
    await store.markDeleted('people', [{ crmId: 'c1', deletedAt: '2024-01-01T00:00:00.000Z' }]);
    expect([...((await store.columns('people')) ?? [])].sort()).toEqual(['email', 'first_name', 'phone']);
  });

  it('names each unknown local column at its job path, with a suggestion for a near miss or else the columns there are', async () => {
    const store = new MemoryRecordStore();
    store.put('people', 'p1', { first_name: 'Ann', last_name: 'Lee' });
    const issues = await checkLocalColumns(
      {
        table: 'people',
        fields: [
          { local: 'FIRST_NAME', remote: 'FirstName' },
          { local: 'last_name', remote: 'LastName' },
          { local: 'mobile', remote: 'MobilePhone' },
        ],
      },
      store,
    );
    expect(issues).toEqual([
      { path: 'fields[0].local', message: expect.stringContaining('"FIRST_NAME" is not a column of local table "people" (did you mean "first_name"?)') },
      { path: 'fields[2].local', message: expect.stringContaining('"mobile" is not a column of local table "people"; its columns are first_name, last_name; no row of the table has it, so nothing would be exported for MobilePhone') },
    ]);
  });

  it('finds nothing to refuse when the source cannot tell (no columns method, or an empty table)', async () => {
    const fields = [{ local: 'x', remote: 'X' }];
    expect(await checkLocalColumns({ table: 'people', fields }, {})).toEqual([]);
    expect(await checkLocalColumns({ table: 'people', fields }, new MemoryRecordStore())).toEqual([]);
  });
});
