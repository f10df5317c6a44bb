import { InMemoryCrm, inMemoryCrmFixtureHooks, ManualClock } from '@crm-sync/connector-mock';
import { describeConnectorContract, type ContractFixtures } from '@crm-sync/testkit';
import { salesforceEmulatorSchemas, startSalesforceEmulator, type SalesforceEmulator } from '../src/emulator/index.js';
import { SalesforceConnector } from '../src/index.js';
import { contactValues } from './harness.js';

/** Later than any instant the checks seed relative to it. */
const CLOCK_START = '2024-06-01T00:00:00.000Z';

function fixtures(emulator: SalesforceEmulator, clock: ManualClock, accessToken: string): ContractFixtures {
  const crm = emulator.crm;
  return {
    object: 'Contact',
    newRecord: contactValues,
    updateField: { name: 'FirstName', value: (n) => `Updated ${n}` },
    invalidRecord: () => ({ FirstName: 'No last name' }),
    externalIdField: 'Sync_Key__c',
    numericField: 'Score__c',
    dateField: 'Birthdate',
    changeField: 'LastModifiedDate',
    secrets: [accessToken],
    ...inMemoryCrmFixtureHooks(crm, clock, 'Contact', contactValues),
    async injectRateLimit(count, retryAfterMs) {
      emulator.faults.add({ kind: 'rate-limit', times: count, retryAfter: String(Math.ceil(retryAfterMs / 1000)) });
    },
    async injectAuthFailure() {
      // An access token cannot be refreshed, so an expired session is a lasting auth failure.
      emulator.expireSessions();
    },
    // No expireToken: with a bare access token the connector has nothing to refresh with.
    async refuseConnections() {
      await emulator.stop();
      return () => emulator.start();
    },
    stringField: 'FirstName',
    deletedRetentionDays: crm.deletedRetentionDays,
    rejectCases: [
      { what: 'LastName missing (REQUIRED_FIELD_MISSING)', expected: 'required-field-missing', arrange: async () => ({ object: 'Contact', mode: 'insert', records: [{ values: { FirstName: 'No last name' } }] }) },
      { what: 'an unknown field (INVALID_FIELD)', expected: 'invalid-field', arrange: async () => ({ object: 'Contact', mode: 'insert', records: [{ values: { ...contactValues(1), No_Such_Field__c: 'x' } }] }) },
      {
        what: 'a sync key another contact has (DUPLICATE_VALUE)',
        expected: 'duplicate',
        async arrange() {
          crm.insert('Contact', contactValues(2));
          return { object: 'Contact', mode: 'insert', records: [{ values: { ...contactValues(3), Sync_Key__c: contactValues(2).Sync_Key__c ?? null } }] };
        },
      },
    ],
    async reset() {
      crm.reset();
      emulator.faults.clear();
    },
  };
}

describeConnectorContract({
  name: 'salesforce (emulator, jsforce over loopback HTTP)',
  async factory() {
    const clock = new ManualClock(CLOCK_START);
    const crm = new InMemoryCrm({ clock, schemas: salesforceEmulatorSchemas() });
    const emulator = await startSalesforceEmulator({ crm });
    const accessToken = emulator.issueAccessToken();
    const connector = new SalesforceConnector({ instanceUrl: emulator.url, auth: { kind: 'access-token', accessToken } });
    return {
      connector,
      fixtures: fixtures(emulator, clock, accessToken),
      async teardown() {
        await connector.close();
        await emulator.close();
      },
    };
  },
});
