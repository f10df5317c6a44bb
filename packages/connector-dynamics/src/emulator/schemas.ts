/**
 * Dataverse-flavoured tables for the emulator's in-memory CRM: `account`, `contact`, `lead` and
 * `opportunity`, with GUID primary keys, `modifiedon`/`createdon`, the read-only composed
 * `fullname` of contacts and leads (their primary name column), an alternate key
 * `crm_synckey`, required columns, choices, and one column of each DateTimeBehavior.
 *
 * @module
 */
import type { FieldDescription, FieldType, TimeSemantics } from '@crm-sync/sdk';
import type { MockObjectSchema } from '@crm-sync/connector-mock';

/** Vendor facts the emulator keeps in `MockObjectSchema.vendor`. */
export interface DataverseTableFacts {
  /** The Web API collection name (`contacts`). */
  readonly entitySetName: string;
  /** The table's type code (contact is 2). */
  readonly objectTypeCode: number;
  /** The primary name column (`fullname`, `name`). */
  readonly primaryNameAttribute: string;
  /** Deletions are audited (reported by `audits`). */
  readonly auditEnabled: boolean;
  /** Change tracking is on (delta links work). */
  readonly changeTrackingEnabled: boolean;
}

interface FieldOptions {
  readonly label?: string;
  readonly required?: boolean;
  readonly createable?: boolean;
  readonly updateable?: boolean;
  readonly length?: number;
  readonly timeSemantics?: TimeSemantics;
  readonly externalId?: boolean;
  readonly picklist?: readonly [number, string][];
}

function field(name: string, type: FieldType, options: FieldOptions = {}): FieldDescription {
  const createable = options.createable ?? true;
  const updateable = options.updateable ?? true;
  const primaryKey = type === 'id';
  return {
    name,
    ...(options.label !== undefined ? { label: options.label } : {}),
    type,
    ...(options.timeSemantics !== undefined ? { timeSemantics: options.timeSemantics } : {}),
    nullable: !primaryKey,
    createable,
    updateable,
    filterable: type !== 'multipicklist',
    sortable: type !== 'multipicklist' && type !== 'text',
    externalId: options.externalId ?? false,
    idLookup: primaryKey || (options.externalId ?? false),
    primaryKey,
    unique: primaryKey || (options.externalId ?? false),
    required: options.required ?? false,
    ...(options.length !== undefined ? { length: options.length } : {}),
    ...(options.picklist !== undefined ? { picklistValues: options.picklist.map(([value, label]) => ({ value: String(value), label, active: true })) } : {}),
  };
}

function systemFields(primaryKey: string): FieldDescription[] {
  return [
    field(primaryKey, 'id', { createable: true, updateable: false }),
    field('createdon', 'datetime', { label: 'Created On', createable: false, updateable: false, timeSemantics: 'instant' }),
    field('modifiedon', 'datetime', { label: 'Modified On', createable: false, updateable: false, timeSemantics: 'instant' }),
    field('crm_synckey', 'string', { label: 'Sync key', length: 100, externalId: true }),
  ];
}

function table(name: string, label: string, facts: DataverseTableFacts, fields: FieldDescription[], extra: Partial<MockObjectSchema> = {}): MockObjectSchema {
  const primaryKey = `${name}id`;
  return {
    name,
    label,
    primaryKey,
    idFormat: 'guid',
    changeField: 'modifiedon',
    createdField: 'createdon',
    fields: [...systemFields(primaryKey), ...fields],
    vendor: { ...facts },
    ...extra,
  };
}

/** The emulator's default tables. Each call returns fresh objects. */
export function dataverseSchemas(): MockObjectSchema[] {
  return [
    table('account', 'Account', { entitySetName: 'accounts', objectTypeCode: 1, primaryNameAttribute: 'name', auditEnabled: true, changeTrackingEnabled: true }, [
      field('name', 'string', { label: 'Account Name', required: true, length: 160 }),
      field('accountnumber', 'string', { label: 'Account Number', length: 20 }),
      field('emailaddress1', 'email', { label: 'Email', length: 100 }),
      field('numberofemployees', 'integer', { label: 'Number of Employees' }),
      field('revenue', 'currency', { label: 'Annual Revenue' }),
      field('industrycode', 'picklist', { label: 'Industry', picklist: [[1, 'Accounting'], [2, 'Agriculture'], [3, 'Consulting']] }),
    ]),
    table(
      'contact',
      'Contact',
      { entitySetName: 'contacts', objectTypeCode: 2, primaryNameAttribute: 'fullname', auditEnabled: true, changeTrackingEnabled: true },
      [
        field('firstname', 'string', { label: 'First Name', length: 50 }),
        field('lastname', 'string', { label: 'Last Name', required: true, length: 50 }),
        field('fullname', 'string', { label: 'Full Name', length: 160, createable: false, updateable: false }),
        field('emailaddress1', 'email', { label: 'Email', length: 100 }),
        field('birthdate', 'date', { label: 'Birthday', timeSemantics: 'date-only' }),
        field('lastonholdtime', 'datetime', { label: 'Last On Hold Time', timeSemantics: 'instant' }),
        field('crm_preferredcalltime', 'datetime', { label: 'Preferred call time', timeSemantics: 'floating' }),
        field('numberofchildren', 'integer', { label: 'No. of Children' }),
        field('creditlimit', 'currency', { label: 'Credit Limit' }),
        field('donotemail', 'boolean', { label: 'Do not allow Emails' }),
        field('preferredcontactmethodcode', 'picklist', { label: 'Preferred Method of Contact', picklist: [[1, 'Any'], [2, 'Email'], [3, 'Phone']] }),
        field('description', 'text', { label: 'Description', length: 2000 }),
      ],
      {
        rules: [
          {
            name: 'non-negative credit limit',
            message: 'Credit Limit cannot be negative.',
            symbol: '0x80040265',
            fields: ['creditlimit'],
            valid: (values) => typeof values.creditlimit !== 'number' || values.creditlimit >= 0,
          },
          {
            name: 'email address shape',
            message: 'Enter a valid email address.',
            symbol: '0x80040265',
            fields: ['emailaddress1'],
            valid: (values) => typeof values.emailaddress1 !== 'string' || /^[^@\s]+@[^@\s]+$/.test(values.emailaddress1),
          },
        ],
      },
    ),
    table('lead', 'Lead', { entitySetName: 'leads', objectTypeCode: 4, primaryNameAttribute: 'fullname', auditEnabled: true, changeTrackingEnabled: true }, [
      field('subject', 'string', { label: 'Topic', required: true, length: 300 }),
      field('firstname', 'string', { label: 'First Name', length: 50 }),
      field('lastname', 'string', { label: 'Last Name', required: true, length: 50 }),
      field('fullname', 'string', { label: 'Name', length: 160, createable: false, updateable: false }),
      field('emailaddress1', 'email', { label: 'Email', length: 100 }),
      field('leadqualitycode', 'picklist', { label: 'Rating', picklist: [[1, 'Hot'], [2, 'Warm'], [3, 'Cold']] }),
    ]),
    table('opportunity', 'Opportunity', { entitySetName: 'opportunities', objectTypeCode: 3, primaryNameAttribute: 'name', auditEnabled: true, changeTrackingEnabled: true }, [
      field('name', 'string', { label: 'Topic', required: true, length: 300 }),
      field('estimatedvalue', 'currency', { label: 'Est. Revenue' }),
      field('estimatedclosedate', 'date', { label: 'Est. Close Date', timeSemantics: 'date-only' }),
      field('closeprobability', 'integer', { label: 'Probability' }),
    ]),
  ];
}
