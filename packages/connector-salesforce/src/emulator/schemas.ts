/**
 * Salesforce-flavoured objects for the emulator's `InMemoryCrm`: Account, Contact, Lead and
 * Opportunity with 18-character ids, `LastModifiedDate`/`SystemModstamp`/`CreatedDate`, an
 * external-id field `Sync_Key__c`, required fields, email fields the platform validates, a
 * validation rule and picklists.
 *
 * @module
 */
import { mockField, type MockFieldOptions, type MockObjectSchema, type ValidationRule } from '@crm-sync/connector-mock';
import type { FieldDescription, PicklistValue } from '@crm-sync/sdk';

const readOnly: MockFieldOptions = { createable: false, updateable: false };

function picklist(...values: string[]): PicklistValue[] {
  return values.map((value) => ({ value, label: value, active: true }));
}

/** Fields every emulated object has, in Salesforce's describe order. */
function systemFields(): FieldDescription[] {
  return [
    mockField('Id', 'id', { ...readOnly, nullable: false, primaryKey: true, unique: true, idLookup: true, label: 'Record ID', length: 18 }),
    mockField('IsDeleted', 'boolean', { ...readOnly, nullable: false, label: 'Deleted' }),
    mockField('CreatedDate', 'datetime', { ...readOnly, nullable: false, label: 'Created Date' }),
    mockField('LastModifiedDate', 'datetime', { ...readOnly, nullable: false, label: 'Last Modified Date' }),
    mockField('SystemModstamp', 'datetime', { ...readOnly, nullable: false, label: 'System Modstamp' }),
    mockField('LastActivityDate', 'date', { ...readOnly, label: 'Last Activity' }),
  ];
}

const syncKey = (): FieldDescription =>
  mockField('Sync_Key__c', 'string', { externalId: true, unique: true, idLookup: true, length: 80, label: 'Sync Key' });

const requiredText = (name: string, length: number, label: string): FieldDescription =>
  mockField(name, 'string', { nullable: false, required: true, length, label });

function object(name: string, prefix: string, fields: FieldDescription[], rules: ValidationRule[] = []): MockObjectSchema {
  return {
    name,
    label: name,
    custom: false,
    primaryKey: 'Id',
    idFormat: 'salesforce',
    idPrefix: prefix,
    changeField: 'LastModifiedDate',
    extraChangeFields: ['SystemModstamp'],
    createdField: 'CreatedDate',
    fields: [...systemFields(), ...fields, syncKey()],
    rules,
    vendor: { keyPrefix: prefix },
  };
}

/**
 * A validation rule like those orgs define: a Contact's `Score__c` cannot be negative. (Email
 * format is not a rule: the platform itself checks email fields, `INVALID_EMAIL_ADDRESS`.)
 */
const scoreNotNegative: ValidationRule = {
  name: 'Score_Not_Negative',
  message: 'Score cannot be negative',
  fields: ['Score__c'],
  valid: (values) => typeof values.Score__c !== 'number' || values.Score__c >= 0,
};

/** The emulator's default objects. */
export function salesforceEmulatorSchemas(): MockObjectSchema[] {
  return [
    object('Account', '001', [
      requiredText('Name', 255, 'Account Name'),
      mockField('Industry', 'picklist', { picklistValues: picklist('Agriculture', 'Banking', 'Retail', 'Technology') }),
      mockField('AnnualRevenue', 'currency'),
      mockField('NumberOfEmployees', 'integer'),
      mockField('Website', 'url', { length: 255 }),
    ]),
    object(
      'Contact',
      '003',
      [
        mockField('FirstName', 'string', { length: 40, label: 'First Name' }),
        requiredText('LastName', 80, 'Last Name'),
        mockField('Name', 'string', { ...readOnly, length: 121, label: 'Full Name' }),
        mockField('Email', 'email', { length: 80 }),
        mockField('Phone', 'phone', { length: 40 }),
        mockField('Birthdate', 'date'),
        mockField('Score__c', 'decimal', { label: 'Score' }),
        mockField('DoNotCall', 'boolean', { nullable: false, label: 'Do Not Call' }),
        mockField('LeadSource', 'picklist', { picklistValues: picklist('Web', 'Phone Inquiry', 'Partner Referral', 'Other') }),
        mockField('AccountId', 'reference', { referenceTo: ['Account'], length: 18 }),
      ],
      [scoreNotNegative],
    ),
    object(
      'Lead',
      '00Q',
      [
        mockField('FirstName', 'string', { length: 40 }),
        requiredText('LastName', 80, 'Last Name'),
        mockField('Name', 'string', { ...readOnly, length: 121, label: 'Full Name' }),
        requiredText('Company', 255, 'Company'),
        mockField('Email', 'email', { length: 80 }),
        mockField('Status', 'picklist', { picklistValues: picklist('Open', 'Working', 'Closed - Converted', 'Closed - Not Converted') }),
        mockField('Rating', 'picklist', { picklistValues: picklist('Hot', 'Warm', 'Cold') }),
      ],
    ),
    object('Opportunity', '006', [
      requiredText('Name', 120, 'Name'),
      mockField('StageName', 'picklist', { nullable: false, required: true, picklistValues: picklist('Prospecting', 'Qualification', 'Closed Won', 'Closed Lost') }),
      mockField('CloseDate', 'date', { nullable: false, required: true }),
      mockField('Amount', 'currency'),
      mockField('AccountId', 'reference', { referenceTo: ['Account'], length: 18 }),
    ]),
  ];
}
