/**
 * Connectors by id, each loaded lazily with `import()`: a user who only runs the mock never
 * loads jsforce or msal, and a connector package that is missing or not built yet gives a clear
 * "not available" message (exit 2) instead of a crash at start-up.
 *
 * @module
 */
import type { CrmConnector, Logger } from '@crm-sync/sdk';
import { err, type Result } from 'neverthrow';
import type { ResolvedAccount } from '../accounts/load-accounts.js';
import { invalidInput, type CliError } from '../cli-error.js';
import { openMockConnector } from './mock-connector.js';
import { discoverPlugins, loadPlugin, openPluginConnector, pluginReference, sameReference } from './plugins.js';
import { openDynamicsConnector, openSalesforceConnector } from './vendor-connectors.js';

/** A connector ready for a run, and how to release it. */
export interface OpenedConnector {
  readonly connector: CrmConnector;
  /** Saves state (persistent mock) and closes sockets. Call once, after the run. */
  close(): Promise<void>;
  /**
   * Makes the CRM's current state durable where that is the CLI's job (a persistent mock CRM).
   * Called once the job has passed every check, so an invalid job leaves no file behind.
   */
  persist?(): void;
  /** Facts worth showing the user (e.g. where a mock CRM keeps its data). */
  readonly notes: readonly string[];
}

/** What opening a connector may use. */
export interface ConnectorOpenContext {
  readonly account: ResolvedAccount;
  readonly logger: Logger;
  /** The SQLite file of the run, when there is one: a persistent mock CRM keeps its JSON next to it. */
  readonly databasePath?: string;
  /** Nothing may be changed (dry run): a persistent mock CRM is read but never saved. */
  readonly readOnly?: boolean;
  /** The folder a connector path given to {@link openConnector} resolves from (the job file's); default the account's. */
  readonly referenceDirectory?: string;
  /** The working directory: plugin packages are looked up in its node_modules too. */
  readonly cwd?: string;
}

/** Opens one connector. */
type ConnectorOpener = (context: ConnectorOpenContext) => Promise<Result<OpenedConnector, CliError>>;

/** The connectors this CLI knows, by id. */
const CONNECTORS: Readonly<Record<string, ConnectorOpener>> = {
  mock: openMockConnector,
  salesforce: openSalesforceConnector,
  dynamics: openDynamicsConnector,
};

/**
 * Opens the connector `id` with `account`: a built-in id, or a plugin (an installed package, a
 * path, or the id of a discovered plugin; see plugins.ts). An unknown id, a plugin that cannot be
 * used or a mismatching account is an input error.
 */
export async function openConnector(id: string, context: ConnectorOpenContext): Promise<Result<OpenedConnector, CliError>> {
  const opener = CONNECTORS[id];
  const accountConnector = context.account.settings.connector;
  const mismatch = () =>
    err(
      invalidInput(`account "${context.account.name}" (${context.account.origin}) is for connector "${accountConnector}", but the job uses connector "${id}"; use an account of connector ${id}`),
    );
  if (opener !== undefined) return accountConnector === id ? opener(context) : mismatch();
  const fromJob = pluginReference(id, context.referenceDirectory ?? context.account.directory);
  const searchFrom = [...new Set([context.cwd ?? process.cwd(), context.account.directory])];
  if (CONNECTORS[accountConnector] !== undefined) {
    // A typo (`connector: hubspto`) is better reported as unknown than as a mismatch.
    const jobPlugin = await loadPlugin(fromJob, searchFrom);
    return jobPlugin.isErr() ? err(jobPlugin.error) : mismatch();
  }
  const fromAccount = pluginReference(accountConnector, context.account.directory);
  if (!sameReference(fromJob, fromAccount)) return mismatch();
  let loaded = await loadPlugin(fromAccount, searchFrom);
  if (loaded.isErr() && fromAccount.kind === 'package' && !fromAccount.name.includes('/')) {
    // `connector: acme`: the id of a discovered plugin.
    for (const found of searchFrom.flatMap((from) => discoverPlugins(from))) {
      const candidate = await loadPlugin({ kind: 'path', path: found.directory }, searchFrom);
      if (candidate.isOk() && candidate.value.definition.id === fromAccount.name) {
        loaded = candidate;
        break;
      }
    }
  }
  if (loaded.isErr()) return err(loaded.error);
  return openPluginConnector(loaded.value, context);
}

/** Node's codes for "no such package, or not built": the only failures that mean "not installed". */
const NOT_INSTALLED = new Set(['ERR_MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'MODULE_NOT_FOUND', 'ERR_UNSUPPORTED_DIR_IMPORT']);

/**
 * Imports an optional package. `undefined` when it is not installed or not built; the module
 * name is a variable so that TypeScript does not need the package to compile the CLI. A package
 * that is there but fails while loading is a bug worth seeing: that error is thrown on.
 */
export async function importOptional(specifier: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (thrown) {
    const code = (thrown as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_INSTALLED.has(code)) return undefined;
    // vitest reports a missing package without a Node error code.
    if (thrown instanceof Error && /Cannot find (module|package)|Failed to (resolve|load url)/i.test(thrown.message)) return undefined;
    throw thrown;
  }
}
