/**
 * Configuration of the Dynamics 365 / Dataverse connector, and its validation.
 *
 * @module
 */
import type { INetworkModule } from '@azure/msal-node';
import { err, ok, type Result } from 'neverthrow';
import { crmError, registerSecret, type CrmError, type Logger } from '@crm-sync/sdk';
import { CONNECTOR_ID } from './errors.js';

/** A client certificate registered on the Entra ID application. */
export interface DynamicsCertificate {
  /** Hex SHA-256 thumbprint of the certificate. */
  readonly thumbprintSha256: string;
  /** PEM private key (`-----BEGIN PRIVATE KEY----- ...`). */
  readonly privateKey: string;
  /** Optional public certificate chain (PEM), for subject-name/issuer authentication. */
  readonly x5c?: string;
}

/** Where `getDeleted` reads deletions from. */
export type DeletedRecordSource = 'audits' | 'change-tracking';

/** Keeps change-tracking delta links between runs (see {@link DynamicsConfig.deltaLinkStore}). */
export interface DeltaLinkStore {
  /** The last saved delta link of a table, if any. */
  load(object: string): Promise<string | undefined>;
  /** Keeps the delta link to resume from on the next `getDeleted`. */
  save(object: string, deltaLink: string): Promise<void>;
}

/** How to reach and authenticate against one Dataverse organisation. */
export interface DynamicsConfig {
  /** The environment URL, e.g. `https://contoso.crm.dynamics.com`. */
  readonly orgUrl: string;
  /** Entra ID tenant (directory) id. */
  readonly tenantId: string;
  /** Application (client) id of the app registration that has an application user in Dataverse. */
  readonly clientId: string;
  /** Client secret; give this or `certificate`. */
  readonly clientSecret?: string;
  /** Client certificate; give this or `clientSecret`. */
  readonly certificate?: DynamicsCertificate;
  /** Authority URL; default `https://login.microsoftonline.com/<tenantId>`. Must be https. */
  readonly authority?: string;
  /** Hosts msal trusts without instance discovery (tests, sovereign clouds). */
  readonly knownAuthorities?: readonly string[];
  /** OpenID configuration JSON for the authority; skips the discovery GET (tests, air-gapped). */
  readonly authorityMetadata?: string;
  /** Instance-discovery JSON; skips the discovery GET. */
  readonly cloudDiscoveryMetadata?: string;
  /** msal's HTTP client, e.g. one that refuses non-loopback hosts in tests. */
  readonly networkClient?: INetworkModule;
  /** Web API version; default `9.2`. */
  readonly apiVersion?: string;
  /** Records per page when a request names none; default 500, capped at `maxPageSize`. */
  readonly pageSize?: number;
  /** The largest page asked for (`odata.maxpagesize`); default and maximum 5000, the Dataverse limit. */
  readonly maxPageSize?: number;
  /** Operations per `$batch` (and per `upsertBatch` call); default 1000, the Dataverse maximum. */
  readonly batchSize?: number;
  /** Calls in flight at once; default 8 (Dataverse allows 52 concurrent requests per user). */
  readonly concurrency?: number;
  /**
   * Opt-in fast path, for tables that support the bulk messages: `CreateMultiple` for inserts and
   * `UpsertMultiple` for upserts by a text alternate key. On standard tables these are
   * all-or-nothing: one bad record fails the whole request; the connector then resends that batch
   * through `$batch` to find the per-record outcomes (nothing was committed).
   */
  readonly bulkMessages?: boolean;
  /** Source of deleted records; default `audits`. */
  readonly deletedSource?: DeletedRecordSource;
  /** How far back deleted records can be read (audit or change-tracking retention); default 30. */
  readonly deletedRetentionDays?: number;
  /** Stores delta links when `deletedSource` is `change-tracking`; default in memory. */
  readonly deltaLinkStore?: DeltaLinkStore;
  /** Refresh the token this long before it expires; default 5 minutes. */
  readonly tokenRefreshMarginMs?: number;
  /** Per-request time-out; default 120 s. */
  readonly requestTimeoutMs?: number;
  /** Where diagnostics go (redacted). */
  readonly logger?: Logger;
  /** The clock used for token expiry; for tests. */
  readonly now?: () => number;
}

/** A validated configuration with defaults applied. */
export interface ResolvedDynamicsConfig extends DynamicsConfig {
  readonly orgUrl: string;
  readonly apiBase: string;
  readonly scope: string;
  readonly authority: string;
  readonly pageSize: number;
  readonly maxPageSize: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly deletedSource: DeletedRecordSource;
  readonly deletedRetentionDays: number;
  readonly tokenRefreshMarginMs: number;
  readonly requestTimeoutMs: number;
  readonly now: () => number;
}

/** The Dataverse maximum page size and operations per batch. */
const DATAVERSE_MAX_PAGE_SIZE = 5000;
/** The Dataverse maximum number of operations in one `$batch`. */
const DATAVERSE_MAX_BATCH = 1000;

const GUIDISH = /^[0-9a-fA-F-]{36}$|^[a-z0-9.-]+\.[a-z]{2,}$/i;

function bad(where: string, what: string): Result<never, CrmError> {
  return err(crmError('invalid-request', CONNECTOR_ID, `configuration ${where}: ${what}`));
}

/**
 * Why `authority` cannot be used, if it cannot. msal-node refuses any authority that is not https
 * (`authority_uri_insecure`), loopback included; left to msal, that refusal read as refused
 * credentials. A local token endpoint (an emulator) is reached through `authorityMetadata` instead.
 */
function authorityProblem(authority: string): string | undefined {
  let url: URL;
  try {
    url = new URL(authority);
  } catch {
    return `'${authority}' is not a URL; leave it unset for Entra ID (https://login.microsoftonline.com/<tenantId>) or give your cloud's https login URL with the tenant, e.g. https://login.microsoftonline.us/<tenantId>`;
  }
  if (url.protocol === 'https:') return undefined;
  return (
    `'${authority}' is not https, and msal (which gets the tokens) accepts https authorities only, loopback included; this is not a credentials problem. ` +
    `For Entra ID leave it unset (https://login.microsoftonline.com/<tenantId>) or use your cloud's https login URL. ` +
    `To get tokens from a local endpoint (an emulator), keep an https authority and give authorityMetadata: the OpenID configuration JSON whose token_endpoint is the local URL ` +
    `(msal then never resolves the authority), with knownAuthorities naming its host; the Dataverse emulator's connectorConfig() does exactly that`
  );
}

/** Validates a configuration, registers its secrets and applies defaults. */
export function resolveDynamicsConfig(config: DynamicsConfig): Result<ResolvedDynamicsConfig, CrmError> {
  registerSecret(config.clientSecret);
  registerSecret(config.certificate?.privateKey);
  let org: URL;
  try {
    org = new URL(config.orgUrl);
  } catch {
    return bad('orgUrl', `'${config.orgUrl}' is not a URL; use the environment URL, e.g. https://contoso.crm.dynamics.com`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(org.hostname);
  if (org.protocol !== 'https:' && !(org.protocol === 'http:' && loopback)) {
    return bad('orgUrl', 'must use https (http is only accepted for a loopback emulator)');
  }
  if (!config.tenantId || !GUIDISH.test(config.tenantId)) {
    return bad('tenantId', 'must be the directory (tenant) id GUID or a verified domain name');
  }
  if (config.authority !== undefined) {
    const problem = authorityProblem(config.authority);
    if (problem !== undefined) return bad('authority', problem);
  }
  if (!config.clientId) return bad('clientId', 'is required: the application (client) id of the app registration');
  if (!config.clientSecret && !config.certificate) return bad('clientSecret', 'give clientSecret or certificate');
  if (config.clientSecret && config.certificate) return bad('certificate', 'give clientSecret or certificate, not both');
  const maxPageSize = config.maxPageSize ?? DATAVERSE_MAX_PAGE_SIZE;
  if (!Number.isInteger(maxPageSize) || maxPageSize < 1 || maxPageSize > DATAVERSE_MAX_PAGE_SIZE) {
    return bad('maxPageSize', `must be an integer from 1 to ${DATAVERSE_MAX_PAGE_SIZE}`);
  }
  const pageSize = config.pageSize ?? Math.min(500, maxPageSize);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > maxPageSize) {
    return bad('pageSize', `must be an integer from 1 to maxPageSize (${maxPageSize})`);
  }
  const batchSize = config.batchSize ?? DATAVERSE_MAX_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > DATAVERSE_MAX_BATCH) {
    return bad('batchSize', `must be an integer from 1 to ${DATAVERSE_MAX_BATCH}`);
  }
  const origin = org.origin;
  const apiVersion = config.apiVersion ?? '9.2';
  return ok({
    ...config,
    orgUrl: origin,
    apiBase: `${origin}/api/data/v${apiVersion}/`,
    scope: `${origin}/.default`,
    authority: config.authority ?? `https://login.microsoftonline.com/${config.tenantId}`,
    pageSize,
    maxPageSize,
    batchSize,
    concurrency: config.concurrency ?? 8,
    deletedSource: config.deletedSource ?? 'audits',
    deletedRetentionDays: config.deletedRetentionDays ?? 30,
    tokenRefreshMarginMs: config.tokenRefreshMarginMs ?? 5 * 60_000,
    requestTimeoutMs: config.requestTimeoutMs ?? 120_000,
    now: config.now ?? Date.now,
  });
}
