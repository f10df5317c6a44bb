/**
 * The connector's configuration and its validation.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import { crmError, registerSecret, type CrmError } from '@crm-sync/sdk';
import { CONNECTOR_ID } from './connector-id.js';

/** How to reach one Acme CRM account. */
export interface AcmeConfig {
  /** The account's API base, e.g. `https://mycompany.acme-crm.example`. No trailing path. */
  readonly baseUrl: string;
  /** The API key from Acme's "Settings > API keys" page. Registered as a secret: it never reaches logs or errors. */ // vendor-fact: auth
  readonly apiKey: string;
  /** Per-request time-out in milliseconds. Default 30,000. */
  readonly timeoutMs?: number;
  /** The `fetch` to use; tests and proxies may pass their own. Default the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/** A configuration with defaults applied. */
export interface ResolvedAcmeConfig {
  /** `baseUrl` without a trailing slash. */
  readonly baseUrl: string;
  /** The API key (already registered as a secret). */
  readonly apiKey: string;
  /** Per-request time-out in milliseconds. */
  readonly timeoutMs: number;
  /** The `fetch` to use. */
  readonly fetch: typeof fetch;
}

/** Checks a configuration: says what is wrong, where, and how to fix it. */
export function resolveAcmeConfig(config: AcmeConfig): Result<ResolvedAcmeConfig, CrmError> {
  // Registered first, so that even a message about a bad config cannot echo the key.
  if (typeof config.apiKey === 'string' && config.apiKey.length > 0) registerSecret(config.apiKey);
  const invalid = (message: string) => err(crmError('invalid-request', CONNECTOR_ID, message));
  if (typeof config.apiKey !== 'string' || config.apiKey.length === 0) {
    return invalid('config.apiKey is empty: create an API key in Acme under Settings > API keys and pass it as apiKey'); // vendor-fact: auth
  }
  let url: URL;
  try {
    url = new URL(config.baseUrl);
  } catch {
    return invalid(`config.baseUrl '${config.baseUrl}' is not a URL: pass the account's API base, e.g. https://mycompany.acme-crm.example`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return invalid(`config.baseUrl uses '${url.protocol}': use https:// (http:// only for a local fake)`);
  }
  const timeoutMs = config.timeoutMs ?? 30_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    return invalid(`config.timeoutMs is ${String(config.timeoutMs)}: use a positive whole number of milliseconds`);
  }
  return ok({ baseUrl: url.toString().replace(/\/+$/, ''), apiKey: config.apiKey, timeoutMs, fetch: config.fetch ?? globalThis.fetch });
}
