/**
 * How a connector package plugs into a sync container.
 *
 * @module
 */
import './reflect.js';
import { readFileSync } from 'node:fs';
import type { Result } from 'neverthrow';
import type { DependencyContainer } from 'tsyringe';
import type { ConnectorCapabilities } from '../contract/capabilities.js';
import type { CrmConnector } from '../contract/connector.js';
import type { Logger } from '../runtime/logger.js';
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

/** The version of this SDK, read from its package.json (one level above both `src/` and `dist/`). */
function readSdkVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/**
 * The version of the SDK a plugin was built with: {@link defineConnectorPlugin} stamps it into the
 * definition, and the CLI refuses a plugin whose major version differs from its own SDK's.
 */
export const SDK_VERSION: string = readSdkVersion();

/** The name of the export the CLI loads from a connector package (a default export works too). */
export const CONNECTOR_PLUGIN_EXPORT = 'crmSyncPlugin';

/** One problem with a connector's settings: what is wrong and where (the keys leading to it). */
export interface SettingsIssue {
  /** What is wrong and how to fix it. Never the value itself: settings hold secrets. */
  readonly message: string;
  /** The keys leading to the setting, e.g. `['auth', 'clientId']`; absent for the settings as a whole. */
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[];
}

/** The outcome of validating settings: the settings to build the connector with, or the issues. */
export type SettingsValidation<Settings> = { readonly value: Settings; readonly issues?: undefined } | { readonly issues: readonly SettingsIssue[] };

/**
 * A schema for a connector's account settings, in the Standard Schema v1 shape
 * (https://standardschema.dev): zod 4, valibot and arktype schemas are ones already, and
 * {@link settingsSchema} makes one from a plain validation function.
 */
export interface SettingsSchema<Settings> {
  /** The Standard Schema interface. */
  readonly '~standard': {
    /** Always 1. */
    readonly version: 1;
    /** The library (or connector) that made the schema. */
    readonly vendor: string;
    /** Validates the settings as read from the accounts file (without its `connector` key). */
    readonly validate: (value: unknown) => SettingsValidation<Settings> | Promise<SettingsValidation<Settings>>;
  };
}

/** A settings schema from a function that returns the settings or the issues: no schema library needed. */
export function settingsSchema<Settings>(vendor: string, validate: (input: unknown) => Result<Settings, readonly SettingsIssue[]>): SettingsSchema<Settings> {
  return {
    '~standard': {
      version: 1,
      vendor,
      validate: (value) => {
        const checked = validate(value);
        return checked.isOk() ? { value: checked.value } : { issues: checked.error };
      },
    },
  };
}

/** What the CLI gives a plugin besides the settings. */
export interface ConnectorPluginContext {
  /** The run's logger (redacted). */
  readonly logger: Logger;
  /** The folder relative paths in the settings resolve from (the accounts file's). */
  readonly directory: string;
}

/**
 * What a connector package exports as `crmSyncPlugin` (see {@link CONNECTOR_PLUGIN_EXPORT}) so
 * that the `crm-sync` CLI can run it: `connector: <package name or path>` in a job and an account.
 * The CLI validates the account's settings with `settings`, builds the {@link ConnectorPlugin} with
 * `plugin(settings, context)`, registers it in a container and runs the job through the connector.
 * Make it with {@link defineConnectorPlugin}, which stamps {@link SDK_VERSION}.
 */
export interface ConnectorPluginDefinition<Settings = unknown> {
  /** The connector id (`acme`): prefixes messages, and `crm-sync connectors list` shows it. */
  readonly id: string;
  /** One line saying which CRM this connects to. */
  readonly title: string;
  /** The SDK version the plugin was built with; the CLI refuses another major version. */
  readonly sdkVersion: string;
  /** Validates an account's settings (the keys other than `connector`). */
  readonly settings: SettingsSchema<Settings>;
  /** Setting keys whose values are secrets: registered for redaction before validation. */
  readonly secretSettings: readonly string[];
  /** What the connector can do, as `crm-sync connectors list` shows it (the connector's own capabilities win at run time). */
  readonly capabilities: Partial<ConnectorCapabilities>;
  /** The connector's DI plugin for validated settings. */
  plugin(settings: Settings, context: ConnectorPluginContext): ConnectorPlugin;
}

/** A {@link ConnectorPluginDefinition}, stamped with the SDK version it is built with. */
export function defineConnectorPlugin<Settings>(definition: Omit<ConnectorPluginDefinition<Settings>, 'sdkVersion'>): ConnectorPluginDefinition<Settings> {
  return { ...definition, sdkVersion: SDK_VERSION };
}
