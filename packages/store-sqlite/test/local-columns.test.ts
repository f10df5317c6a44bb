/**
 * `columns(table)`: the field names some row of a local table holds, which an export checks its
 * mappings' local names against (a misspelt `local` is refused before any CRM call).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkLocalColumns } from '@crm-sync/sdk';
import type { SqliteStore } from '../src/index.js';
import { openOrThrow, steppingClock } from './helpers.js';

describe('SQLite local tables: known columns', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = openOrThrow(':memory:', { now: steppingClock() });
  });
  afterEach(() => store.close());

  it('is the union of the field names of every row, nulls and deleted rows included', async () => {
    await store.records.write('contacts', [
      { crmId: '003A', values: { first_name: 'Ann', email: 'a@example.com' } },
      { crmId: '003B', values: { last_name: 'Lee', phone: null } },
      { crmId: '003C', values: { status: 'active' } },
    ]);
    await store.records.upsertLocal('contacts', 'app-1', { nickname: 'Annie' });
    await store.records.markDeleted('contacts', [{ crmId: '003C', deletedAt: '2026-01-02T00:00:00.000Z' }]);
    const columns = await store.records.columns('contacts');
    expect([...(columns ?? [])].sort()).toEqual(['email', 'first_name', 'last_name', 'nickname', 'phone', 'status']);
  });

  it('cannot tell for a missing or an empty table (undefined), so the export check is skipped there', async () => {
    expect(await store.records.columns('nowhere')).toBeUndefined();
    expect(await store.records.listTables()).toEqual([]);
    await store.records.write('empty', []);
    expect(await store.records.columns('empty')).toBeUndefined();
    expect(await checkLocalColumns({ table: 'nowhere', fields: [{ local: 'x', remote: 'X' }] }, store.records)).toEqual([]);
  });

  it('lets checkLocalColumns refuse a misspelt local name with its job path and a suggestion', async () => {
    await store.records.write('contacts', [{ crmId: '003A', values: { first_name: 'Ann', phone: '1' } }]);
    const issues = await checkLocalColumns(
      { table: 'contacts', fields: [{ local: 'first_nmae', remote: 'firstName' }, { local: 'phone', remote: 'phone' }, { local: 'Phone', remote: 'mobile' }] },
      store.records,
    );
    expect(issues.map((issue) => issue.path)).toEqual(['fields[0].local', 'fields[2].local']);
    expect(issues[0]!.message).toBe(
      '"first_nmae" is not a column of local table "contacts" (did you mean "first_name"?); no row of the table has it, so nothing would be exported for firstName: fix the local name, or remove the mapping until the table has that column',
    );
    expect(issues[1]!.message).toContain('(did you mean "phone"?)');
  });

  it('refuses an invalid table name with the store error', async () => {
    await expect(store.records.columns('bad name;')).rejects.toThrow(/table/i);
  });
});
