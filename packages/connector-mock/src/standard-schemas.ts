/**
 * The default objects of the in-memory CRM: account, contact, lead and opportunity in the mock
 * flavour (primary key `id`, change field `updatedAt`, created field `createdAt`), with enough
 * variety of field types, flags and rules to exercise every conversion and reject path.
 *
 * @module
 */
import type { FieldDescription, FieldType, FieldValues, PicklistValue } from '@crm-sync/sdk';
import type { MockObjectSchema, ValidationRule } from './schema.js';

/** The flags of a field that {@link mockField} lets a caller override. */
export type MockFieldOptions = Partial<Omit<FieldDescription, 'name' | 'type'>>;

const TIME_SEMANTICS_BY_TYPE: Partial<Record<FieldType, FieldDescription['timeSemantics']>> = {
  date: 'date-only',
  datetime: 'instant',
  time: 'floating',
};

/**
 * Builds a {@link FieldDescription} with the flags of an ordinary, optional, writable,
 * filterable and sortable field, then applies `options`. `date` fields default to `date-only`
 * time semantics and `datetime` fields to `instant`.
 */
export function mockField(name: string, type: FieldType, options: MockFieldOptions = {}): FieldDescription {
  const timeSemantics = TIME_SEMANTICS_BY_TYPE[type];
  return {
    name,
    type,
    ...(timeSemantics === undefined ? {} : { timeSemantics }),
    nullable: true,
    createable: true,
    updateable: true,
    filterable: true,
    sortable: true,
    externalId: false,
    primaryKey: false,
    required: false,
    ...options,
  };
}

/** Fields every mock object has: `id`, `externalKey`, `createdAt`, `updatedAt`. */
function systemFields(): FieldDescription[] {
  const readOnly: MockFieldOptions = { nullable: false, createable: false, updateable: false };
  return [
    mockField('id', 'id', { ...readOnly, primaryKey: true, unique: true, idLookup: true, label: 'Record ID' }),
    mockField('externalKey', 'string', { externalId: true, unique: true, idLookup: true, length: 80, label: 'External key' }),
    mockField('createdAt', 'datetime', { ...readOnly, label: 'Created at' }),
    mockField('updatedAt', 'datetime', { ...readOnly, label: 'Updated at' }),
  ];
}

function picklist(...values: string[]): PicklistValue[] {
  return values.map((value) => ({ value, label: value, active: true }));
}

const requiredText = (name: string, length: number, label?: string): FieldDescription =>
  mockField(name, 'string', { nullable: false, required: true, length, ...(label === undefined ? {} : { label }) });

/** Rejects an email without `@`; an absent or empty email is fine. */
const emailMustContainAt: ValidationRule = {
  name: 'EmailMustContainAt',
  message: 'Email must contain "@" when it is set.',
  fields: ['email'],
  valid: (values: FieldValues) => {
    const email = values.email;
    return email === undefined || email === null || email === '' || (typeof email === 'string' && email.includes('@'));
  },
};

/** Rejects a negative opportunity amount. */
const amountNotNegative: ValidationRule = {
  name: 'AmountNotNegative',
  message: 'Amount cannot be negative.',
  fields: ['amount'],
  valid: (values: FieldValues) => typeof values.amount !== 'number' || values.amount >= 0,
};

function mockObject(name: string, label: string, idPrefix: string, fields: FieldDescription[], rules: ValidationRule[] = []): MockObjectSchema {
  return {
    name,
    label,
    custom: false,
    primaryKey: 'id',
    idFormat: 'mock',
    idPrefix,
    changeField: 'updatedAt',
    createdField: 'createdAt',
    fields: [...systemFields(), ...fields],
    rules,
  };
}

/**
 * Fresh copies of the standard mock objects: `account`, `contact`, `lead`, `opportunity`. Each has
 * `id` (primary key), `externalKey` (unique external id), `createdAt` and `updatedAt` (system
 * stamped), a required field, and typed fields; `contact` has a date-only `birthDate`, an instant
 * `lastActivityAt` and a rule that `email` must contain `@` when set.
 */
export function standardMockSchemas(): MockObjectSchema[] {
  return [
    mockObject('account', 'Account', 'ACC', [
      requiredText('name', 255, 'Account name'),
      mockField('industry', 'picklist', { picklistValues: picklist('Agriculture', 'Banking', 'Retail', 'Technology') }),
      mockField('annualRevenue', 'currency'),
      mockField('employees', 'integer'),
      mockField('website', 'url', { length: 255 }),
      mockField('active', 'boolean', { nullable: false }),
    ]),
    mockObject(
      'contact',
      'Contact',
      'CON',
      [
        mockField('firstName', 'string', { length: 40 }),
        requiredText('lastName', 80, 'Last name'),
        mockField('email', 'email', { length: 80 }),
        mockField('phone', 'phone', { length: 40 }),
        mockField('birthDate', 'date'),
        mockField('lastActivityAt', 'datetime'),
        mockField('score', 'decimal'),
        mockField('doNotCall', 'boolean', { nullable: false }),
        mockField('status', 'picklist', { picklistValues: picklist('New', 'Active', 'Inactive') }),
        mockField('accountId', 'reference', { referenceTo: ['account'] }),
      ],
      [emailMustContainAt],
    ),
    mockObject('lead', 'Lead', 'LEA', [
      mockField('firstName', 'string', { length: 40 }),
      requiredText('lastName', 80, 'Last name'),
      requiredText('company', 255, 'Company'),
      mockField('email', 'email', { length: 80 }),
      mockField('rating', 'picklist', { picklistValues: picklist('Hot', 'Warm', 'Cold') }),
      mockField('converted', 'boolean', { nullable: false }),
      mockField('lastActivityAt', 'datetime'),
    ]),
    mockObject(
      'opportunity',
      'Opportunity',
      'OPP',
      [
        requiredText('name', 120, 'Opportunity name'),
        mockField('stage', 'picklist', {
          nullable: false,
          required: true,
          picklistValues: picklist('Prospecting', 'Qualification', 'Proposal', 'Closed Won', 'Closed Lost'),
        }),
        mockField('amount', 'currency'),
        mockField('probability', 'percent'),
        mockField('closeDate', 'date'),
        mockField('accountId', 'reference', { referenceTo: ['account'] }),
      ],
      [amountNotNegative],
    ),
  ];
}
