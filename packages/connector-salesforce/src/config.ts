/**
 * The Salesforce connector's configuration and its validation.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import { crmError, registerSecret, type CrmError, type Logger } from '@crm-sync/sdk';
import { CONNECTOR_ID } from './errors.js';

/** A pre-issued access token (e.g. from the Salesforce CLI). It cannot be refreshed. */
export interface AccessTokenAuth {
  readonly kind: 'access-token';
  readonly accessToken: string;
}
/** OAuth username-password flow; the security token is appended to the password. */
export interface PasswordAuth {
  readonly kind: 'password';
  readonly username: string;
  readonly password: string;
  readonly securityToken?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
}
/** OAuth client-credentials flow (sent to the org's My Domain host). */
export interface ClientCredentialsAuth {
  readonly kind: 'client-credentials';
  readonly clientId: string;
  readonly clientSecret: string;
}
/** OAuth JWT bearer flow: a JWT signed with the connected app's private key (PEM, RS256). */
export interface JwtAuth {
  readonly kind: 'jwt';
  readonly clientId: string;
  readonly username: string;
  readonly privateKey: string;
  /** The `aud` claim; defaults to the login URL. */
  readonly audience?: string;
}
/** The ways to sign in to Salesforce. */
export type SalesforceAuth = AccessTokenAuth | PasswordAuth | ClientCredentialsAuth | JwtAuth;

/** Configuration of {@link SalesforceConnector}. */
export interface SalesforceConnectorConfig {
  /** The org's instance URL (`https://acme.my.salesforce.com`); required for `access-token`. */
  readonly instanceUrl?: string;
  /** Where tokens are requested; default `https://login.salesforce.com` (client credentials: the instance URL). */
  readonly loginUrl?: string;
  /** REST API version, e.g. `'62.0'` (the default). jsforce's own default (50.0) is never used. */
  readonly apiVersion?: string;
  readonly auth: SalesforceAuth;
  /** From this many records per `upsertBatch` call on, Bulk API 2.0 ingest is used. Default 2,000. */
  readonly bulkThreshold?: number;
  /**
   * Most records per `upsertBatch` call (`capabilities.maxUpsertBatch`, the orchestrator's batch
   * size), 1–10,000. Default 200: one sObject Collections call per batch, several batches in
   * flight. Set it to `bulkThreshold` or more to send large exports through Bulk API 2.0.
   */
  readonly maxUpsertBatch?: number;
  /** Default query page size (200–2,000). Default 2,000. */
  readonly pageSize?: number;
  /**
   * Most calls in flight at once (`capabilities.concurrency`), 1–25. Default 8. Salesforce does
   * not limit concurrent requests that finish within 20 s; it caps concurrent long-running (20 s or
   * more) requests at 25 per production or sandbox org (5 in Developer Edition and trial orgs),
   * shared with every other client, and answers more with `REQUEST_LIMIT_EXCEEDED`
   * (`ConcurrentPerOrgLongTxn`), which the connector maps to a retryable `rate-limited` error. A
   * 200-record Collections call normally takes well under 20 s. Raise it on a slow network (each
   * call waits for its round trip); lower it for a Developer Edition org whose triggers make writes
   * slow, or when parallel writes under one parent record are refused with `UNABLE_TO_LOCK_ROW`.
   */
  readonly concurrency?: number;
  /**
   * Query pages requested ahead of the one the caller asks for, 0–8 (default 0: off). Salesforce
   * serves any offset of an open query cursor (`.../query/<locator>-<offset>`), so with a value
   * above 0 the connector asks for the following pages of a long read at once and hands each out
   * only when it is the very page the previous page's `nextRecordsUrl` names (a guess that misses
   * is dropped, never used). On a slow network this takes the read from one round trip per page
   * towards `1 / (1 + queryReadAhead)` of that; it costs that many pages of memory, and that many
   * more requests in flight (keep it under `concurrency`). Not sent while Salesforce asks to wait
   * (a 429 with `Retry-After`).
   */
  readonly queryReadAhead?: number;
  /** Where the connector logs (redacted). */
  readonly logger?: Logger;
}

/** The configuration with defaults applied and URLs normalised (no trailing slash). */
export interface ResolvedSalesforceConfig {
  readonly instanceUrl?: string;
  readonly loginUrl: string;
  readonly apiVersion: string;
  readonly auth: SalesforceAuth;
  readonly bulkThreshold: number;
  readonly maxUpsertBatch: number;
  readonly pageSize: number;
  readonly concurrency: number;
  readonly queryReadAhead: number;
  readonly logger?: Logger;
}

/**
 * Calls in flight when `concurrency` is not set. 8, not more: 16 made bench scenario 3 (100,000
 * records, 25 ms latency) faster on 2 shared cores (median 4.0 s against 6.6 s), but a client
 * busy with 16 answers reads a 429 later, so more of the calls it sends meanwhile reach the server
 * inside the `Retry-After` window (scenario 6: 1 to 7 late arrivals per run against 0 to 2 with 8).
 */
const DEFAULT_CONCURRENCY = 8;

/** The API version used when none is configured. */
export const DEFAULT_API_VERSION = '62.0';
const DEFAULT_LOGIN_URL = 'https://login.salesforce.com';

function normaliseUrl(value: string, where: string): Result<string, string> {
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return err(`${where} must be an http(s) URL, got "${url.protocol}"`);
    if (url.search || url.hash || url.username || url.password) return err(`${where} must not carry a query, fragment or credentials`);
    return ok(url.toString().replace(/\/+$/, ''));
  } catch {
    return err(`${where} is not a URL: "${value.slice(0, 100)}"; use e.g. https://acme.my.salesforce.com`);
  }
}

/**
 * Validates a configuration, registers every credential as a secret and applies defaults. Errors
 * say which setting is wrong and how to fix it.
 */
export function resolveSalesforceConfig(config: SalesforceConnectorConfig): Result<ResolvedSalesforceConfig, CrmError> {
  const problems: string[] = [];
  const auth = config.auth as SalesforceAuth | undefined;
  const need = (value: unknown, name: string): void => {
    if (typeof value !== 'string' || value.length === 0) problems.push(`auth.${name} is required for auth kind "${auth?.kind}"`);
  };
  switch (auth?.kind) {
    case 'access-token':
      need(auth.accessToken, 'accessToken');
      registerSecret(auth.accessToken);
      if (!config.instanceUrl) problems.push('instanceUrl is required with an access token (the org URL the token belongs to)');
      break;
    case 'password':
      need(auth.username, 'username');
      need(auth.password, 'password');
      registerSecret(auth.password);
      registerSecret(auth.securityToken);
      registerSecret(auth.clientSecret);
      if (auth.securityToken !== undefined) registerSecret(auth.password + auth.securityToken);
      break;
    case 'client-credentials':
      need(auth.clientId, 'clientId');
      need(auth.clientSecret, 'clientSecret');
      registerSecret(auth.clientSecret);
      break;
    case 'jwt':
      need(auth.clientId, 'clientId');
      need(auth.username, 'username');
      need(auth.privateKey, 'privateKey');
      registerSecret(auth.privateKey);
      break;
    default:
      problems.push('auth.kind must be one of "access-token", "password", "client-credentials", "jwt"');
  }
  const apiVersion = config.apiVersion ?? DEFAULT_API_VERSION;
  if (!/^\d{2,3}\.0$/.test(apiVersion)) problems.push(`apiVersion "${apiVersion}" must look like "62.0"`);
  else if (Number(apiVersion) < 46) problems.push(`apiVersion ${apiVersion} is too old: sObject Collections upsert needs 46.0 or later`);
  let instanceUrl: string | undefined;
  if (config.instanceUrl !== undefined) {
    const url = normaliseUrl(config.instanceUrl, 'instanceUrl');
    if (url.isErr()) problems.push(url.error);
    else instanceUrl = url.value;
  }
  const loginDefault = auth?.kind === 'client-credentials' && instanceUrl ? instanceUrl : DEFAULT_LOGIN_URL;
  const login = normaliseUrl(config.loginUrl ?? loginDefault, 'loginUrl');
  if (login.isErr()) problems.push(login.error);
  const bulkThreshold = config.bulkThreshold ?? 2000;
  if (!Number.isInteger(bulkThreshold) || bulkThreshold < 1) problems.push('bulkThreshold must be a positive integer');
  const maxUpsertBatch = config.maxUpsertBatch ?? 200;
  if (!Number.isInteger(maxUpsertBatch) || maxUpsertBatch < 1 || maxUpsertBatch > 10_000) problems.push('maxUpsertBatch must be an integer from 1 to 10000');
  const pageSize = config.pageSize ?? 2000;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 2000) problems.push('pageSize must be an integer from 1 to 2000');
  const concurrency = config.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 25) problems.push('concurrency must be an integer from 1 to 25');
  const queryReadAhead = config.queryReadAhead ?? 0;
  if (!Number.isInteger(queryReadAhead) || queryReadAhead < 0 || queryReadAhead > 8) problems.push('queryReadAhead must be an integer from 0 to 8');
  if (problems.length > 0 || login.isErr() || auth === undefined) {
    return err(crmError('invalid-request', CONNECTOR_ID, `invalid configuration: ${problems.join('; ')}`));
  }
  return ok({
    ...(instanceUrl !== undefined ? { instanceUrl } : {}),
    loginUrl: login.value,
    apiVersion,
    auth,
    bulkThreshold,
    maxUpsertBatch,
    pageSize,
    concurrency,
    queryReadAhead,
    ...(config.logger ? { logger: config.logger } : {}),
  });
}
