/**
 * The dependency-injection plugin of the mock connector, for `createSyncContainer`.
 *
 * @module
 */
import { connectorPlugin, type ConnectorPlugin } from '@crm-sync/sdk';
import { InMemoryCrm } from './in-memory-crm.js';
import { MockConnector, type MockConnectorOptions } from './mock-connector.js';

/** Options of {@link mockConnector}: the connector's, plus the engine to sit on. */
export interface MockConnectorPluginOptions extends MockConnectorOptions {
  /** The CRM to read and write; default a fresh {@link InMemoryCrm} with the standard objects. */
  crm?: InMemoryCrm;
}

/** A plugin that registers a {@link MockConnector} (built lazily, once per container). */
export function mockConnector(options: MockConnectorPluginOptions = {}): ConnectorPlugin {
  const { crm, ...connectorOptions } = options;
  return connectorPlugin(options.id ?? 'mock', () => new MockConnector(crm ?? new InMemoryCrm(), connectorOptions));
}
