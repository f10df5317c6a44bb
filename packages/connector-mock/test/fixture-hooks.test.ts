import { describe, expect, it } from 'vitest';
import { InMemoryCrm, inMemoryCrmFixtureHooks, ManualClock } from '../src/index.js';

function setup() {
  const clock = new ManualClock('2024-06-01T00:00:00.000Z');
  const crm = new InMemoryCrm({ clock });
  const hooks = inMemoryCrmFixtureHooks(crm, clock, 'contact', (i) => ({ lastName: `Last ${i}`, externalKey: `ext-${i}` }));
  return { clock, crm, hooks };
}

describe('inMemoryCrmFixtureHooks', () => {
  it('seed inserts n records from newRecord, stamped at changedAt, and returns their ids in order', async () => {
    const { crm, hooks } = setup();
    const ids = await hooks.seed(3, { changedAt: '2024-05-01T00:00:00.000Z' });
    expect(ids).toHaveLength(3);
    expect(ids.map((id) => crm.get('contact', id)?.values['lastName'])).toEqual(['Last 0', 'Last 1', 'Last 2']);
    expect(ids.map((id) => crm.get('contact', id)?.changedAt)).toEqual(Array(3).fill('2024-05-01T00:00:00.000Z'));
  });

  it('seed uses the values option instead of newRecord when given', async () => {
    const { crm, hooks } = setup();
    const [id] = await hooks.seed(1, { values: () => ({ lastName: 'Given' }) });
    expect(crm.get('contact', id ?? '')?.values['lastName']).toBe('Given');
  });

  it('seed throws with the object, the record number and the reject when a record is invalid', async () => {
    const { hooks } = setup();
    await expect(hooks.seed(1, { values: () => ({ firstName: 'No last name' }) })).rejects.toThrow(/\[connector-mock\] seeding contact record 0 was rejected: .*lastName/);
  });

  it('deleteDirect deletes in the engine at the given instant and setTime moves the clock', async () => {
    const { clock, crm, hooks } = setup();
    const [id] = await hooks.seed(1);
    await hooks.deleteDirect(id ?? '', '2024-06-01T00:00:00.000Z');
    expect(crm.get('contact', id ?? '')).toBeUndefined();
    await hooks.setTime('2024-07-01T00:00:00.000Z');
    expect(clock.now().toISOString()).toBe('2024-07-01T00:00:00.000Z');
  });
});
