/**
 * The mock connector for `connector: mock` accounts: an in-memory CRM seeded with sample data
 * (`seed: demo`, the default) or empty, kept in a JSON file next to the SQLite database (or at
 * `mock.db`) so that successive commands see the same CRM.
 *
 * @module
 */
import { resolve } from 'node:path';
import { InMemoryCrm, MockConnector, SystemClock } from '@crm-sync/connector-mock';
import { err, ok, type Result } from 'neverthrow';
import type { MockAccount } from '../accounts/account-schema.js';
import { invalidInput, type CliError } from '../cli-error.js';
import { seedSampleData } from '../demo/sample-data.js';
import { loadMockCrm, saveMockCrm } from './mock-persistence.js';
import { withSaveAfterWrite } from './persistent-connector.js';
import type { ConnectorOpenContext, OpenedConnector } from './registry.js';

/** Sample contacts a `seed: demo` mock CRM starts with when the account does not say. */
const DEFAULT_MOCK_CONTACTS = 3000;

/** Where a mock account's CRM is kept: `mock.db`, else `<database>.mock-crm.json`, else nowhere. */
function mockCrmFile(context: ConnectorOpenContext): string | undefined {
  const settings = (context.account.settings as MockAccount).mock;
  if (settings?.db !== undefined) return resolve(context.account.directory, settings.db);
  return context.databasePath === undefined ? undefined : `${context.databasePath}.mock-crm.json`;
}

/** Opens the mock connector of a mock account. */
export async function openMockConnector(context: ConnectorOpenContext): Promise<Result<OpenedConnector, CliError>> {
  const settings = (context.account.settings as MockAccount).mock ?? {};
  // The real clock: the CRM's time moves on between commands, as a real CRM's does.
  const crm = new InMemoryCrm({ clock: new SystemClock() });
  const file = mockCrmFile(context);
  const notes: string[] = [];
  const loaded = file === undefined ? ok(false) : loadMockCrm(crm, file);
  if (loaded.isErr()) return err(invalidInput(`[mock] account "${context.account.name}": ${loaded.error}`));
  if (!loaded.value && (settings.seed ?? 'demo') === 'demo') {
    const counts = seedSampleData(crm, { contacts: settings.contacts ?? DEFAULT_MOCK_CONTACTS, until: new Date(Date.now() - 60_000) });
    notes.push(
      `mock CRM seeded with ${counts.contacts} sample contacts and ${counts.accounts} accounts${file !== undefined && context.readOnly !== true ? `, kept in ${file} for the next commands` : ''}`,
    );
  }
  const save = file === undefined || context.readOnly === true ? undefined : () => saveMockCrm(crm, file);
  const mock = new MockConnector(crm, settings.latencyMs !== undefined ? { latencyMs: settings.latencyMs } : {});
  const connector = save === undefined ? mock : withSaveAfterWrite(mock, save);
  return ok({
    connector,
    notes,
    close: async () => connector.close?.(),
    ...(save !== undefined ? { persist: save } : {}),
  });
}
