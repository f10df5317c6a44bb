import { describe, expect, it } from 'vitest';
import { canonicalMockId, ID_PATTERNS, InMemoryCrm, isValidSalesforceId, MockConnector, mockField, salesforceIdChecksum, type MockIdFormat, type MockObjectSchema } from '../src/index.js';

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

  it('canonical ids: Salesforce 15 -> 18 characters and 18 in any case -> the case its suffix encodes; GUIDs lower case; others unchanged', () => {
    expect(canonicalMockId('salesforce', '001M000000qfPyS')).toBe('001M000000qfPySIAU');
    expect(canonicalMockId('salesforce', '001M000000QFPYSIAU')).toBe('001M000000qfPySIAU');
    expect(canonicalMockId('salesforce', '001m000000qfpysiau')).toBe('001M000000qfPySIAU');
    expect(canonicalMockId('salesforce', '001M000000qfPySiau')).toBe('001M000000qfPySIAU');
    // Another body case is another 15-character id, so another record.
    expect(canonicalMockId('salesforce', '001M000000QFPYS')).not.toBe(canonicalMockId('salesforce', '001M000000qfPyS'));
    expect(canonicalMockId('salesforce', 'not-an-id')).toBe('not-an-id');
    expect(canonicalMockId('guid', 'A0DBF27C-8EFB-4511-80D2-00155DB07C77')).toBe('a0dbf27c-8efb-4511-80d2-00155db07c77');
    expect(canonicalMockId('mock', 'con-000001')).toBe('con-000001');
  });

  it('delete: a malformed id is a MALFORMED_ID reject, an unknown well-formed one not-found; other spellings find the record', async () => {
    const crm = new InMemoryCrm({ schemas: [schemaWith('salesforce', '003')] });
    const connector = new MockConnector(crm);
    const a = crm.insert('Contact', { LastName: 'a' });
    const b = crm.insert('Contact', { LastName: 'b' });
    if (!a.ok || !b.ok) throw new Error('insert failed');
    const found = (await connector.query({ object: 'Contact', fields: ['Id'], ids: [a.id.slice(0, 15)] }))._unsafeUnwrap();
    expect(found.records.map((record) => record.id)).toEqual([a.id]);
    const outcomes = (await connector.delete({ object: 'Contact', ids: ['garbage', '003000000000000AAA', b.id.toLowerCase()] }))._unsafeUnwrap();
    expect(outcomes[0]).toMatchObject({ ok: false, id: 'garbage', reject: { code: 'invalid-value', symbol: 'MALFORMED_ID' } });
    expect(outcomes[1]).toMatchObject({ ok: false, reject: { code: 'not-found' } });
    expect(outcomes[2]).toMatchObject({ ok: true, id: b.id, action: 'deleted' });
    expect(connector.normalizeId('Contact', b.id.toLowerCase())).toBe(b.id);
  });
});
