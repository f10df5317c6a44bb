/**
 * Injection tokens. Explicit string tokens on every injected parameter: they work with every
 * TypeScript transformer (tsc, Oxc, esbuild) and with interfaces, which have no runtime value.
 *
 * @module
 */

/** The tokens of a sync container, one per thing a job needs. */
export const TOKENS = {
  /** The raw `CrmConnector`, registered by a {@link ConnectorPlugin}. */
  Connector: 'crm-sync:Connector',
  /** The `RuntimeConnector` wrapping the connector (one per container). */
  RuntimeConnector: 'crm-sync:RuntimeConnector',
  /** A `Logger` (pino-compatible). Default: no logging. */
  Logger: 'crm-sync:Logger',
  /** A {@link Clock}. Default: the system clock. */
  Clock: 'crm-sync:Clock',
  /** The `OptionStore` holding watermarks. No default: durability is the application's choice. */
  OptionStore: 'crm-sync:OptionStore',
  /** The `ExportJournal`. No default. */
  ExportJournal: 'crm-sync:ExportJournal',
  /** Where imported records go. No default. */
  RecordSink: 'crm-sync:RecordSink',
  /** Where exported records come from. No default. */
  RecordSource: 'crm-sync:RecordSource',
  /** `RuntimeOptions` for the runtime wrapper. Default `{}`. */
  RuntimeOptions: 'crm-sync:RuntimeOptions',
} as const;

/** The name of a token, e.g. `Connector`. */
export type TokenName = keyof typeof TOKENS;

/** The current time, injectable so that tests and replays control it. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };
