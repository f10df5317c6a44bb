/**
 * Where the demo's CRM runs: the Salesforce emulator (a real HTTP server on 127.0.0.1) through the
 * real Salesforce connector when that package is available (the default), the Dataverse emulator
 * through the Dynamics connector, or the mock connector in-process. A missing package falls back
 * to the mock, and says so.
 *
 * The connector packages are loaded with `import()` by name, so the CLI builds and runs without
 * them; the few members used are typed here.
 *
 * @module
 */
import { InMemoryCrm, MockConnector, type CrmClock, type MockObjectSchema } from '@crm-sync/connector-mock';
import type { CrmConnector, Logger } from '@crm-sync/sdk';
import { importOptional } from '../connectors/registry.js';
import { openVendor } from '../connectors/vendor-connectors.js';
import { DYNAMICS_PROFILE, MOCK_PROFILE, SALESFORCE_PROFILE, type DemoProfile } from './demo-profile.js';

/** The CRMs the demo can run against. */
export type DemoCrm = 'salesforce' | 'dynamics' | 'mock';

/** A running demo CRM. */
interface StartedDemoCrm {
  readonly connector: CrmConnector;
  /** What the demo runs on, for the output. */
  readonly label: string;
  readonly notes: readonly string[];
  close(): Promise<void>;
}

/** The demo CRM's engine, before it is started. */
export interface DemoEngine {
  readonly kind: 'salesforce' | 'dynamics' | 'mock';
  readonly crm: InMemoryCrm;
  readonly profile: DemoProfile;
  /** Why the CRM asked for is not the one used, when it is not. */
  readonly fallbackNote?: string;
}

interface SalesforceEmulatorModule {
  salesforceEmulatorSchemas(): MockObjectSchema[];
  startSalesforceEmulator(options: { crm: InMemoryCrm }): Promise<{ url: string; issueAccessToken(): string; close(): Promise<void> }>;
}

interface DataverseEmulatorModule {
  dataverseSchemas(): MockObjectSchema[];
  startDataverseEmulator(options: { crm: InMemoryCrm }): Promise<{ url: string; connectorConfig(): Record<string, unknown>; close(): Promise<void> }>;
}

/** Builds the engine for `kind`: Salesforce-shaped objects when the emulator is available. */
export async function createDemoEngine(kind: DemoCrm, clock: CrmClock): Promise<DemoEngine> {
  if (kind === 'salesforce') {
    const emulator = (await importOrNothing('@crm-sync/connector-salesforce/emulator')) as Partial<SalesforceEmulatorModule> | undefined;
    if (typeof emulator?.salesforceEmulatorSchemas === 'function' && typeof emulator.startSalesforceEmulator === 'function') {
      return { kind: 'salesforce', crm: new InMemoryCrm({ clock, schemas: emulator.salesforceEmulatorSchemas() }), profile: SALESFORCE_PROFILE };
    }
    return mockEngine(clock, 'the Salesforce emulator (@crm-sync/connector-salesforce) is not available in this build (run pnpm build); running on the mock CRM instead: same workflow, same data');
  }
  if (kind === 'dynamics') {
    const emulator = (await importOrNothing('@crm-sync/connector-dynamics/emulator')) as Partial<DataverseEmulatorModule> | undefined;
    if (typeof emulator?.dataverseSchemas === 'function' && typeof emulator.startDataverseEmulator === 'function') {
      // Dataverse keeps deleted records (audit) for 30 days by default.
      return { kind: 'dynamics', crm: new InMemoryCrm({ clock, schemas: emulator.dataverseSchemas(), deletedRetentionDays: 30 }), profile: DYNAMICS_PROFILE };
    }
    return mockEngine(clock, 'the Dataverse emulator (@crm-sync/connector-dynamics) is not available in this build (run pnpm build); running on the mock CRM instead: same workflow, same data');
  }
  return mockEngine(clock);
}

/** The demo must always run: a package that fails to load counts as absent (the mock takes over, with a note). */
async function importOrNothing(specifier: string): Promise<Record<string, unknown> | undefined> {
  try {
    return await importOptional(specifier);
  } catch {
    return undefined;
  }
}

function mockEngine(clock: CrmClock, fallbackNote?: string): DemoEngine {
  return { kind: 'mock', crm: new InMemoryCrm({ clock }), profile: MOCK_PROFILE, ...(fallbackNote !== undefined ? { fallbackNote } : {}) };
}

/** Starts the engine: the emulator and its connector, or the mock connector (with a note when it had to fall back). */
export async function startDemoCrm(engine: DemoEngine, logger: Logger): Promise<StartedDemoCrm> {
  const notes = engine.fallbackNote === undefined ? [] : [engine.fallbackNote];
  try {
    const started = await startEmulated(engine, logger, notes);
    if (started !== undefined) return started;
  } catch (thrown) {
    notes.push(`the ${engine.kind} emulator could not start (${thrown instanceof Error ? thrown.message : String(thrown)}); running on the mock connector over the same data`);
  }
  const connector = new MockConnector(engine.crm);
  return { connector, label: 'the mock CRM (in-process, @crm-sync/connector-mock)', notes, close: async () => connector.close() };
}

/** The emulator of a vendor engine and its connector; `undefined` for the mock engine or a connector that would not start. */
async function startEmulated(engine: DemoEngine, logger: Logger, notes: string[]): Promise<StartedDemoCrm | undefined> {
  if (engine.kind === 'salesforce') {
    const module = (await importOptional('@crm-sync/connector-salesforce/emulator')) as unknown as SalesforceEmulatorModule;
    const emulator = await module.startSalesforceEmulator({ crm: engine.crm });
    return connectToEmulator(emulator, logger, notes, {
      id: 'salesforce',
      className: 'SalesforceConnector',
      name: 'Salesforce',
      config: { instanceUrl: emulator.url, loginUrl: emulator.url, auth: { kind: 'access-token', accessToken: emulator.issueAccessToken() } },
      label: `the Salesforce emulator at ${emulator.url} (REST API over HTTP on loopback), through the Salesforce connector`,
    });
  }
  if (engine.kind === 'dynamics') {
    const module = (await importOptional('@crm-sync/connector-dynamics/emulator')) as unknown as DataverseEmulatorModule;
    const emulator = await module.startDataverseEmulator({ crm: engine.crm });
    return connectToEmulator(emulator, logger, notes, {
      id: 'dynamics',
      className: 'DynamicsConnector',
      name: 'Dynamics',
      config: emulator.connectorConfig(),
      label: `the Dataverse emulator at ${emulator.url} (Web API v9.2 over HTTP on loopback, Entra ID token via msal), through the Dynamics connector`,
    });
  }
  return undefined;
}

/** What differs between the vendors when the demo connects to an emulator. */
interface EmulatorConnection {
  readonly id: 'salesforce' | 'dynamics';
  readonly className: string;
  /** The vendor's name in messages. */
  readonly name: string;
  readonly config: Record<string, unknown>;
  readonly label: string;
}

/**
 * Opens the vendor connector on a started emulator. On failure the emulator is closed and a note
 * says why, so that the caller falls back to the mock connector.
 */
async function connectToEmulator(
  emulator: { close(): Promise<void> },
  logger: Logger,
  notes: string[],
  connection: EmulatorConnection,
): Promise<StartedDemoCrm | undefined> {
  const opened = await openVendor(
    { account: { name: 'demo', settings: { connector: connection.id }, directory: '.', origin: 'demo' }, logger },
    `@crm-sync/connector-${connection.id}`,
    connection.id,
    connection.className,
    connection.config,
  );
  if (opened.isErr()) {
    await emulator.close();
    notes.push(`the ${connection.name} connector could not start (${opened.error.message}); running on the mock connector over the same data`);
    return undefined;
  }
  const connector = opened.value.connector;
  return {
    connector,
    label: connection.label,
    notes,
    close: async () => {
      await connector.close?.();
      await emulator.close();
    },
  };
}
