import { afterEach, describe, expect, it } from 'vitest';
import { contactValues, startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const bulkCalls = (h: Harness) => h.emulator.requestLog.filter((e) => e.route === 'bulk-ingest');

describe('Bulk API 2.0 ingest above the threshold', () => {
  it('inserts through one ingest job and matches results to input records by row, not by order', async () => {
    harness = await startHarness({}, { bulkThreshold: 50 });
    const records = Array.from({ length: 120 }, (_, i) => ({ values: i % 10 === 3 ? { FirstName: `NoLast${i}`, Sync_Key__c: `key-${i}` } : contactValues(i) }));
    const outcomes = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'insert', records }))._unsafeUnwrap();
    expect(outcomes).toHaveLength(120);
    outcomes.forEach((outcome, i) => {
      if (i % 10 === 3) expect(outcome).toMatchObject({ ok: false, reject: { code: 'required-field-missing', symbol: 'REQUIRED_FIELD_MISSING' } });
      else {
        expect(outcome.ok).toBe(true);
        // The emulator writes results in reverse order: only matching by content finds the right id.
        expect(harness!.emulator.crm.get('Contact', outcome.ok ? outcome.id : '')?.values.Sync_Key__c).toBe(`key-${i}`);
      }
    });
    expect(harness.emulator.requestLog.filter((e) => e.route === 'collections')).toHaveLength(0);
    expect(bulkCalls(harness).map((e) => `${e.method} ${e.path.replace(/\/v\d+\.\d\/jobs\/ingest\/?[A-Za-z0-9]*/, '/jobs')}`)).toEqual([
      'POST /services/data/jobs',
      'PUT /services/data/jobs/batches',
      'PATCH /services/data/jobs',
      'GET /services/data/jobs',
      'GET /services/data/jobs/successfulResults',
      'GET /services/data/jobs/failedResults',
      'GET /services/data/jobs/unprocessedrecords',
    ]);
  });

  it('upserts by sync key and reports created then updated, matched by key', async () => {
    harness = await startHarness({}, { bulkThreshold: 10 });
    const records = Array.from({ length: 30 }, (_, i) => ({ values: contactValues(i) }));
    const first = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'upsert', externalIdField: 'Sync_Key__c', records }))._unsafeUnwrap();
    const second = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'upsert', externalIdField: 'Sync_Key__c', records }))._unsafeUnwrap();
    expect(first.every((o) => o.ok && o.action === 'created')).toBe(true);
    second.forEach((o, i) => expect(o).toEqual({ ok: true, id: (first[i] as { id: string }).id, action: 'updated' }));
    expect(harness.emulator.crm.count('Contact')).toBe(30);
  });

  it('updates by Id, keeps nulls as #N/A, and rejects a deleted and a never-existing record by their ids', async () => {
    harness = await startHarness({}, { bulkThreshold: 2 });
    const ids = [0, 1, 2].map((n) => {
      const outcome = harness!.emulator.crm.insert('Contact', contactValues(n));
      return outcome.ok ? outcome.id : '';
    });
    harness.emulator.crm.delete('Contact', ids[2]!);
    const outcomes = (
      await harness.connector.upsertBatch({
        object: 'Contact',
        mode: 'update',
        records: [
          { id: ids[0], values: { FirstName: 'Ann, "the first"' } },
          { id: ids[1], values: { FirstName: null } },
          { id: ids[2], values: { FirstName: 'gone' } },
          { id: '003000000000001AAA', values: { FirstName: 'never' } },
        ],
      })
    )._unsafeUnwrap();
    // Salesforce answers the never-existing id with INVALID_CROSS_REFERENCE_KEY; for an update that is not-found.
    expect(outcomes.map((o) => (o.ok ? o.action : o.reject.code))).toEqual(['updated', 'updated', 'deleted-in-crm', 'not-found']);
    expect(harness.emulator.crm.get('Contact', ids[0]!)?.values.FirstName).toBe('Ann, "the first"');
    expect(harness.emulator.crm.get('Contact', ids[1]!)?.values.FirstName).toBeNull();
  });

  it('reports a failure after the job was closed as in doubt, since Salesforce may have written the records', async () => {
    harness = await startHarness({}, { bulkThreshold: 2 });
    await harness.connector.describe('Contact');
    harness.emulator.faults.add({ kind: 'unavailable', route: 'bulk-ingest', method: 'GET' });
    const records = [0, 1, 2].map((n) => ({ values: contactValues(n) }));
    const error = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'insert', records }))._unsafeUnwrapErr();
    expect([error.kind, error.inDoubt]).toEqual(['transient', true]);
    expect(harness.emulator.crm.count('Contact')).toBe(3);
  });
});
