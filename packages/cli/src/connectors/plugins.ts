/**
 * Third-party connectors as plugins: a job's or account's `connector` may name an installed
 * package (`@acme/crm-sync-connector-relata`), a local path (`./connectors/relata`), or the id of
 * a discovered plugin. The package exports a `ConnectorPluginDefinition` as `crmSyncPlugin` (or as
 * its default export); the CLI validates the account's settings with its schema, builds its
 * `ConnectorPlugin`, registers it in a sync container and resolves the connector from there.
 *
 * Discovery (`crm-sync connectors list`, and `connector: <id>`): every package in a
 * `node_modules` folder of the working directory or one of its parents whose package.json lists
 * the keyword `crm-sync-connector`.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CONNECTOR_PLUGIN_EXPORT,
  createSyncContainer,
  registerSecret,
  SDK_VERSION,
  TOKENS,
  type ConnectorPlugin,
  type ConnectorPluginDefinition,
  type CrmConnector,
  type SettingsIssue,
} from '@crm-sync/sdk';
import { err, ok, type Result } from 'neverthrow';
import { describeThrown, invalidInput, type CliError } from '../cli-error.js';
import type { ConnectorOpenContext, OpenedConnector } from './registry.js';

/** The package.json keyword that makes a package a discoverable crm-sync connector. */
export const PLUGIN_KEYWORD = 'crm-sync-connector';

/** Where a plugin reference points: a package name or a file system path. */
export type PluginReference = { readonly kind: 'package'; readonly name: string } | { readonly kind: 'path'; readonly path: string };

/** A plugin loaded and checked. */
export interface LoadedPlugin {
  readonly definition: ConnectorPluginDefinition;
  /** The package name, when the plugin is a package. */
  readonly packageName?: string;
  /** The package version, when the plugin is a package. */
  readonly version?: string;
  /** The file the plugin was loaded from. */
  readonly file: string;
}

/** A `connector` value that is a path rather than a package name: `./x`, `../x`, `/x`, `C:\x`, `file:x`. */
export function isPathReference(reference: string): boolean {
  return reference.startsWith('./') || reference.startsWith('../') || reference === '.' || reference === '..' || reference.startsWith('file:') || isAbsolute(reference) || /^[a-zA-Z]:[\\/]/.test(reference);
}

/** Reads a `connector` value: a path resolves from `baseDirectory` (the folder of the file that holds it). */
export function pluginReference(reference: string, baseDirectory: string): PluginReference {
  if (!isPathReference(reference)) return { kind: 'package', name: reference };
  const path = reference.startsWith('file:') ? reference.slice('file:'.length).replace(/^\/\/(?=\/)/, '') : reference;
  return { kind: 'path', path: resolve(baseDirectory, path) };
}

/** Two references to the same plugin? */
export function sameReference(a: PluginReference, b: PluginReference): boolean {
  return a.kind === 'package' && b.kind === 'package' ? a.name === b.name : a.kind === 'path' && b.kind === 'path' && resolve(a.path) === resolve(b.path);
}

interface PackageJson {
  readonly name?: string;
  readonly version?: string;
  readonly keywords?: readonly string[];
  readonly exports?: unknown;
  readonly main?: string;
}

function readPackageJson(directory: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

/** The ESM entry of a package folder: `exports` (`.`, conditions import > node > default), else `main`, else `index.js`. */
function packageEntry(directory: string, pkg: PackageJson): string {
  const pick = (target: unknown): string | undefined => {
    if (typeof target === 'string') return target;
    if (Array.isArray(target)) return target.map(pick).find((value) => value !== undefined);
    if (typeof target !== 'object' || target === null) return undefined;
    const conditions = target as Record<string, unknown>;
    if ('.' in conditions) return pick(conditions['.']);
    for (const condition of ['import', 'node', 'default']) {
      const picked = condition in conditions ? pick(conditions[condition]) : undefined;
      if (picked !== undefined) return picked;
    }
    return undefined;
  };
  return resolve(directory, pick(pkg.exports) ?? pkg.main ?? 'index.js');
}

/** The folder of package `name` in a `node_modules` of `from` or one of its parents. */
function locatePackage(name: string, from: string): string | undefined {
  let directory = resolve(from);
  for (;;) {
    const candidate = join(directory, 'node_modules', ...name.split('/'));
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

/** The message's end for a plugin that cannot be used. */
const HOW_TO_EXPORT = `export a plugin made with defineConnectorPlugin (from @crm-sync/sdk) as ${CONNECTOR_PLUGIN_EXPORT} (see docs/guides/writing-a-connector.md)`;

/** Imports and checks the plugin at `reference`; every failure is an input error (exit 2) saying how to fix it. */
export async function loadPlugin(reference: PluginReference, searchFrom: readonly string[]): Promise<Result<LoadedPlugin, CliError>> {
  let file: string;
  let pkg: PackageJson | undefined;
  const label = reference.kind === 'package' ? `package ${reference.name}` : `path ${reference.path}`;
  if (reference.kind === 'package') {
    const directory = searchFrom.map((from) => locatePackage(reference.name, from)).find((found) => found !== undefined);
    if (directory === undefined) {
      return err(
        invalidInput(
          `connector "${reference.name}" is neither built in (mock, salesforce, dynamics) nor an installed package (looked in the node_modules of ${searchFrom.join(' and ')} and their parents): install the connector package there (npm install <its folder or tarball>), give a path (connector: ./path/to/connector), or list what is installed with crm-sync connectors list`,
        ),
      );
    }
    pkg = readPackageJson(directory);
    file = packageEntry(directory, pkg ?? {});
  } else if (!existsSync(reference.path)) {
    return err(invalidInput(`connector path ${reference.path} does not exist: give the folder of a connector package (with its package.json) or its built entry file, relative to the file that names it`));
  } else if (statSync(reference.path).isDirectory()) {
    pkg = readPackageJson(reference.path);
    if (pkg === undefined) return err(invalidInput(`connector path ${reference.path} is a folder without a package.json: give the connector package's folder, or its built entry file (dist/index.js)`));
    file = packageEntry(reference.path, pkg);
  } else {
    file = reference.path;
  }
  if (!existsSync(file)) {
    return err(invalidInput(`connector ${label}: its entry ${file} does not exist; build the connector (npm run build) or fix "exports" in its package.json`));
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (thrown) {
    return err(invalidInput(`connector ${label} failed to load (${file}): ${firstLine(describeThrown(thrown))}; rebuild or reinstall it (its dependencies, @crm-sync/sdk included, must be installed)`));
  }
  const definition = module[CONNECTOR_PLUGIN_EXPORT] ?? module.default;
  const problem = definitionProblem(definition);
  if (problem !== undefined) return err(invalidInput(`connector ${label} exports nothing usable: ${problem}; ${HOW_TO_EXPORT}`));
  const plugin = definition as ConnectorPluginDefinition;
  const theirs = majorOf(plugin.sdkVersion);
  const ours = majorOf(SDK_VERSION);
  if (theirs !== ours) {
    return err(
      invalidInput(
        `connector ${label} (${plugin.id}) was built with @crm-sync/sdk ${plugin.sdkVersion}, but this crm-sync uses @crm-sync/sdk ${SDK_VERSION}: major versions ${theirs} and ${ours} are not compatible; install a version of the connector built for @crm-sync/sdk ${ours}.x`,
      ),
    );
  }
  return ok({ definition: plugin, file, ...(pkg?.name !== undefined ? { packageName: pkg.name } : {}), ...(pkg?.version !== undefined ? { version: pkg.version } : {}) });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

function majorOf(version: string): string {
  return /^(\d+)\./.exec(version)?.[1] ?? version;
}

/** What is wrong with an export that should be a plugin definition; `undefined` when nothing is. */
function definitionProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return `no export ${CONNECTOR_PLUGIN_EXPORT} (nor a default export) that is an object`;
  const candidate = value as Partial<Record<keyof ConnectorPluginDefinition, unknown>>;
  const missing: string[] = [];
  if (typeof candidate.id !== 'string' || candidate.id === '') missing.push('id (a string)');
  if (typeof candidate.sdkVersion !== 'string') missing.push('sdkVersion (stamped by defineConnectorPlugin)');
  if (typeof candidate.plugin !== 'function') missing.push('plugin (a function of the settings)');
  const standard = (candidate.settings as { '~standard'?: { validate?: unknown } } | undefined)?.['~standard'];
  if (typeof standard?.validate !== 'function') missing.push('settings (a Standard Schema, e.g. from settingsSchema)');
  return missing.length > 0 ? `${CONNECTOR_PLUGIN_EXPORT} lacks ${missing.join(', ')}` : undefined;
}

/** `['auth', {key: 'id'}]` -> `auth.id`. */
function issuePath(issue: SettingsIssue): string[] {
  return (issue.path ?? []).map((part) => String(typeof part === 'object' && part !== null ? part.key : part));
}

/** Validates the account with the plugin's schema, builds the connector through its DI plugin. */
export async function openPluginConnector(loaded: LoadedPlugin, context: ConnectorOpenContext): Promise<Result<OpenedConnector, CliError>> {
  const { definition } = loaded;
  const { account } = context;
  const where = `[${definition.id}] account "${account.name}" (${account.origin})`;
  // maxConcurrentJobs is crm-sync's (for its workers), not the connector's.
  const { connector: _connector, maxConcurrentJobs: _maxConcurrentJobs, ...settings } = account.settings;
  for (const key of definition.secretSettings ?? []) {
    const value = settings[key];
    if (typeof value === 'string' && value !== '') registerSecret(value);
  }
  let validated: Awaited<ReturnType<ConnectorPluginDefinition['settings']['~standard']['validate']>>;
  try {
    validated = await definition.settings['~standard'].validate(settings);
  } catch (thrown) {
    return err(invalidInput(`${where}: the connector's settings schema failed: ${firstLine(describeThrown(thrown))}`));
  }
  if (validated.issues !== undefined) {
    const lines = validated.issues.map((issue) => `${where}: accounts.${[account.name, ...issuePath(issue)].join('.')}: ${issue.message}`);
    return err(invalidInput(lines.join('\n')));
  }
  let connector: CrmConnector;
  try {
    const plugin: ConnectorPlugin = definition.plugin(validated.value, { logger: context.logger, directory: account.directory });
    if (typeof plugin?.register !== 'function') throw new Error(`${CONNECTOR_PLUGIN_EXPORT}.plugin() returned no ConnectorPlugin (use connectorPlugin(id, factory) from @crm-sync/sdk)`);
    connector = createSyncContainer([plugin], { Logger: context.logger }).resolve<CrmConnector>(TOKENS.Connector);
  } catch (thrown) {
    return err(invalidInput(`${where}: ${firstLine(describeThrown(thrown)).replace(/^\[crm-sync\] \[[^\]]+\] /, '')}`));
  }
  if (typeof connector?.describe !== 'function' || typeof connector.query !== 'function' || typeof connector.capabilities !== 'object') {
    return err(invalidInput(`connector ${definition.id}: the plugin registered something that is not a CrmConnector; ${HOW_TO_EXPORT}`));
  }
  return ok({ connector, notes: [], close: async () => connector.close?.() });
}

/** A package found by discovery. */
export interface DiscoveredPackage {
  readonly name: string;
  readonly version: string;
  readonly directory: string;
}

/** Packages whose package.json lists the keyword `crm-sync-connector`, in the `node_modules` of `from` and its parents (the nearest wins). */
export function discoverPlugins(from: string): DiscoveredPackage[] {
  const found = new Map<string, DiscoveredPackage>();
  let directory = resolve(from);
  for (;;) {
    const modules = join(directory, 'node_modules');
    for (const name of packageNames(modules)) {
      if (found.has(name)) continue;
      const packageDirectory = join(modules, ...name.split('/'));
      const pkg = readPackageJson(packageDirectory);
      if (pkg?.keywords?.includes(PLUGIN_KEYWORD) === true) found.set(name, { name, version: pkg.version ?? 'unknown', directory: packageDirectory });
    }
    const parent = dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The package names in a node_modules folder, scoped ones included. */
function packageNames(modules: string): string[] {
  const list = (dir: string) => {
    try {
      return readdirSync(dir).filter((entry) => !entry.startsWith('.'));
    } catch {
      return [];
    }
  };
  return list(modules).flatMap((entry) => (entry.startsWith('@') ? list(join(modules, entry)).map((inner) => `${entry}/${inner}`) : [entry]));
}
