import { describe, expect, it } from 'vitest';
import { InMemoryCrm, ManualClock } from '../src/index.js';

const DAY = 86_400_000;

function crmWithContacts(count: number) {
  const clock = new ManualClock('2024-06-01T00:00:00.000Z');
  const crm = new InMemoryCrm({ clock });
  for (let index = 0; index < count; index++) crm.insert('contact', { lastName: `L${index}`, externalKey: `k-${index}` });
  return { clock, crm };
}

describe('InMemoryCrm recycle bin', () => {
  it('keeps a deleted record with its deletion time and hides it from reads', () => {
    const { clock, crm } = crmWithContacts(2);
    clock.advance(1000);
    expect(crm.delete('contact', 'CON-000001')).toEqual({ ok: true, id: 'CON-000001', action: 'deleted' });
    expect(crm.get('contact', 'CON-000001')).toBeUndefined();
    expect(crm.count('contact')).toBe(1);
    expect(crm.records('contact').map((record) => record.id)).toEqual(['CON-000002']);
    expect(crm.records('contact', { includeDeleted: true }).find((record) => record.id === 'CON-000001')?.deletedAt).toBe('2024-06-01T00:00:01.000Z');
  });

  it('answers ok deleted for an already deleted record and not-found for one that never existed', () => {
    const { crm } = crmWithContacts(1);
    crm.delete('contact', 'CON-000001');
    expect(crm.delete('contact', 'CON-000001')).toEqual({ ok: true, id: 'CON-000001', action: 'deleted' });
    expect(crm.delete('contact', 'CON-424242')).toMatchObject({ ok: false, reject: { code: 'not-found', symbol: 'NOT_FOUND' } });
  });

  it('lists deletions in an inclusive window ordered by deletion time then id', () => {
    const { clock, crm } = crmWithContacts(4);
    clock.advance(DAY);
    crm.delete('contact', 'CON-000003');
    crm.delete('contact', 'CON-000001');
    clock.advance(DAY);
    crm.delete('contact', 'CON-000002');
    const start = '2024-06-02T00:00:00.000Z';
    const end = '2024-06-03T00:00:00.000Z';
    expect(crm.deletedBetween('contact', start, end)).toEqual([
      { id: 'CON-000001', deletedAt: start },
      { id: 'CON-000003', deletedAt: start },
      { id: 'CON-000002', deletedAt: end },
    ]);
    expect(crm.deletedBetween('contact', '2024-06-02T00:00:00.001Z', end).map((record) => record.id)).toEqual(['CON-000002']);
  });

  it('purges deleted records once they are older than the retention', () => {
    const { clock, crm } = crmWithContacts(2);
    crm.delete('contact', 'CON-000001');
    clock.advance(15 * DAY);
    expect(crm.deletedBetween('contact', crm.earliestDeletedAvailable('contact'), '2024-07-01T00:00:00.000Z')).toHaveLength(1);
    clock.advance(1);
    expect(crm.earliestDeletedAvailable('contact')).toBe('2024-06-01T00:00:00.001Z');
    expect(crm.deletedBetween('contact', '2024-01-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z')).toEqual([]);
    expect(crm.records('contact', { includeDeleted: true }).map((record) => record.id)).toEqual(['CON-000002']);
    expect(crm.update('contact', 'CON-000001', { lastName: 'X' })).toMatchObject({ ok: false, reject: { code: 'not-found' } });
  });

  it('purges by the oldest remaining deletion after the oldest one was undeleted', () => {
    const { clock, crm } = crmWithContacts(3);
    crm.delete('contact', 'CON-000001');
    clock.advance(DAY);
    crm.delete('contact', 'CON-000002');
    crm.delete('contact', 'CON-000003', { at: '2024-06-01T12:00:00.000Z' });
    crm.undelete('contact', 'CON-000001');
    clock.advance(15 * DAY - DAY / 2 + 1);
    expect(crm.records('contact', { includeDeleted: true }).map((record) => record.id)).toEqual(['CON-000001', 'CON-000002']);
    clock.advance(DAY);
    expect(crm.records('contact', { includeDeleted: true }).map((record) => record.id)).toEqual(['CON-000001']);
  });

  it('frees the external id of a deleted record and refuses to undelete into a duplicate', () => {
    const { crm } = crmWithContacts(1);
    crm.delete('contact', 'CON-000001');
    expect(crm.insert('contact', { lastName: 'New', externalKey: 'k-0' })).toMatchObject({ ok: true, id: 'CON-000002' });
    expect(crm.undelete('contact', 'CON-000001')).toMatchObject({ ok: false, reject: { code: 'duplicate', symbol: 'DUPLICATE_VALUE' } });
  });

  it('undeletes a record and stamps its change time so incremental reads see it', () => {
    const { clock, crm } = crmWithContacts(1);
    crm.delete('contact', 'CON-000001');
    clock.advance(5000);
    expect(crm.undelete('contact', 'CON-000001')).toEqual({ ok: true, id: 'CON-000001', action: 'updated' });
    expect(crm.get('contact', 'CON-000001')?.changedAt).toBe('2024-06-01T00:00:05.000Z');
    expect(crm.deletedBetween('contact', '2024-06-01T00:00:00.000Z', '2024-06-02T00:00:00.000Z')).toEqual([]);
  });

  it('stampChange moves a record back in time, as a late-committing transaction does', () => {
    const { crm } = crmWithContacts(1);
    crm.stampChange('contact', 'CON-000001', '2024-05-31T23:59:00.000Z');
    const record = crm.get('contact', 'CON-000001');
    expect(record?.changedAt).toBe('2024-05-31T23:59:00.000Z');
    expect(record?.values.updatedAt).toBe('2024-05-31T23:59:00.000Z');
    expect(() => crm.stampChange('contact', 'CON-999999', '2024-05-31T23:59:00.000Z')).toThrow(/no record CON-999999/);
  });
});
