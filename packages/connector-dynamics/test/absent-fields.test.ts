/**
 * Absent is not null on every Dataverse write path: a column a record does not carry is left as
 * it is (update, upsert) or never set (insert), `null` clears it, and one batch may mix column
 * sets. `$batch` sends one request per record; CreateMultiple and UpsertMultiple one target per
 * record, each with its own columns (updates always go through `$batch`: the connector does not
 * use UpdateMultiple).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FieldValues, WriteOutcome } from '@crm-sync/sdk';
import { startHarness, type DynamicsHarness } from './support/harness.js';

let harness: DynamicsHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const ids = (outcomes: readonly WriteOutcome[]) =>
  outcomes.map((outcome) => {
    if (!outcome.ok) throw new Error(outcome.reject.message);
    return outcome.id;
  });

const stored = (id: string): FieldValues => harness!.crm.get('contact', id)!.values;

function seed(n: number): string {
  const outcome = harness!.crm.insert('contact', { lastname: `Last ${n}`, firstname: `First ${n}`, emailaddress1: `c${n}@example.test`, birthdate: '1980-01-02', crm_synckey: `key-${n}` });
  if (!outcome.ok) throw new Error(outcome.reject.message);
  return outcome.id;
}

const paths = (h: DynamicsHarness) => h.emulator.requestLog.map((entry) => entry.path.split('/').pop()!.replace(/^.*\.([A-Za-z]+Multiple)$/, '$1'));

for (const variant of [
  { name: '$batch', bulkMessages: false, insertPath: '$batch', upsertPath: '$batch' },
  { name: 'the bulk messages (CreateMultiple, UpsertMultiple)', bulkMessages: true, insertPath: 'CreateMultiple', upsertPath: 'UpsertMultiple' },
]) {
  describe(`absent columns through ${variant.name}`, () => {
    it('update: an absent column keeps its value, null clears it, in one batch of mixed column sets', async () => {
      harness = await startHarness({ bulkMessages: variant.bulkMessages });
      const [a, b, c] = [seed(1), seed(2), seed(3)];
      const outcomes = (
        await harness.connector.upsertBatch({
          object: 'contact',
          mode: 'update',
          records: [
            { id: a!, values: { firstname: 'Only first' } },
            { id: b!, values: { emailaddress1: null, birthdate: null } },
            { id: c!, values: { firstname: 'Both', emailaddress1: 'both@example.test' } },
          ],
        })
      )._unsafeUnwrap();
      expect(ids(outcomes)).toEqual([a, b, c]);
      expect(stored(a!)).toMatchObject({ firstname: 'Only first', lastname: 'Last 1', emailaddress1: 'c1@example.test', birthdate: '1980-01-02' });
      expect(stored(b!)).toMatchObject({ firstname: 'First 2', emailaddress1: null, birthdate: null });
      expect(stored(c!)).toMatchObject({ firstname: 'Both', emailaddress1: 'both@example.test', birthdate: '1980-01-02' });
      expect(paths(harness)).toContain('$batch');
    });

    it('insert: an absent column is never set, null is stored as null, in one batch of mixed column sets', async () => {
      harness = await startHarness({ bulkMessages: variant.bulkMessages });
      const outcomes = (
        await harness.connector.upsertBatch({
          object: 'contact',
          mode: 'insert',
          records: [{ values: { lastname: 'Plain' } }, { values: { lastname: 'Nulls', emailaddress1: null, birthdate: null } }, { values: { lastname: 'Full', emailaddress1: 'f@example.test' } }],
        })
      )._unsafeUnwrap();
      const [plain, nulls, full] = ids(outcomes);
      expect(stored(plain!)).not.toHaveProperty('emailaddress1');
      expect(stored(plain!)).not.toHaveProperty('birthdate');
      expect(stored(nulls!)).toMatchObject({ lastname: 'Nulls', emailaddress1: null, birthdate: null });
      expect(stored(full!)).toMatchObject({ lastname: 'Full', emailaddress1: 'f@example.test' });
      expect(paths(harness)).toContain(variant.insertPath);
    });

    it('upsert by alternate key: an existing record keeps the columns a record leaves out', async () => {
      harness = await startHarness({ bulkMessages: variant.bulkMessages });
      const a = seed(1);
      const outcomes = (
        await harness.connector.upsertBatch({
          object: 'contact',
          mode: 'upsert',
          externalIdField: 'crm_synckey',
          records: [{ values: { crm_synckey: 'key-1', firstname: 'Upserted' } }, { values: { crm_synckey: 'key-new', lastname: 'New', emailaddress1: null } }],
        })
      )._unsafeUnwrap();
      expect(outcomes.map((outcome) => outcome.ok && outcome.action)).toEqual(['updated', 'created']);
      expect(stored(a)).toMatchObject({ firstname: 'Upserted', lastname: 'Last 1', emailaddress1: 'c1@example.test', birthdate: '1980-01-02' });
      expect(stored(ids(outcomes)[1]!)).toMatchObject({ lastname: 'New', emailaddress1: null });
      expect(paths(harness)).toContain(variant.upsertPath);
    });
  });
}
