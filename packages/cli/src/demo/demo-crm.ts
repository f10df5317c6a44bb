/**
 * Where the demo's CRM runs: the Salesforce emulator (a real HTTP server on 127.0.0.1) through the
 * real Salesforce connector when that package is available (the default), or the mock connector
 * in-process. A missing package falls back to the mock, and says so.
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
import { MOCK_PROFILE, SALESFORCE_PROFILE, type DemoProfile } from './demo-profile.js';

/** The CRMs the demo can run against. */
export type DemoCrm = 'salesforce' | 'dynamics' | 'mock';

/** A running demo CRM. */
export interface StartedDemoCrm {
  readonly connector: CrmConnector;
  /** What the demo runs on, for the output. */
  readonly label: string;
  readonly notes: readonly string[];
  close(): Promise<void>;
}

/** The demo CRM's engine, before it is started. */
export interface DemoEngine {
  readonly kind: 'salesforce' | 'mock';
  readonly crm: InMemoryCrm;
  readonly profile: DemoProfile;
  /** Why the CRM asked for is not the one used, when it is not. */
  readonly fallbackNote?: string;
}

interface SalesforceEmulatorModule {
  salesforceEmulatorSchemas(): MockObjectSchema[];
  startSalesforceEmulator(options: { crm: InMemoryCrm }): Promise<{ url: string; issueAccessToken(): string; close(): Promise<void> }>;
}

/** Builds the engine for `kind`: Salesforce-shaped objects when the emulator is available. */
export async function createDemoEngine(kind: DemoCrm, clock: CrmClock): Promise<DemoEngine> {
  if (kind === 'salesforce') {
    const emulator = (await importOptional('@crm-sync/connector-salesforce/emulator')) as Partial<SalesforceEmulatorModule> | undefined;
    if (typeof emulator?.salesforceEmulatorSchemas === 'function' && typeof emulator.startSalesforceEmulator === 'function') {
      return { kind: 'salesforce', crm: new InMemoryCrm({ clock, schemas: emulator.salesforceEmulatorSchemas() }), profile: SALESFORCE_PROFILE };
    }
    return mockEngine(clock, 'the Salesforce emulator (@crm-sync/connector-salesforce) is not available in this build (run pnpm build); running on the mock CRM instead: same workflow, same data');
  }
  if (kind === 'dynamics') {
    return mockEngine(clock, 'the demo runs on the Salesforce emulator or the mock CRM; --crm dynamics is not wired into the demo yet, so it runs on the mock CRM: same workflow, same data');
  }
  return mockEngine(clock);
}

function mockEngine(clock: CrmClock, fallbackNote?: string): DemoEngine {
  return { kind: 'mock', crm: new InMemoryCrm({ clock }), profile: MOCK_PROFILE, ...(fallbackNote !== undefined ? { fallbackNote } : {}) };
}

/** Starts the engine: the emulator and its connector, or the mock connector. */
export async function startDemoCrm(engine: DemoEngine, logger: Logger): Promise<StartedDemoCrm> {
  const notes = engine.fallbackNote === undefined ? [] : [engine.fallbackNote];
  if (engine.kind === 'salesforce') {
    const module = (await importOptional('@crm-sync/connector-salesforce/emulator')) as unknown as SalesforceEmulatorModule;
    const emulator = await module.startSalesforceEmulator({ crm: engine.crm });
    const opened = await openVendor(
      { account: { name: 'demo', settings: { connector: 'salesforce' }, directory: '.', origin: 'demo' }, logger },
      '@crm-sync/connector-salesforce',
      'salesforce',
      'SalesforceConnector',
      { instanceUrl: emulator.url, loginUrl: emulator.url, auth: { kind: 'access-token', accessToken: emulator.issueAccessToken() } },
    );
    if (opened.isOk()) {
      const connector = opened.value.connector;
      return {
        connector,
        label: `the Salesforce emulator at ${emulator.url} (REST API over HTTP on loopback), through the Salesforce connector`,
        notes,
        close: async () => {
          await connector.close?.();
          await emulator.close();
        },
      };
    }
    await emulator.close();
    notes.push(`the Salesforce connector could not start (${opened.error.message}); running on the mock connector over the same data`);
  }
  const connector = new MockConnector(engine.crm);
  return { connector, label: 'the mock CRM (in-process, @crm-sync/connector-mock)', notes, close: async () => connector.close() };
}
