import { describe, expect, it } from 'vitest';
import { DEFAULT_CHANGE_FIELDS, defineCapabilities, resolveChangeField, type ObjectDescription } from '../src/index.js';
import { contact, field } from './fixtures/contact.js';

const salesforce = { id: 'salesforce', capabilities: defineCapabilities({}) };
const withoutLastModified: ObjectDescription = { ...contact, fields: contact.fields.filter((f) => f.name !== 'LastModifiedDate') };

describe('resolveChangeField', () => {
  it('uses the seed defaults', () => {
    expect(DEFAULT_CHANGE_FIELDS).toEqual({ dynamics: ['modifiedon'], salesforce: ['LastModifiedDate', 'SystemModstamp'], mock: ['updatedAt'] });
  });

  it('takes LastModifiedDate for Salesforce, then SystemModstamp when the object lacks it', () => {
    expect(resolveChangeField(contact, salesforce)._unsafeUnwrap().name).toBe('LastModifiedDate');
    expect(resolveChangeField(withoutLastModified, salesforce)._unsafeUnwrap().name).toBe('SystemModstamp');
  });

  it('takes modifiedon for Dynamics', () => {
    const account: ObjectDescription = { ...contact, name: 'account', fields: [field('modifiedon', { type: 'datetime', timeSemantics: 'instant' })] };
    expect(resolveChangeField(account, { id: 'dynamics', capabilities: defineCapabilities({}) })._unsafeUnwrap().name).toBe('modifiedon');
  });

  it("prefers the connector's declared candidates", () => {
    const connector = { id: 'salesforce', capabilities: defineCapabilities({ changeFields: ['SystemModstamp'] }) };
    expect(resolveChangeField(contact, connector)._unsafeUnwrap().name).toBe('SystemModstamp');
  });

  it('lets an override win, and checks it', () => {
    expect(resolveChangeField(contact, salesforce, 'SystemModstamp')._unsafeUnwrap().name).toBe('SystemModstamp');
    expect(resolveChangeField(contact, salesforce, 'Nope')._unsafeUnwrapErr().message).toMatch(/^\[crm-sync\] \[salesforce\] change field "Nope" is not a field of Contact/);
    expect(resolveChangeField(contact, salesforce, 'LastActivityDate')._unsafeUnwrapErr().message).toContain('not a UTC date-time');
    expect(resolveChangeField(contact, salesforce, 'Unsorted')._unsafeUnwrapErr().message).toContain('cannot sort');
  });

  it('explains when no candidate fits', () => {
    const error = resolveChangeField(contact, { id: 'hubspot', capabilities: defineCapabilities({}) })._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'change-field', object: 'Contact' });
    expect(error.message).toContain("set the job's changeField");
  });
});
