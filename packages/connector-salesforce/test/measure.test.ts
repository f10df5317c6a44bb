import { afterEach, describe, expect, it } from 'vitest';
import { contactValues, startHarness, type Harness } from './harness.js';

// Request counts for the note: importing and exporting 10,000 records. The emulator counts
// REST calls like Salesforce's API allocation does (token requests are not API calls).
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const RECORDS = 10_000;

describe('API calls per record', () => {
  it('imports 10,000 records in 6 API calls (describe + 5 pages of 2,000)', async () => {
    harness = await startHarness();
    for (let i = 0; i < RECORDS; i += 1) harness.emulator.crm.insert('Contact', contactValues(i));
    let cursor: string | undefined;
    let read = 0;
    do {
      const page = (await harness.connector.query({ object: 'Contact', fields: ['FirstName', 'LastName', 'Email', 'LastModifiedDate'], pageSize: 2000 }, cursor))._unsafeUnwrap();
      read += page.records.length;
      cursor = page.nextCursor;
    } while (cursor);
    expect(read).toBe(RECORDS);
    expect(harness.emulator.apiCalls).toBe(6);
  });

  it('exports 10,000 records through sObject Collections in 51 API calls (describe + 50 calls of 200)', async () => {
    harness = await startHarness({}, { bulkThreshold: 1_000_000 });
    const records = Array.from({ length: RECORDS }, (_, i) => ({ values: contactValues(i) }));
    const outcomes = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'upsert', externalIdField: 'Sync_Key__c', records }))._unsafeUnwrap();
    expect(outcomes.filter((o) => o.ok)).toHaveLength(RECORDS);
    expect(harness.emulator.apiCalls).toBe(51);
  });

  it('exports 10,000 records through one Bulk API 2.0 job in 8 API calls (describe + 7 job calls)', async () => {
    harness = await startHarness();
    const records = Array.from({ length: RECORDS }, (_, i) => ({ values: contactValues(i) }));
    const outcomes = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'upsert', externalIdField: 'Sync_Key__c', records }))._unsafeUnwrap();
    expect(outcomes.filter((o) => o.ok)).toHaveLength(RECORDS);
    expect(harness.emulator.apiCalls).toBe(8);
  });
});
