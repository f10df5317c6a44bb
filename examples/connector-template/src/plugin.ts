/**
 * The plugin the `crm-sync` CLI loads: `connector: crm-sync-connector-acme` (or a path to this
 * package) in a job and an account. The CLI validates the account's settings with
 * `crmSyncPlugin.settings`, then builds the connector through `crmSyncPlugin.plugin(settings)`.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import { defineConnectorPlugin, settingsSchema, type SettingsIssue } from '@crm-sync/sdk';
import { acmeConnector, ACME_CAPABILITIES } from './connector.js';
import type { AcmeConfig } from './config.js';
import { CONNECTOR_ID } from './connector-id.js';

/** An account's settings, as written in the accounts file (`CRM_SYNC_ACCOUNT_<NAME>_<KEY>` works too). */
export interface AcmeSettings {
  /** The account's API base, e.g. `https://mycompany.acme-crm.example`. */
  readonly baseUrl: string;
  /** The API key. A secret: it never reaches logs or errors. */
  readonly apiKey: string;
  /** Per-request time-out in milliseconds. */
  readonly timeoutMs?: number;
}

const KEYS = new Set(['baseUrl', 'apiKey', 'timeoutMs']);

/** Checks the settings' shape; the values themselves are checked when the connector is built. */
function validateSettings(input: unknown): Result<AcmeSettings, readonly SettingsIssue[]> {
  if (typeof input !== 'object' || input === null) return err([{ message: 'expected the account settings (baseUrl, apiKey)' }]);
  const settings = input as Record<string, unknown>;
  const issues: SettingsIssue[] = [];
  for (const key of ['baseUrl', 'apiKey'] as const) {
    if (typeof settings[key] !== 'string' || settings[key] === '') issues.push({ path: [key], message: `${key} is required: a non-empty string` });
  }
  // Environment variables arrive as strings: accept a number written as one.
  const timeout = typeof settings.timeoutMs === 'string' ? Number(settings.timeoutMs) : settings.timeoutMs;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout <= 0)) {
    issues.push({ path: ['timeoutMs'], message: 'timeoutMs must be a positive whole number of milliseconds' });
  }
  for (const key of Object.keys(settings)) if (!KEYS.has(key)) issues.push({ path: [key], message: `unknown setting; use ${[...KEYS].join(', ')}` });
  if (issues.length > 0) return err(issues);
  return ok({ baseUrl: settings.baseUrl as string, apiKey: settings.apiKey as string, ...(timeout !== undefined ? { timeoutMs: timeout as number } : {}) });
}

/** The plugin the CLI loads (the export name the CLI looks for is `crmSyncPlugin`). */
export const crmSyncPlugin = defineConnectorPlugin<AcmeSettings>({
  id: CONNECTOR_ID,
  title: 'Acme CRM (a fictional REST CRM), over its REST API',
  settings: settingsSchema(CONNECTOR_ID, validateSettings),
  secretSettings: ['apiKey'],
  capabilities: ACME_CAPABILITIES,
  plugin: (settings: AcmeConfig) => acmeConnector(settings),
});
