/**
 * Finds an account by name: in the accounts file (`--accounts`, else `$CRM_SYNC_ACCOUNTS`, else
 * `./crm-sync.accounts.yaml`) and in environment variables `CRM_SYNC_ACCOUNT_<NAME>_<KEY>`
 * (which win over the file, key by key). Every secret is registered the moment it is read.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { registerSecret } from '@crm-sync/sdk';
import { err, ok, type Result } from 'neverthrow';
import { invalidInput, type CliError } from '../cli-error.js';
import { fileError } from '../job/load-job.js';
import { zodIssuesToFileIssues } from '../job/schema-issues.js';
import { readYamlFile } from '../yaml-file.js';
import { accountSchema, dynamicsAccountSchema, mockAccountSchema, salesforceAccountSchema, SECRET_ACCOUNT_KEYS, type AccountSettings } from './account-schema.js';

/** The default accounts file, relative to the working directory. */
export const DEFAULT_ACCOUNTS_FILE = 'crm-sync.accounts.yaml';

/** Where to look for accounts. */
export interface AccountLookup {
  /** `--accounts`, when given. */
  readonly file?: string;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** A resolved account. */
export interface ResolvedAccount {
  readonly name: string;
  readonly settings: AccountSettings;
  /** The directory relative paths in the account resolve from (the accounts file's, or cwd). */
  readonly directory: string;
  /** Where it came from, for messages: a file path and/or `environment`. */
  readonly origin: string;
}

/** The accounts file that applies, and whether the user named it explicitly. */
function accountsFilePath(lookup: AccountLookup): { path: string; explicit: boolean } {
  if (lookup.file !== undefined) return { path: resolve(lookup.cwd, lookup.file), explicit: true };
  const fromEnv = lookup.env.CRM_SYNC_ACCOUNTS;
  if (fromEnv !== undefined && fromEnv !== '') return { path: resolve(lookup.cwd, fromEnv), explicit: true };
  return { path: resolve(lookup.cwd, DEFAULT_ACCOUNTS_FILE), explicit: false };
}

/** The environment prefix of an account: `CRM_SYNC_ACCOUNT_SALES_ORG_` for `sales-org`. */
function environmentPrefix(name: string): string {
  return `CRM_SYNC_ACCOUNT_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`;
}

/** Resolves the account `name`, checking it against its connector's settings. */
export function loadAccount(name: string, lookup: AccountLookup): Result<ResolvedAccount, CliError> {
  const { path, explicit } = accountsFilePath(lookup);
  let fromFile: Record<string, unknown> | undefined;
  let directory = lookup.cwd;
  const origins: string[] = [];
  if (existsSync(path)) {
    const read = readYamlFile(path, 'accounts file');
    if (read.isErr()) return err(read.error);
    const data = read.value.data as { accounts?: unknown } | null;
    const accounts = data?.accounts;
    if (typeof accounts !== 'object' || accounts === null || Array.isArray(accounts)) {
      return err(invalidInput(`${path}: accounts: expected a map of account names to settings, e.g.\naccounts:\n  demo:\n    connector: mock`));
    }
    const entry = (accounts as Record<string, unknown>)[name];
    registerSecretsDeep(accounts);
    if (entry !== undefined) {
      if (typeof entry !== 'object' || entry === null) {
        return err(invalidInput(`${path}: accounts.${name}: expected the account's settings (a map with connector: ...)`));
      }
      fromFile = { ...(entry as Record<string, unknown>) };
      directory = dirname(path);
      origins.push(path);
    }
    const settings = fromFile === undefined ? undefined : mergeEnvironment(fromFile, name, lookup.env, origins);
    if (settings !== undefined) return checkAccount(name, settings, path, read.value, directory, origins);
  } else if (explicit) {
    return err(invalidInput(`${path}: cannot read the accounts file: file not found; pass --accounts <file> or set CRM_SYNC_ACCOUNTS`));
  }
  const fromEnv = mergeEnvironment({}, name, lookup.env, origins);
  if (Object.keys(fromEnv).length === 0) {
    return err(
      invalidInput(
        `account "${name}" not found: add it under accounts: in ${path} (or pass --accounts <file>), or set ${environmentPrefix(name)}CONNECTOR and its other keys in the environment`,
      ),
    );
  }
  return checkAccount(name, fromEnv, 'environment', undefined, directory, origins);
}

function mergeEnvironment(base: Record<string, unknown>, name: string, env: NodeJS.ProcessEnv, origins: string[]): Record<string, unknown> {
  const prefix = environmentPrefix(name);
  const merged = { ...base };
  let used = false;
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(prefix) || value === undefined) continue;
    const settingKey = camelCase(key.slice(prefix.length));
    if (settingKey === '') continue;
    if (settingKey.startsWith('mock')) {
      const mock = { ...((merged.mock as Record<string, unknown> | undefined) ?? {}) };
      const inner = settingKey.slice(4);
      mock[inner.charAt(0).toLowerCase() + inner.slice(1)] = inner === 'Contacts' || inner === 'LatencyMs' ? Number(value) : value;
      merged.mock = mock;
    } else {
      merged[settingKey] = settingKey === 'maxConcurrentJobs' && value.trim() !== '' ? Number(value) : value;
    }
    used = true;
  }
  if (used) origins.push('environment');
  return merged;
}

/** `INSTANCE_URL` -> `instanceUrl`. */
function camelCase(envKey: string): string {
  return envKey.toLowerCase().replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

function registerSecretsDeep(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string' && SECRET_ACCOUNT_KEYS.includes(key)) registerSecret(item);
    else registerSecretsDeep(item);
  }
}

function checkAccount(
  name: string,
  settings: Record<string, unknown>,
  where: string,
  source: Parameters<typeof fileError>[0] | undefined,
  directory: string,
  origins: string[],
): Result<ResolvedAccount, CliError> {
  registerSecretsDeep(settings);
  const connector = settings.connector;
  const schema =
    connector === 'mock' ? mockAccountSchema : connector === 'salesforce' ? salesforceAccountSchema : connector === 'dynamics' ? dynamicsAccountSchema : accountSchema;
  const parsed = schema.safeParse(settings, { reportInput: true });
  if (!parsed.success) {
    const issues = zodIssuesToFileIssues(parsed.error.issues).map((issue) => ({
      path: ['accounts', name, ...issue.path],
      // Account values may be secrets: never echo what was given.
      message: issue.message.replace(/, got .*$/, ''),
    }));
    if (source !== undefined) return err(fileError(source, issues));
    return err(invalidInput(issues.map((issue) => `${where}: ${issue.path.join('.')}: ${issue.message}`).join('\n')));
  }
  const resolved = { ...(parsed.data as AccountSettings) };
  for (const key of ['privateKeyFile', 'certificatePrivateKeyFile'] as const) {
    const file = resolved[key];
    if (typeof file !== 'string') continue;
    try {
      const text = registerSecret(readFileSync(resolve(directory, file), 'utf8'));
      Object.assign(resolved, { [key === 'privateKeyFile' ? 'privateKey' : 'certificatePrivateKey']: text });
    } catch {
      return err(invalidInput(`${where}: accounts.${name}.${key}: cannot read "${resolve(directory, file)}"; give the path of a PEM file, relative to the accounts file`));
    }
  }
  return ok({ name, settings: resolved, directory, origin: origins.join(' + ') || where });
}
