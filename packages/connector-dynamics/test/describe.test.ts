import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findField } from '@crm-sync/sdk';
import { startHarness, type DynamicsHarness } from './support/harness.js';

let harness: DynamicsHarness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => harness.close());

describe('listObjects and describe from EntityDefinitions', () => {
  it('lists the tables by logical name', async () => {
    const objects = (await harness.connector.listObjects())._unsafeUnwrap();
    expect(objects.map((object) => object.name)).toEqual(['account', 'contact', 'lead', 'opportunity']);
  });

  it('describes keys, required levels, validity, lengths, choices and the entity set name', async () => {
    const contact = (await harness.connector.describe('contact'))._unsafeUnwrap();
    expect(contact).toMatchObject({ name: 'contact', primaryKey: 'contactid', vendor: { entitySetName: 'contacts', auditEnabled: true, alternateKeys: [['crm_synckey']] } });
    expect(findField(contact, 'contactid')).toMatchObject({ type: 'id', primaryKey: true, nullable: false });
    expect(findField(contact, 'lastname')).toMatchObject({ type: 'string', required: true, length: 50 });
    expect(findField(contact, 'crm_synckey')).toMatchObject({ externalId: true, unique: true });
    expect(findField(contact, 'modifiedon')).toMatchObject({ createable: false, updateable: false, filterable: true });
    expect(findField(contact, 'preferredcontactmethodcode')?.picklistValues).toEqual([
      { value: '1', label: 'Any', active: true },
      { value: '2', label: 'Email', active: true },
      { value: '3', label: 'Phone', active: true },
    ]);
    const opportunities = (await harness.connector.describe('opportunity'))._unsafeUnwrap();
    expect(opportunities.vendor).toMatchObject({ entitySetName: 'opportunities' });
  });

  it('answers not-found for a table that does not exist', async () => {
    expect((await harness.connector.describe('nosuchtable'))._unsafeUnwrapErr()).toMatchObject({ kind: 'not-found', httpStatus: 404 });
  });

  it('names the unknown field when a query selects one', async () => {
    const error = (await harness.connector.query({ object: 'contact', fields: ['nosuchfield'] }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'invalid-request', message: expect.stringContaining("'nosuchfield' is not a field of 'contact'") });
  });
});
