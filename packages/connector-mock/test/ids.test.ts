import { describe, expect, it } from 'vitest';
import { ID_PATTERNS, InMemoryCrm, isValidSalesforceId, mockField, salesforceIdChecksum, type MockIdFormat, type MockObjectSchema } from '../src/index.js';

function schemaWith(idFormat: MockIdFormat, idPrefix?: string): MockObjectSchema {
  return {
    name: 'Contact',
    primaryKey: 'Id',
    idFormat,
    ...(idPrefix === undefined ? {} : { idPrefix }),
    changeField: 'LastModifiedDate',
    extraChangeFields: ['SystemModstamp'],
    createdField: 'CreatedDate',
    fields: ['Id', 'LastModifiedDate', 'SystemModstamp', 'CreatedDate'].map((name) => mockField(name, name === 'Id' ? 'id' : 'datetime', { createable: false, updateable: false })).concat(mockField('LastName', 'string')),
  };
}

function mint(idFormat: MockIdFormat, count: number, seed = 1, idPrefix?: string): string[] {
  const crm = new InMemoryCrm({ schemas: [schemaWith(idFormat, idPrefix)], seed });
  return Array.from({ length: count }, () => {
    const outcome = crm.insert('Contact', { LastName: 'X' });
    if (!outcome.ok) throw new Error(outcome.reject.message);
    return outcome.id;
  });
}

describe('record ids', () => {
  it('computes the Salesforce case-safe checksum of a known id', () => {
    // 001A0000006Vm9r is a documented example; its 18-character form ends in IAC.
    expect(salesforceIdChecksum('001A0000006Vm9r')).toBe('IAC');
    expect(isValidSalesforceId('001A0000006Vm9rIAC')).toBe(true);
    expect(isValidSalesforceId('001A0000006Vm9rIAD')).toBe(false);
  });

  it('mints valid, unique 18-character Salesforce ids with the key prefix', () => {
    const ids = mint('salesforce', 500, 1, '003');
    expect(new Set(ids).size).toBe(500);
    for (const id of ids) {
      expect(id).toMatch(new RegExp(ID_PATTERNS.salesforce));
      expect(id.startsWith('003')).toBe(true);
      expect(isValidSalesforceId(id)).toBe(true);
    }
  });

  it('mints lowercase v4-shaped GUIDs that repeat for the same seed and differ for another', () => {
    const first = mint('guid', 50, 7);
    expect(new Set(first).size).toBe(50);
    for (const id of first) expect(id).toMatch(new RegExp(ID_PATTERNS.guid));
    expect(mint('guid', 50, 7)).toEqual(first);
    expect(mint('guid', 50, 8)).not.toEqual(first);
  });

  it('mints readable mock ids per object', () => {
    expect(mint('mock', 2, 1, 'CON')).toEqual(['CON-000001', 'CON-000002']);
    expect(mint('mock', 1)[0]).toMatch(new RegExp(ID_PATTERNS.mock));
  });

  it('stamps every change field, including the extra ones, on each write', () => {
    const crm = new InMemoryCrm({ schemas: [schemaWith('salesforce', '003')] });
    const outcome = crm.insert('Contact', { LastName: 'X' }, { at: '2024-03-01T00:00:00.000Z' });
    if (!outcome.ok) throw new Error(outcome.reject.message);
    expect(crm.get('Contact', outcome.id)?.values).toMatchObject({
      LastModifiedDate: '2024-03-01T00:00:00.000Z',
      SystemModstamp: '2024-03-01T00:00:00.000Z',
      CreatedDate: '2024-03-01T00:00:00.000Z',
    });
  });
});
