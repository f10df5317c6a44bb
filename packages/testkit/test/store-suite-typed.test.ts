// The store suite with a declared typed table (recordTable): the records checks use its name,
// fields and key type, and catch a store that streams integer keys in text order or nulls absent fields.
import { MemoryRecordStore, type LocalRecord, type SourceReadOptions, type SourceRecord } from '@crm-sync/sdk';
import { MemoryExportJournal, MemoryLeaseStore, MemoryOptionStore } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { runStoreContract, type StoreRecordTable, type StoresUnderTest } from '../src/index.js';

const table: StoreRecordTable = { name: 'customers', keyType: 'integer', textFields: ['mail', 'tel', 'given'] };

/** Memory stores whose `read` orders keys numerically (`numeric`) or as text, optionally nulling absent fields on write. */
function stores(numeric: boolean, nullAbsent = false): StoresUnderTest {
  const leases = new MemoryLeaseStore();
  const options = new MemoryOptionStore(undefined, leases);
  const records = new MemoryRecordStore(options);
  const read = records.read.bind(records);
  const write = records.write.bind(records);
  records.read = async function* (name: string, readOptions?: SourceReadOptions): AsyncIterable<readonly SourceRecord[]> {
    const all: SourceRecord[] = [];
    for await (const batch of read(name, { ...readOptions, batchSize: 1_000_000 })) all.push(...batch);
    if (numeric) all.sort((a, b) => Number(a.key) - Number(b.key));
    const size = readOptions?.batchSize ?? 500;
    for (let i = 0; i < all.length; i += size) yield all.slice(i, i + size);
  };
  // A typed table knows its columns before it has rows.
  records.columns = async (name: string) => (name === table.name ? new Set(table.textFields) : undefined);
  if (nullAbsent) {
    records.write = (name, list: readonly LocalRecord[], checkpoint, fence) =>
      write(name, list.map((record) => ({ ...record, values: Object.fromEntries(table.textFields.map((field) => [field, record.values[field] ?? null])) })), checkpoint, fence);
  }
  return {
    options,
    journal: new MemoryExportJournal(undefined, leases),
    records,
    leases,
    async seed(name, rows) {
      for (const row of rows) records.put(name, row.key, { ...row.values }, { ...(row.crmId === undefined ? {} : { crmId: row.crmId }), ...(row.changedAt === undefined ? {} : { changedAt: row.changedAt }) });
    },
  };
}

describe('the store suite with a typed table and integer keys', () => {
  it('passes a store that streams integer keys in numeric order, on the declared table and fields', async () => {
    const outcomes = await runStoreContract({ name: 'typed', recordTable: table, factory: () => stores(true), without: ['history'] });
    expect(outcomes.filter((outcome) => outcome.status === 'failed')).toEqual([]);
  });

  it('fails a store that streams integer keys in text order ("10" before "2")', async () => {
    const outcomes = await runStoreContract({ name: 'text-order', recordTable: table, factory: () => stores(false), without: ['history'] });
    const failed = outcomes.filter((outcome) => outcome.status === 'failed');
    expect(failed.map((outcome) => outcome.name)).toContain('read streams seeded rows by key in batches, filtered by keys and changedSince; linkCrmIds links them');
    expect(String(failed.find((outcome) => outcome.name.startsWith('read streams'))?.error)).toMatch(/key order \(numeric for integer keys\)/);
  });

  it('fails a store that nulls a field a record does not carry', async () => {
    const outcomes = await runStoreContract({ name: 'nulls', recordTable: table, factory: () => stores(true, true), without: ['history'] });
    expect(outcomes.filter((outcome) => outcome.status === 'failed').map((outcome) => outcome.name)).toContain('write leaves a field a record does not carry as it was (absent is never null)');
  });
});
