import { describe, expect, it } from 'vitest';
import { InMemoryCrm, ManualClock, mockField, type MockObjectSchema } from '../src/index.js';

function rejectOf(outcome: ReturnType<InMemoryCrm['insert']>) {
  if (outcome.ok) throw new Error(`expected a reject, got ok ${outcome.id}`);
  return outcome.reject;
}

const contact = { lastName: 'Doe', externalKey: 'k-1' };

describe('InMemoryCrm write rules', () => {
  it('creates a record with system fields stamped from the clock', () => {
    const crm = new InMemoryCrm({ clock: new ManualClock('2024-05-01T10:00:00.000Z') });
    const outcome = crm.insert('contact', contact);
    expect(outcome).toEqual({ ok: true, id: 'CON-000001', action: 'created' });
    const stored = crm.get('contact', 'CON-000001');
    expect(stored?.values).toMatchObject({ id: 'CON-000001', lastName: 'Doe', createdAt: '2024-05-01T10:00:00.000Z', updatedAt: '2024-05-01T10:00:00.000Z', doNotCall: false });
    expect(stored?.changedAt).toBe('2024-05-01T10:00:00.000Z');
  });

  it('rejects a missing required field with REQUIRED_FIELD_MISSING naming the field', () => {
    const reject = rejectOf(new InMemoryCrm().insert('contact', { firstName: 'Ann' }));
    expect(reject).toMatchObject({ code: 'required-field-missing', symbol: 'REQUIRED_FIELD_MISSING', fields: ['lastName'], retryable: false });
  });

  it('rejects nulling a non-nullable field on update with REQUIRED_FIELD_MISSING', () => {
    const crm = new InMemoryCrm();
    crm.insert('contact', contact);
    expect(rejectOf(crm.update('contact', 'CON-000001', { lastName: null }))).toMatchObject({ symbol: 'REQUIRED_FIELD_MISSING', fields: ['lastName'] });
  });

  it('rejects a failed validation rule with FIELD_CUSTOM_VALIDATION_EXCEPTION', () => {
    const reject = rejectOf(new InMemoryCrm().insert('contact', { lastName: 'Doe', email: 'not-an-address' }));
    expect(reject).toMatchObject({ code: 'validation', symbol: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', fields: ['email'] });
  });

  it('uses a rule\'s own symbol when it declares one', () => {
    const schema: MockObjectSchema = {
      name: 'ticket',
      primaryKey: 'id',
      idFormat: 'mock',
      changeField: 'updatedAt',
      fields: [mockField('id', 'id', { primaryKey: true, createable: false, updateable: false }), mockField('updatedAt', 'datetime', { createable: false, updateable: false }), mockField('priority', 'integer')],
      rules: [{ name: 'low', message: 'priority too high', symbol: 'PRIORITY_TOO_HIGH', fields: ['priority'], valid: (values) => (values.priority as number) < 5 }],
    };
    const crm = new InMemoryCrm({ schemas: [schema] });
    expect(rejectOf(crm.insert('ticket', { priority: 9 }))).toMatchObject({ code: 'validation', symbol: 'PRIORITY_TOO_HIGH' });
    expect(crm.insert('ticket', { priority: 1 })).toEqual({ ok: true, id: 'TIC-000001', action: 'created' });
  });

  it('rejects a repeated external id with DUPLICATE_VALUE, on insert and on update', () => {
    const crm = new InMemoryCrm();
    crm.insert('contact', contact);
    crm.insert('contact', { lastName: 'Roe', externalKey: 'k-2' });
    expect(rejectOf(crm.insert('contact', { lastName: 'Poe', externalKey: 'k-1' }))).toMatchObject({ code: 'duplicate', symbol: 'DUPLICATE_VALUE', fields: ['externalKey'] });
    expect(rejectOf(crm.update('contact', 'CON-000002', { externalKey: 'k-1' }))).toMatchObject({ code: 'duplicate', symbol: 'DUPLICATE_VALUE' });
    expect(crm.count('contact')).toBe(2);
  });

  it('rejects an unknown field with INVALID_FIELD', () => {
    expect(rejectOf(new InMemoryCrm().insert('contact', { lastName: 'Doe', shoeSize: 44 }))).toMatchObject({ code: 'invalid-field', symbol: 'INVALID_FIELD', fields: ['shoeSize'] });
  });

  it('rejects writing a system field with INVALID_FIELD_FOR_INSERT_UPDATE', () => {
    const crm = new InMemoryCrm();
    expect(rejectOf(crm.insert('contact', { lastName: 'Doe', updatedAt: '2024-01-01T00:00:00.000Z' }))).toMatchObject({ code: 'invalid-field', symbol: 'INVALID_FIELD_FOR_INSERT_UPDATE', fields: ['updatedAt'] });
    crm.insert('contact', contact);
    expect(rejectOf(crm.update('contact', 'CON-000001', { createdAt: '2024-01-01T00:00:00.000Z' }))).toMatchObject({ symbol: 'INVALID_FIELD_FOR_INSERT_UPDATE' });
  });

  it.each([
    ['score', 'high'],
    ['doNotCall', 'yes'],
    ['birthDate', '2024-02-30'],
    ['birthDate', '2024-02-03T00:00:00.000Z'],
    ['lastActivityAt', '2024-02-03'],
    ['lastActivityAt', '2024-02-03T10:00:00+02:00'],
  ])('rejects %s = %j with INVALID_TYPE_ON_FIELD_IN_RECORD', (field, value) => {
    const reject = rejectOf(new InMemoryCrm().insert('contact', { lastName: 'Doe', [field]: value }));
    expect(reject).toMatchObject({ code: 'invalid-value', symbol: 'INVALID_TYPE_ON_FIELD_IN_RECORD', fields: [field] });
  });

  it('accepts values of every type in canonical form', () => {
    const outcome = new InMemoryCrm().insert('contact', {
      lastName: 'Doe',
      birthDate: '1990-12-31',
      lastActivityAt: '2024-02-03T10:00:00.000Z',
      score: 4.5,
      doNotCall: true,
      status: 'Active',
      email: 'doe@example.test',
    });
    expect(outcome.ok).toBe(true);
  });

  it('rejects text longer than the field with STRING_TOO_LONG', () => {
    expect(rejectOf(new InMemoryCrm().insert('contact', { lastName: 'x'.repeat(81) }))).toMatchObject({ code: 'invalid-value', symbol: 'STRING_TOO_LONG', fields: ['lastName'] });
  });

  it('rejects a value outside the picklist with INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', () => {
    expect(rejectOf(new InMemoryCrm().insert('contact', { lastName: 'Doe', status: 'Dormant' }))).toMatchObject({ code: 'invalid-value', symbol: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', fields: ['status'] });
  });

  it('rejects an update of a missing record with NOT_FOUND and never creates it', () => {
    const crm = new InMemoryCrm();
    expect(rejectOf(crm.update('contact', 'CON-999999', { lastName: 'X' }))).toMatchObject({ code: 'not-found', symbol: 'NOT_FOUND' });
    expect(crm.count('contact')).toBe(0);
  });

  it('rejects an update of a recycle-binned record with ENTITY_IS_DELETED', () => {
    const crm = new InMemoryCrm();
    crm.insert('contact', contact);
    crm.delete('contact', 'CON-000001');
    expect(rejectOf(crm.update('contact', 'CON-000001', { lastName: 'X' }))).toMatchObject({ code: 'deleted-in-crm', symbol: 'ENTITY_IS_DELETED' });
  });

  it('stamps the change time even when an update changes nothing', () => {
    const clock = new ManualClock('2024-05-01T10:00:00.000Z');
    const crm = new InMemoryCrm({ clock });
    crm.insert('contact', contact);
    clock.advance(60_000);
    expect(crm.update('contact', 'CON-000001', { lastName: 'Doe' })).toEqual({ ok: true, id: 'CON-000001', action: 'updated' });
    expect(crm.get('contact', 'CON-000001')?.changedAt).toBe('2024-05-01T10:01:00.000Z');
    expect(crm.get('contact', 'CON-000001')?.createdAt).toBe('2024-05-01T10:00:00.000Z');
  });

  it('upserts by external id: creates the first time, updates the same record after', () => {
    const crm = new InMemoryCrm();
    expect(crm.upsert('contact', 'externalKey', { externalKey: 'k-9', lastName: 'First' })).toEqual({ ok: true, id: 'CON-000001', action: 'created' });
    expect(crm.upsert('contact', 'externalKey', { externalKey: 'k-9', lastName: 'Second' })).toEqual({ ok: true, id: 'CON-000001', action: 'updated' });
    expect(crm.findBy('contact', 'externalKey', 'k-9').map((record) => record.values.lastName)).toEqual(['Second']);
  });

  it('refuses to upsert by a field that is not an external id', () => {
    expect(rejectOf(new InMemoryCrm().upsert('contact', 'lastName', { lastName: 'Doe' }))).toMatchObject({ code: 'invalid-field', symbol: 'INVALID_FIELD' });
  });

  it('honours a forced id and change time, and refuses a forced id that exists', () => {
    const crm = new InMemoryCrm();
    expect(crm.insert('contact', contact, { id: 'CON-777777', at: '2023-01-01T00:00:00.000Z' })).toMatchObject({ ok: true, id: 'CON-777777' });
    expect(crm.get('contact', 'CON-777777')?.changedAt).toBe('2023-01-01T00:00:00.000Z');
    expect(rejectOf(crm.insert('contact', { lastName: 'Roe' }, { id: 'CON-777777' }))).toMatchObject({ code: 'duplicate', symbol: 'DUPLICATE_VALUE' });
  });

  it('reports an unknown object as a not-found reject', () => {
    expect(rejectOf(new InMemoryCrm().insert('spaceship', {}))).toMatchObject({ code: 'not-found', symbol: 'INVALID_TYPE' });
  });

  it('refuses a schema whose change field is not among its fields', () => {
    expect(() => new InMemoryCrm({ schemas: [{ name: 'x', primaryKey: 'id', idFormat: 'mock', changeField: 'modified', fields: [mockField('id', 'id')] }] })).toThrow(/modified.*add them/);
  });

  it('keeps records in insertion order and shares the array between calls', () => {
    const crm = new InMemoryCrm();
    for (let index = 0; index < 5; index++) crm.insert('account', { name: `A${index}` });
    const first = crm.records('account');
    expect(first.map((record) => record.values.name)).toEqual(['A0', 'A1', 'A2', 'A3', 'A4']);
    expect(crm.records('account')).toBe(first);
  });

  it('reset drops records, restarts ids and zeroes counters but keeps schemas', () => {
    const crm = new InMemoryCrm();
    crm.insert('account', { name: 'A' });
    crm.countCall('query');
    crm.reset();
    expect(crm.count('account')).toBe(0);
    expect(crm.stats).toEqual({ calls: 0, byOperation: {} });
    expect(crm.insert('account', { name: 'B' })).toMatchObject({ id: 'ACC-000001' });
  });
});
