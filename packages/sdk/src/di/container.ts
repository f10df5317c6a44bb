/**
 * The sync container: tsyringe wiring of a connector plugin, stores, logger, clock and runtime
 * options. A convenience: every class also works with plain constructors.
 *
 * @module
 */
import './reflect.js';
import { container as rootContainer, instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import type { CrmConnector } from '../contract/connector.js';
import { noopLogger, type Logger } from '../runtime/logger.js';
import type { RuntimeConnector } from '../runtime/runtime-connector.js';
import type { RuntimeOptions } from '../runtime/runtime-options.js';
import type { ExportJournal, OptionStore, RecordSink, RecordSource } from '../stores/types.js';
import type { ConnectorPlugin } from './plugin.js';
import { RuntimeConnectorFactory } from './runtime-connector-factory.js';
import { systemClock, TOKENS, type Clock } from './tokens.js';

/** Values that replace (or provide) registrations, by token name. */
export interface SyncContainerOverrides {
  readonly Connector?: CrmConnector;
  readonly Logger?: Logger;
  readonly Clock?: Clock;
  readonly OptionStore?: OptionStore;
  readonly ExportJournal?: ExportJournal;
  readonly RecordSink?: RecordSink;
  readonly RecordSource?: RecordSource;
  readonly RuntimeOptions?: RuntimeOptions;
}

/**
 * Creates a child container of tsyringe's root with: defaults (no-op logger, system clock, empty
 * runtime options), each plugin's registrations, then `overrides` as values, and
 * {@link TOKENS.RuntimeConnector} resolving to one `RuntimeConnector` per container.
 *
 * Stores have no default on purpose: where watermarks and the journal live decides whether a
 * crash loses data, so the application chooses. A container serves one connector: every plugin
 * registers {@link TOKENS.Connector}, so a second plugin would silently replace the first; two
 * plugins are refused as a wiring error (create one container per connector instead).
 */
export function createSyncContainer(plugins: readonly ConnectorPlugin[], overrides: SyncContainerOverrides = {}): DependencyContainer {
  const ids = new Set<string>();
  for (const plugin of plugins) {
    if (ids.has(plugin.id)) throw new RangeError(`[crm-sync] [di] two connector plugins have the id "${plugin.id}"; register each connector once`);
    ids.add(plugin.id);
  }
  if (plugins.length > 1) {
    throw new RangeError(
      `[crm-sync] [di] plugins ${plugins.map((plugin) => `"${plugin.id}"`).join(', ')} would all register the one connector of this container, and the last would silently win; create one container per connector: createSyncContainer([plugin])`,
    );
  }
  const container = rootContainer.createChildContainer();
  container.register(TOKENS.Logger, { useValue: noopLogger });
  container.register(TOKENS.Clock, { useValue: systemClock });
  container.register(TOKENS.RuntimeOptions, { useValue: {} });
  for (const plugin of plugins) plugin.register(container);
  for (const [name, value] of Object.entries(overrides)) {
    if (value !== undefined) container.register(TOKENS[name as keyof SyncContainerOverrides], { useValue: value });
  }
  container.register(RuntimeConnectorFactory, { useClass: RuntimeConnectorFactory });
  container.register<RuntimeConnector>(TOKENS.RuntimeConnector, {
    useFactory: instanceCachingFactory((c) => c.resolve(RuntimeConnectorFactory).create()),
  });
  return container;
}
