/**
 * How a connector package plugs into a sync container.
 *
 * @module
 */
import './reflect.js';
import type { DependencyContainer } from 'tsyringe';
import type { CrmConnector } from '../contract/connector.js';
import { TOKENS } from './tokens.js';

/**
 * A connector's registration: each connector package exports a function returning one, e.g.
 * `salesforceConnector(config)`. `register` must register {@link TOKENS.Connector} with
 * `useFactory`, so that the connector is built lazily, from the container, only when resolved.
 */
export interface ConnectorPlugin {
  /** The connector id (`salesforce`, `dynamics`, `mock`, ...). */
  readonly id: string;
  register(container: DependencyContainer): void;
}

/**
 * A plugin from a factory: the common case, so connector packages need not touch tsyringe.
 * The factory runs once per container (its result is cached).
 */
export function connectorPlugin(id: string, factory: (container: DependencyContainer) => CrmConnector): ConnectorPlugin {
  return {
    id,
    register(container) {
      let instance: CrmConnector | undefined;
      container.register(TOKENS.Connector, { useFactory: (c) => (instance ??= factory(c)) });
    },
  };
}
