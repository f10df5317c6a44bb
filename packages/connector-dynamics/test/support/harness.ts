/**
 * Binds the testkit's fixtures to a Dataverse emulator over a fresh `InMemoryCrm`, and builds a
 * connector whose msal-node gets real tokens from the emulator's token endpoint.
 */
import { InMemoryCrm, inMemoryCrmFixtureHooks, ManualClock } from '@crm-sync/connector-mock';
import type { ConnectorUnderTest, ContractFixtures } from '@crm-sync/testkit';
import { DynamicsConnector, type DynamicsConfig } from '../../src/index.js';
import { dataverseSchemas, startDataverseEmulator, type DataverseEmulator, type DataverseEmulatorOptions } from '../../src/emulator/index.js';

/** Where the emulator's clock starts: later than any instant the checks seed relative to it. */
export const CLOCK_START = '2024-06-01T00:00:00.000Z';

/** An emulator, its engine and clock, and a connector pointed at it. */
export interface DynamicsHarness {
  readonly emulator: DataverseEmulator;
  readonly crm: InMemoryCrm;
  readonly clock: ManualClock;
  readonly connector: DynamicsConnector;
  close(): Promise<void>;
}

/** Starts an emulator and a connector. */
export async function startHarness(
  config: Partial<DynamicsConfig> = {},
  emulatorOptions: Omit<DataverseEmulatorOptions, 'crm'> = {},
): Promise<DynamicsHarness> {
  const clock = new ManualClock(CLOCK_START);
  const crm = new InMemoryCrm({ schemas: dataverseSchemas(), clock, deletedRetentionDays: 30 });
  const emulator = await startDataverseEmulator({ crm, ...emulatorOptions });
  const connector = new DynamicsConnector(emulator.connectorConfig({ deletedRetentionDays: 30, ...config }));
  return {
    emulator,
    crm,
    clock,
    connector,
    async close() {
      await connector.close();
      await emulator.close();
    },
  };
}

/** Contract fixtures for `contact` over the harness's engine and fault script. */
export function contactFixtures(harness: DynamicsHarness): ContractFixtures {
  const { crm, clock, emulator } = harness;
  const newRecord = (n: number) => ({ lastname: `Last ${n}`, firstname: `First ${n}`, emailaddress1: `contact${n}@example.test`, crm_synckey: `ext-${n}` });
  return {
    object: 'contact',
    newRecord,
    updateField: { name: 'firstname', value: (n) => `Updated ${n}` },
    invalidRecord: () => ({ firstname: 'No last name' }),
    externalIdField: 'crm_synckey',
    numericField: 'numberofchildren',
    dateField: 'birthdate',
    changeField: 'modifiedon',
    ...inMemoryCrmFixtureHooks(crm, clock, 'contact', newRecord),
    async injectRateLimit(count, retryAfterMs) {
      emulator.faults.inject({ kind: 'rate-limit', times: count, retryAfterSeconds: retryAfterMs / 1000 });
    },
    async injectAuthFailure() {
      // Twice: the connector refreshes its token once on a 401; the second 401 is final, as when
      // the app registration's secret was revoked.
      emulator.faults.inject({ kind: 'token-expired', times: 2 });
    },
    async refuseConnections() {
      await emulator.stop();
      return () => emulator.start();
    },
    async expireToken() {
      // Once: every issued token is expired and the call answers 401; msal gets a new token.
      emulator.faults.inject({ kind: 'token-expired', times: 1 });
    },
    stringField: 'firstname',
    deletedRetentionDays: crm.deletedRetentionDays,
    rejectCases: [
      { what: 'lastname missing', expected: 'required-field-missing', arrange: async () => ({ object: 'contact', mode: 'insert', records: [{ values: { firstname: 'No last name' } }] }) },
      {
        what: 'a sync key another contact has',
        expected: 'duplicate',
        async arrange() {
          crm.insert('contact', newRecord(2));
          return { object: 'contact', mode: 'insert', records: [{ values: { ...newRecord(3), crm_synckey: 'ext-2' } }] };
        },
      },
    ],
    async reset() {
      crm.reset();
      emulator.faults.clear();
    },
  };
}

/** The testkit's factory: a fresh emulator and connector per check. */
export async function dynamicsUnderTest(config: Partial<DynamicsConfig> = {}): Promise<ConnectorUnderTest> {
  const harness = await startHarness(config);
  return { connector: harness.connector, fixtures: contactFixtures(harness), teardown: () => harness.close() };
}
