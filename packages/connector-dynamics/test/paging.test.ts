import { afterEach, describe, expect, it } from 'vitest';
import type { QueryRequest, WriteRecord } from '@crm-sync/sdk';
import { startHarness, type DynamicsHarness } from './support/harness.js';

let harness: DynamicsHarness;
afterEach(async () => harness.close());

function seed(h: DynamicsHarness, n: number, at?: (i: number) => string): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const outcome = h.crm.insert('contact', { lastname: `Last ${i}`, crm_synckey: `k${i}` }, at ? { at: at(i) } : {});
    if (!outcome.ok) throw new Error(outcome.reject.message);
    ids.push(outcome.id);
  }
  return ids;
}

async function readAll(h: DynamicsHarness, request: QueryRequest): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = (await h.connector.query(request, cursor))._unsafeUnwrap();
    pages += 1;
    ids.push(...page.records.map((record) => record.id));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return { ids, pages };
}

describe('paging', () => {
  it('reads 25,000 records through @odata.nextLink with no loss and no duplicate', async () => {
    harness = await startHarness();
    // 25 distinct timestamps, 1,000 records each: paging must cut through ties.
    const seeded = seed(harness, 25_000, (i) => new Date(Date.UTC(2024, 4, 1) + Math.floor(i / 1000) * 1000).toISOString());
    const { ids, pages } = await readAll(harness, { object: 'contact', fields: ['lastname'], window: { field: 'modifiedon' }, pageSize: 5000 });
    expect(pages).toBe(5);
    expect(ids).toHaveLength(25_000);
    expect(new Set(ids).size).toBe(25_000);
    expect(new Set(ids)).toEqual(new Set(seeded));
  });

  it('walks id chunks when one URL cannot carry every id', async () => {
    harness = await startHarness();
    const seeded = seed(harness, 1500);
    const asked = [...seeded, '00000000-0000-4000-8000-00000000dead'];
    const { ids, pages } = await readAll(harness, { object: 'contact', fields: ['lastname'], ids: asked });
    expect(new Set(ids)).toEqual(new Set(seeded));
    expect(pages).toBeGreaterThan(1);
    for (const entry of harness.emulator.requestLog) expect(entry.path.length).toBeLessThan(32_768);
  });

  it('sends the same maxpagesize on every page and follows nextLink verbatim', async () => {
    harness = await startHarness();
    seed(harness, 30);
    const { pages } = await readAll(harness, { object: 'contact', fields: ['lastname'], pageSize: 10 });
    expect(pages).toBe(3);
    const reads = harness.emulator.requestLog.filter((entry) => entry.method === 'GET' && entry.path.includes('/contacts'));
    expect(reads).toHaveLength(3);
    expect(reads[1]!.path).toContain('$skiptoken=');
  });
});

describe('API calls for 10,000 records (reported in the README)', () => {
  it('imports 10,000 records in 2 Web API calls after describe, and exports 10,000 in 10 $batch calls', async () => {
    harness = await startHarness();
    seed(harness, 10_000);
    await harness.connector.describe('contact');
    harness.emulator.resetCounters();
    const { ids } = await readAll(harness, { object: 'contact', fields: ['lastname', 'emailaddress1'], window: { field: 'modifiedon' }, pageSize: 5000 });
    expect(ids).toHaveLength(10_000);
    const importCalls = harness.emulator.apiCalls.webApi;

    harness.crm.reset();
    harness.emulator.resetCounters();
    const records: WriteRecord[] = Array.from({ length: 10_000 }, (_, i) => ({ values: { lastname: `Export ${i}`, crm_synckey: `x${i}` } }));
    const chunks: WriteRecord[][] = [];
    for (let i = 0; i < records.length; i += harness.connector.capabilities.maxUpsertBatch) chunks.push(records.slice(i, i + harness.connector.capabilities.maxUpsertBatch));
    for (const chunk of chunks) {
      const outcomes = (await harness.connector.upsertBatch({ object: 'contact', mode: 'upsert', externalIdField: 'crm_synckey', records: chunk }))._unsafeUnwrap();
      expect(outcomes.every((outcome) => outcome.ok && outcome.action === 'created')).toBe(true);
    }
    const exportCalls = harness.emulator.apiCalls.webApi;
    expect(harness.crm.count('contact')).toBe(10_000);
    expect({ importCalls, exportCalls, batchOperations: harness.emulator.apiCalls.batchOperations }).toEqual({ importCalls: 2, exportCalls: 10, batchOperations: 10_000 });
  });

  it('exports 10,000 records in 10 CreateMultiple calls, or 30 calls through UpsertMultiple, with bulkMessages', async () => {
    harness = await startHarness({ bulkMessages: true });
    const batch = harness.connector.capabilities.maxUpsertBatch;
    const records: WriteRecord[] = Array.from({ length: 10_000 }, (_, i) => ({ values: { lastname: `Bulk ${i}`, crm_synckey: `b${i}` } }));
    for (let i = 0; i < records.length; i += batch) {
      const outcomes = (await harness.connector.upsertBatch({ object: 'contact', mode: 'insert', records: records.slice(i, i + batch) }))._unsafeUnwrap();
      expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    }
    const insertCalls = harness.emulator.apiCalls.webApi;
    harness.emulator.resetCounters();
    for (let i = 0; i < records.length; i += batch) {
      const outcomes = (await harness.connector.upsertBatch({ object: 'contact', mode: 'upsert', externalIdField: 'crm_synckey', records: records.slice(i, i + batch) }))._unsafeUnwrap();
      expect(outcomes.every((outcome) => outcome.ok && outcome.action === 'updated')).toBe(true);
    }
    // Every key exists already, so the look-up after the upsert is skipped: 2 calls per batch here.
    // 10 CreateMultiple + the 4 GETs of the first describe.
    expect({ insertCalls, upsertCalls: harness.emulator.apiCalls.webApi }).toEqual({ insertCalls: 14, upsertCalls: 20 });
  });
});
