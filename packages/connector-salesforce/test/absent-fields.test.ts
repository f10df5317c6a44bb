/**
 * Absent is not null, on both write paths: a field a record does not carry is left as it is in
 * Salesforce (update) or never set (insert), `null` clears it, and one batch may mix field sets.
 * sObject Collections send each record's own JSON; Bulk API 2.0 has one CSV header for the whole
 * job, where an empty cell means "leave unchanged" and `#N/A` means null, so one job carries both.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FieldValues, WriteOutcome } from '@crm-sync/sdk';
import { contactValues, startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const ids = (outcomes: readonly WriteOutcome[]) =>
  outcomes.map((outcome) => {
    if (!outcome.ok) throw new Error(outcome.reject.message);
    return outcome.id;
  });

const stored = (id: string): FieldValues => harness!.emulator.crm.get('Contact', id)!.values;

function seed(n: number): string {
  const outcome = harness!.emulator.crm.insert('Contact', { ...contactValues(n), Phone: `+31 20 000 ${n}`, Birthdate: '1980-01-02' });
  if (!outcome.ok) throw new Error(outcome.reject.message);
  return outcome.id;
}

for (const path of [
  { name: 'sObject Collections', bulkThreshold: 2000, route: 'collections', other: 'bulk-ingest' },
  { name: 'Bulk API 2.0 (one CSV header, empty cell = unchanged, #N/A = null)', bulkThreshold: 1, route: 'bulk-ingest', other: 'collections' },
]) {
  describe(`absent fields through ${path.name}`, () => {
    const routes = () => harness!.emulator.requestLog.map((entry) => entry.route);

    it('update: an absent field keeps its value, null clears it, in one batch of mixed field sets', async () => {
      harness = await startHarness({}, { bulkThreshold: path.bulkThreshold });
      const [a, b, c] = [seed(1), seed(2), seed(3)];
      const outcomes = (
        await harness.connector.upsertBatch({
          object: 'Contact',
          mode: 'update',
          records: [
            { id: a!, values: { FirstName: 'Only first' } },
            { id: b!, values: { Phone: null, Birthdate: null } },
            { id: c!, values: { FirstName: 'Both', Phone: '+31 20 999 0000' } },
          ],
        })
      )._unsafeUnwrap();
      expect(ids(outcomes)).toEqual([a, b, c]);
      expect(stored(a!)).toMatchObject({ FirstName: 'Only first', LastName: 'Last1', Email: 'c1@example.com', Phone: '+31 20 000 1', Birthdate: '1980-01-02' });
      expect(stored(b!)).toMatchObject({ FirstName: 'First2', LastName: 'Last2', Phone: null, Birthdate: null });
      expect(stored(c!)).toMatchObject({ FirstName: 'Both', Email: 'c3@example.com', Phone: '+31 20 999 0000', Birthdate: '1980-01-02' });
      expect(routes()).toContain(path.route);
      expect(routes()).not.toContain(path.other);
    });

    it('insert: an absent field is never set, null is stored as null, in one batch of mixed field sets', async () => {
      harness = await startHarness({}, { bulkThreshold: path.bulkThreshold });
      const outcomes = (
        await harness.connector.upsertBatch({
          object: 'Contact',
          mode: 'insert',
          records: [{ values: { LastName: 'Plain' } }, { values: { LastName: 'Nulls', Phone: null, Email: null } }, { values: { LastName: 'Full', Phone: '1', Email: 'f@example.com' } }],
        })
      )._unsafeUnwrap();
      const [plain, nulls, full] = ids(outcomes);
      expect(stored(plain!).Phone ?? null).toBeNull();
      expect(stored(plain!)).not.toHaveProperty('Email');
      expect(stored(nulls!)).toMatchObject({ LastName: 'Nulls', Phone: null, Email: null });
      expect(stored(full!)).toMatchObject({ LastName: 'Full', Phone: '1', Email: 'f@example.com' });
      expect(routes()).toContain(path.route);
    });

    it('upsert by external id: an existing record keeps the fields a record leaves out', async () => {
      harness = await startHarness({}, { bulkThreshold: path.bulkThreshold });
      const a = seed(1);
      const outcomes = (
        await harness.connector.upsertBatch({
          object: 'Contact',
          mode: 'upsert',
          externalIdField: 'Sync_Key__c',
          records: [{ values: { Sync_Key__c: 'key-1', FirstName: 'Upserted' } }, { values: { Sync_Key__c: 'key-new', LastName: 'New', Phone: null } }],
        })
      )._unsafeUnwrap();
      expect(outcomes.map((outcome) => outcome.ok && outcome.action)).toEqual(['updated', 'created']);
      expect(stored(a)).toMatchObject({ FirstName: 'Upserted', LastName: 'Last1', Phone: '+31 20 000 1', Birthdate: '1980-01-02' });
      expect(stored(ids(outcomes)[1]!)).toMatchObject({ LastName: 'New', Phone: null });
    });
  });
}

describe('Bulk API 2.0: an empty text the application supplied', () => {
  it('is sent as #N/A (cleared, as Salesforce stores an empty text), never as an empty cell that would leave the old value', async () => {
    harness = await startHarness({}, { bulkThreshold: 1 });
    const a = seed(1);
    const outcomes = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'update', records: [{ id: a, values: { Phone: '', FirstName: 'Kept?' } }] }))._unsafeUnwrap();
    expect(ids(outcomes)).toEqual([a]);
    expect(stored(a)).toMatchObject({ FirstName: 'Kept?', Phone: null });
  });
});
