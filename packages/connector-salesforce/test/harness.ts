/**
 * Test harness: an emulator on loopback plus a connector pointed at it.
 */
import { startSalesforceEmulator, type SalesforceEmulator, type SalesforceEmulatorOptions } from '../src/emulator/index.js';
import { SalesforceConnector, type SalesforceConnectorConfig } from '../src/index.js';

/** A running emulator with a connector signed in by the password flow. */
export interface Harness {
  readonly emulator: SalesforceEmulator;
  readonly connector: SalesforceConnector;
  close(): Promise<void>;
}

export const CREDENTIALS = { username: 'sync@example.com', password: 'correct-horse-battery', clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret' };

/** Starts an emulator and a connector (password flow unless `config.auth` is given). */
export async function startHarness(
  emulatorOptions: SalesforceEmulatorOptions = {},
  config: Partial<SalesforceConnectorConfig> = {},
): Promise<Harness> {
  const emulator = await startSalesforceEmulator({ credentials: CREDENTIALS, ...emulatorOptions });
  const connector = new SalesforceConnector({
    loginUrl: emulator.url,
    auth: { kind: 'password', ...CREDENTIALS },
    ...config,
  });
  return {
    emulator,
    connector,
    async close() {
      await connector.close();
      await emulator.close();
    },
  };
}

/** Values for a valid Contact. */
export function contactValues(n: number): Record<string, string | number | boolean | null> {
  return { FirstName: `First${n}`, LastName: `Last${n}`, Email: `c${n}@example.com`, Sync_Key__c: `key-${n}` };
}
