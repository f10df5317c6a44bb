/**
 * `crm-sync connectors list`: the built-in connectors and the connector plugins installed in the
 * project (packages whose package.json lists the keyword `crm-sync-connector`), with their
 * versions and capabilities. A plugin that cannot be loaded is listed with the reason.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ConnectorCapabilities } from '@crm-sync/sdk';
import { discoverPlugins, loadPlugin } from '../connectors/plugins.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { println, type CliIo } from '../io.js';
import { renderTable } from '../report/table.js';

/** One line of `crm-sync connectors list`. */
export interface ListedConnector {
  /** The id (`salesforce`, `acme`); for a plugin that failed to load, its package name. */
  readonly id: string;
  /** `built-in` or `plugin`. */
  readonly kind: 'built-in' | 'plugin';
  /** The package, and its version (`not installed` when a built-in's package is missing). */
  readonly package: string;
  readonly version: string;
  /** What `connector:` to write in a job and an account. */
  readonly use: string;
  /** The capabilities, as a short text. */
  readonly capabilities: string;
  /** Why a discovered plugin cannot be used. */
  readonly error?: string;
}

/** The built-in connectors' packages and what they can do with a default configuration (a test compares with the connectors). */
const BUILT_INS: readonly { id: string; packageName: string; capabilities: Partial<ConnectorCapabilities> }[] = [
  { id: 'mock', packageName: '@crm-sync/connector-mock', capabilities: { upsertByExternalId: true, deletedRetentionDays: 15, serverTime: true, maxPageSize: 10_000, maxUpsertBatch: 200, changeFields: ['updatedAt'] } },
  { id: 'salesforce', packageName: '@crm-sync/connector-salesforce', capabilities: { upsertByExternalId: true, deletedRetentionDays: 15, serverTime: true, maxPageSize: 2000, maxUpsertBatch: 200, changeFields: ['LastModifiedDate', 'SystemModstamp'] } },
  { id: 'dynamics', packageName: '@crm-sync/connector-dynamics', capabilities: { upsertByExternalId: true, deletedRetentionDays: 30, serverTime: true, maxPageSize: 5000, maxUpsertBatch: 1000, changeFields: ['modifiedon'] } },
];

/** `query (pages of 200), upsert by external id, delete, deletions kept 30 days, server time`. */
export function capabilityText(capabilities: Partial<ConnectorCapabilities>): string {
  const parts = [`query${capabilities.maxPageSize !== undefined ? ` (pages of ${capabilities.maxPageSize})` : ''}`];
  parts.push(`insert/update${capabilities.upsertByExternalId === true ? '/upsert by external id' : ''}${capabilities.maxUpsertBatch !== undefined ? ` (batches of ${capabilities.maxUpsertBatch})` : ''}`);
  parts.push('delete');
  const days = capabilities.deletedRetentionDays;
  parts.push(days === null || days === undefined ? 'no deletion history' : `deletions kept ${days} days`);
  if (capabilities.serverTime === true) parts.push('server time');
  if (capabilities.changeFields !== undefined && capabilities.changeFields.length > 0) parts.push(`change field ${capabilities.changeFields.join('/')}`);
  return parts.join(', ');
}

function builtInVersion(packageName: string): string {
  try {
    const file = createRequire(import.meta.url).resolve(`${packageName}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

/** Lists the connectors: built-ins, then the plugins discovered from the working directory. */
export async function listConnectors(cwd: string): Promise<ListedConnector[]> {
  const listed: ListedConnector[] = BUILT_INS.map((builtIn) => ({
    id: builtIn.id,
    kind: 'built-in',
    package: builtIn.packageName,
    version: builtInVersion(builtIn.packageName),
    use: builtIn.id,
    capabilities: capabilityText(builtIn.capabilities),
  }));
  for (const found of discoverPlugins(cwd)) {
    const loaded = await loadPlugin({ kind: 'package', name: found.name }, [cwd]);
    if (loaded.isErr()) {
      listed.push({ id: found.name, kind: 'plugin', package: found.name, version: found.version, use: found.name, capabilities: '', error: loaded.error.message.replace(/^\[crm-sync\] /, '') });
    } else {
      const { definition } = loaded.value;
      listed.push({ id: definition.id, kind: 'plugin', package: found.name, version: found.version, use: found.name, capabilities: capabilityText(definition.capabilities ?? {}) });
    }
  }
  return listed;
}

/** `crm-sync connectors list [--json]`. */
export async function connectorsList(io: CliIo, options: { readonly json?: boolean }): Promise<ExitCodeValue> {
  const listed = await listConnectors(io.cwd);
  if (options.json === true) {
    println(io, JSON.stringify(listed));
    return ExitCode.ok;
  }
  println(io, renderTable(['Connector', 'Kind', 'Package', 'Version', 'connector:', 'Capabilities'], listed.map((item) => [item.id, item.kind, item.package, item.version, item.use, item.error !== undefined ? `cannot be used: ${item.error}` : item.capabilities])));
  if (!listed.some((item) => item.kind === 'plugin')) {
    println(io, `\nNo connector plugins installed here (packages in node_modules whose package.json lists the keyword "crm-sync-connector"). A job may also name a plugin by path: connector: ./path/to/connector`);
  }
  return ExitCode.ok;
}
