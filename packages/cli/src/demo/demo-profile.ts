/**
 * The names the demo uses on each CRM: the mock CRM's objects (`contact`, `firstName`, ...) and
 * the Salesforce emulator's (`Contact`, `FirstName`, ...). The local table keeps the same columns
 * whatever the CRM, as an application's database would.
 *
 * @module
 */

/** Object and field names of one CRM flavour. */
export interface DemoProfile {
  readonly contact: string;
  readonly account: string;
  /** The external-id field that receives the local key on export (the sync key). */
  readonly syncKey: string;
  readonly contactFields: {
    readonly firstName: string;
    readonly lastName: string;
    readonly email: string;
    readonly phone?: string;
    readonly birthDate: string;
    readonly score?: string;
    readonly doNotCall?: string;
    readonly accountId?: string;
    /** A picklist the demo changes. */
    readonly status: string;
    /** A writable date-time field, when the object has one. */
    readonly lastActivityAt?: string;
  };
  /** Values of the `status` picklist: new, active, inactive. */
  readonly statusValues: readonly [string, string, string];
  readonly accountFields: {
    readonly name: string;
    readonly industry: string;
    readonly annualRevenue: string;
    readonly employees: string;
    readonly website?: string;
    readonly active?: string;
  };
  /** Values of the account `industry` picklist. */
  readonly industryValues: readonly string[];
}

/** `@crm-sync/connector-mock`'s standard objects. */
export const MOCK_PROFILE: DemoProfile = {
  contact: 'contact',
  account: 'account',
  syncKey: 'externalKey',
  contactFields: {
    firstName: 'firstName',
    lastName: 'lastName',
    email: 'email',
    phone: 'phone',
    birthDate: 'birthDate',
    score: 'score',
    doNotCall: 'doNotCall',
    accountId: 'accountId',
    status: 'status',
    lastActivityAt: 'lastActivityAt',
  },
  statusValues: ['New', 'Active', 'Inactive'],
  accountFields: { name: 'name', industry: 'industry', annualRevenue: 'annualRevenue', employees: 'employees', website: 'website', active: 'active' },
  industryValues: ['Agriculture', 'Banking', 'Retail', 'Technology'],
};

/** The Salesforce emulator's standard objects. */
export const SALESFORCE_PROFILE: DemoProfile = {
  contact: 'Contact',
  account: 'Account',
  syncKey: 'Sync_Key__c',
  contactFields: {
    firstName: 'FirstName',
    lastName: 'LastName',
    email: 'Email',
    phone: 'Phone',
    birthDate: 'Birthdate',
    score: 'Score__c',
    doNotCall: 'DoNotCall',
    accountId: 'AccountId',
    status: 'LeadSource',
  },
  statusValues: ['Web', 'Phone Inquiry', 'Partner Referral'],
  accountFields: { name: 'Name', industry: 'Industry', annualRevenue: 'AnnualRevenue', employees: 'NumberOfEmployees', website: 'Website' },
  industryValues: ['Agriculture', 'Banking', 'Retail', 'Technology'],
};

/** The Dataverse emulator's standard tables (picklists hold option values). */
export const DYNAMICS_PROFILE: DemoProfile = {
  contact: 'contact',
  account: 'account',
  syncKey: 'crm_synckey',
  contactFields: {
    firstName: 'firstname',
    lastName: 'lastname',
    email: 'emailaddress1',
    birthDate: 'birthdate',
    score: 'creditlimit',
    doNotCall: 'donotemail',
    status: 'preferredcontactmethodcode',
    lastActivityAt: 'lastonholdtime',
  },
  statusValues: ['1', '2', '3'],
  accountFields: { name: 'name', industry: 'industrycode', annualRevenue: 'revenue', employees: 'numberofemployees' },
  industryValues: ['1', '2', '3'],
};
