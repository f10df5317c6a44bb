/**
 * Absent is not null in the mock CRM, as in the real ones: a field a record does not carry is left
 * as it is (update, upsert) or never set (insert), `null` clears it, and one batch may mix field sets.
 */
import { describe, expect, it } from 'vitest';
import type { WriteOutcome } from '@crm-sync/sdk';
import { InMemoryCrm, ManualClock, MockConnector } from '../src/index.js';

function setup() {
  const crm = new InMemoryCrm({ clock: new ManualClock('2024-06-01T00:00:00.000Z') });
  const seed = (n: number) => {
    const outcome = crm.insert('contact', { lastName: `Last ${n}`, firstName: `First ${n}`, email: `c${n}@example.test`, phone: `+31 20 000 ${n}`, externalKey: `key-${n}` });
    if (!outcome.ok) throw new Error(outcome.reject.message);
    return outcome.id;
  };
  return { crm, seed, connector: new MockConnector(crm) };
}

const ids = (outcomes: readonly WriteOutcome[]) => outcomes.map((outcome) => (outcome.ok ? outcome.id : `rejected: ${outcome.reject.message}`));

describe('MockConnector: absent fields are not null', () => {
  it('update: an absent field keeps its value, null clears it, in one batch of mixed field sets', async () => {
    const { crm, seed, connector } = setup();
    const [a, b] = [seed(1), seed(2)];
    const outcomes = (await connector.upsertBatch({ object: 'contact', mode: 'update', records: [{ id: a, values: { firstName: 'Only first' } }, { id: b, values: { phone: null } }] }))._unsafeUnwrap();
    expect(ids(outcomes)).toEqual([a, b]);
    expect(crm.get('contact', a)?.values).toMatchObject({ firstName: 'Only first', lastName: 'Last 1', email: 'c1@example.test', phone: '+31 20 000 1' });
    expect(crm.get('contact', b)?.values).toMatchObject({ firstName: 'First 2', email: 'c2@example.test', phone: null });
  });

  it('insert: an absent field is never set, null is stored as null', async () => {
    const { crm, connector } = setup();
    const outcomes = (await connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ values: { lastName: 'Plain' } }, { values: { lastName: 'Nulls', phone: null } }] }))._unsafeUnwrap();
    const [plain, nulls] = ids(outcomes);
    expect(crm.get('contact', plain!)?.values).not.toHaveProperty('phone');
    expect(crm.get('contact', nulls!)?.values).toMatchObject({ lastName: 'Nulls', phone: null });
  });

  it('upsert: an existing record keeps the fields a record leaves out', async () => {
    const { crm, seed, connector } = setup();
    const a = seed(1);
    const outcomes = (
      await connector.upsertBatch({ object: 'contact', mode: 'upsert', externalIdField: 'externalKey', records: [{ values: { externalKey: 'key-1', firstName: 'Upserted' } }, { values: { externalKey: 'key-2', lastName: 'New', phone: null } }] })
    )._unsafeUnwrap();
    expect(outcomes.map((outcome) => outcome.ok && outcome.action)).toEqual(['updated', 'created']);
    expect(crm.get('contact', a)?.values).toMatchObject({ firstName: 'Upserted', lastName: 'Last 1', phone: '+31 20 000 1' });
  });
});
