/**
 * Binds the contract fixtures to an `InMemoryCrm`, so the suite can run against `MockConnector`
 * and against deliberately broken wrappers of it.
 */
import { InMemoryCrm, inMemoryCrmFixtureHooks, ManualClock, MockConnector, standardMockSchemas, type MockConnectorOptions, type MockIdFormat } from '@crm-sync/connector-mock';
import { crmError, type CrmConnector } from '@crm-sync/sdk';
import type { ConnectorUnderTest, ContractFixtures, RejectCase } from '../src/index.js';

/** Where the mock CRM's clock starts: later than any instant the checks seed relative to it. */
export const MOCK_CLOCK_START = '2024-06-01T00:00:00.000Z';

/** Fixtures for the mock `contact` object over `crm`, injecting faults through `connector.faults`. */
export function mockContactFixtures(crm: InMemoryCrm, clock: ManualClock, connector: MockConnector, secrets: readonly string[] = []): ContractFixtures {
  const newRecord = (n: number) => ({ lastName: `Last ${n}`, firstName: `First ${n}`, email: `contact${n}@example.test`, externalKey: `ext-${n}` });
  return {
    object: 'contact',
    newRecord,
    updateField: { name: 'firstName', value: (n) => `Updated ${n}` },
    invalidRecord: () => ({ firstName: 'No last name' }),
    externalIdField: 'externalKey',
    secrets,
    numericField: 'score',
    dateField: 'birthDate',
    ...inMemoryCrmFixtureHooks(crm, clock, 'contact', newRecord),
    async injectRateLimit(count, retryAfterMs) {
      connector.faults.failNext(count, crmError('rate-limited', 'mock', 'injected rate limit: too many requests', { retryAfterMs, httpStatus: 429 }));
    },
    async injectAuthFailure() {
      connector.faults.failNext(1, crmError('auth', 'mock', 'injected auth failure: the credential was revoked; sign in again'));
    },
    // No expireToken and no rateLimitReset: the mock has no tokens and no HTTP headers.
    stringField: 'firstName',
    deletedRetentionDays: crm.deletedRetentionDays,
    rejectCases: mockRejectCases(crm),
    async reset() {
      crm.reset();
    },
  };
}

/** A fresh mock CRM and connector, optionally wrapped (to break it on purpose); `contactIds` picks the contact's id format. */
export function mockUnderTest(
  wrap: (connector: MockConnector) => CrmConnector = (connector) => connector,
  options: MockConnectorOptions = {},
  secrets: readonly string[] = [],
  contactIds: MockIdFormat = 'mock',
): ConnectorUnderTest {
  const clock = new ManualClock(MOCK_CLOCK_START);
  const schemas = standardMockSchemas().map((schema) => (schema.name === 'contact' ? { ...schema, idFormat: contactIds, idPrefix: contactIds === 'salesforce' ? '003' : schema.idPrefix } : schema));
  const crm = new InMemoryCrm({ clock, schemas });
  const connector = new MockConnector(crm, options);
  return { connector: wrap(connector), fixtures: mockContactFixtures(crm, clock, connector, secrets) };
}

/** The rejects the in-memory CRM gives for `contact`, each with the code it means. */
export function mockRejectCases(crm: InMemoryCrm): RejectCase[] {
  const contact = (n: number) => ({ lastName: `Reject ${n}`, email: `reject${n}@example.test`, externalKey: `reject-${n}` });
  return [
    { what: 'required field missing', expected: 'required-field-missing', arrange: async () => ({ object: 'contact', mode: 'insert', records: [{ values: { firstName: 'no last name' } }] }) },
    { what: 'unknown field', expected: 'invalid-field', arrange: async () => ({ object: 'contact', mode: 'insert', records: [{ values: { ...contact(1), noSuchField: 'x' } }] }) },
    {
      what: 'duplicate external key',
      expected: 'duplicate',
      async arrange() {
        crm.insert('contact', contact(2));
        return { object: 'contact', mode: 'insert', records: [{ values: { ...contact(3), externalKey: 'reject-2' } }] };
      },
    },
    {
      what: 'update of a record in the recycle bin',
      expected: 'deleted-in-crm',
      async arrange() {
        const inserted = crm.insert('contact', contact(4));
        if (!inserted.ok) throw new Error(`seeding failed: ${inserted.reject.message}`);
        crm.delete('contact', inserted.id);
        return { object: 'contact', mode: 'update', records: [{ id: inserted.id, values: { firstName: 'gone' } }] };
      },
    },
  ];
}
