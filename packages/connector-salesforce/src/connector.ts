/**
 * The Salesforce connector: the contract methods wired to one jsforce connection, one token
 * manager and one describe cache.
 *
 * @module
 */
import { err, ok, type Result, type ResultAsync } from 'neverthrow';
import {
  ConnectorBase,
  CrmSyncError,
  type CallOptions,
  type CrmError,
  type DeleteBatchRequest,
  type DeletedPage,
  type DeletedRequest,
  type Instant,
  type ObjectDescription,
  type ObjectSummary,
  type QueryRequest,
  type RecordPage,
  type UpsertBatchRequest,
  type WriteOutcome,
} from '@crm-sync/sdk';
import { SalesforceApi, type ApiUsage } from './api.js';
import { SalesforceTokenManager } from './auth.js';
import { resolveSalesforceConfig, type SalesforceConnectorConfig } from './config.js';
import { deleteSalesforce } from './delete.js';
import { DescribeCache } from './describe.js';
import { CONNECTOR_ID } from './errors.js';
import { getDeletedSalesforce } from './get-deleted.js';
import { SALESFORCE_ID_PATTERN, toCanonicalSalesforceId } from './ids.js';
import { querySalesforce } from './query.js';
import { CapturingTransport } from './transport.js';
import { upsertBatchSalesforce } from './upsert-batch.js';

/** Salesforce keeps deleted-record ids for 15 days. */
export const SALESFORCE_DELETED_RETENTION_DAYS = 15;

/** Call counters, for progress, benchmarks and tests. */
export interface SalesforceCallStats {
  /** REST and Bulk calls sent (token requests excluded). */
  readonly requests: number;
  /** Token endpoint requests. */
  readonly tokenRequests: number;
}

/**
 * A `CrmConnector` for Salesforce over jsforce (REST, sObject Collections, Bulk API 2.0).
 * The constructor throws a `CrmSyncError` on an invalid configuration; use
 * {@link createSalesforceConnector} for a `Result` instead.
 */
export class SalesforceConnector extends ConnectorBase {
  /** Always `salesforce`. */
  readonly id = CONNECTOR_ID;
  /**
   * The org: its instance URL, or, when the org is found by logging in, the login URL and the user
   * (password and JWT flows) or the login URL alone (client credentials, whose login URL is the
   * org's). Keeps the orchestrator's cached descriptions of one org apart from another's.
   */
  readonly instanceKey: string;
  private readonly api: SalesforceApi;
  private readonly describes: DescribeCache;

  constructor(config: SalesforceConnectorConfig) {
    const resolved = resolveSalesforceConfig(config);
    if (resolved.isErr()) throw new CrmSyncError(resolved.error);
    super({
      maxPageSize: 2000,
      defaultPageSize: resolved.value.pageSize,
      maxUpsertBatch: resolved.value.maxUpsertBatch,
      maxDeleteBatch: 2000,
      maxIdsPerQuery: 200,
      orderBy: true,
      filterOperators: ['in', 'notIn', 'startsWith', 'contains', 'like'],
      negatedGroups: true,
      upsertByExternalId: true,
      deletedRetentionDays: SALESFORCE_DELETED_RETENTION_DAYS,
      concurrency: resolved.value.concurrency,
      serverTime: true,
      idPattern: SALESFORCE_ID_PATTERN,
      bulkThreshold: resolved.value.bulkThreshold,
      changeFields: ['LastModifiedDate', 'SystemModstamp'],
    });
    const { auth, instanceUrl, loginUrl } = resolved.value;
    this.instanceKey = instanceUrl ?? ('username' in auth ? `${loginUrl} ${auth.username}` : loginUrl);
    const transport = new CapturingTransport();
    const tokens = new SalesforceTokenManager(resolved.value, transport);
    this.api = new SalesforceApi(resolved.value, tokens, transport);
    this.describes = new DescribeCache(this.api);
  }

  /** The latest API usage Salesforce reported (`Sforce-Limit-Info`), if any call was made. */
  get apiUsage(): ApiUsage | undefined {
    return this.api.apiUsage;
  }

  /** How many calls this connector sent. */
  get callStats(): SalesforceCallStats {
    return { requests: this.api.requestCount, tokenRequests: this.api.tokens.tokenRequests };
  }

  listObjects(options?: CallOptions): ResultAsync<readonly ObjectSummary[], CrmError> {
    return this.describes.listObjects(options?.signal);
  }

  describe(object: string, options?: CallOptions): ResultAsync<ObjectDescription, CrmError> {
    return this.describes.describe(object, options?.signal);
  }

  /** Uses a description from the orchestrator's describe cache for later calls; no call. */
  adoptDescription(description: ObjectDescription): void {
    this.describes.adopt(description);
  }

  /** Forgets the description of `object`; the next call that needs it describes again. */
  forgetDescription(object: string): void {
    this.describes.forget(object);
  }

  query(request: QueryRequest, cursor?: string, options?: CallOptions): ResultAsync<RecordPage, CrmError> {
    return querySalesforce(this.api, this.describes, request, cursor, options?.signal);
  }

  override upsertBatch(request: UpsertBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    return upsertBatchSalesforce(this.api, this.describes, request, options?.signal);
  }

  override getDeleted(request: DeletedRequest, _cursor?: string, options?: CallOptions): ResultAsync<DeletedPage, CrmError> {
    return getDeletedSalesforce(this.api, request, options?.signal);
  }

  override delete(request: DeleteBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    return deleteSalesforce(this.api, request, options?.signal);
  }

  /**
   * The canonical 18-character id: a 15-character id gains its checksum suffix, an 18-character id
   * in any letter case gets the case its suffix encodes (Salesforce compares 18-character ids
   * case-insensitively). Anything else comes back unchanged. See `CrmConnector.normalizeId`.
   */
  normalizeId(_object: string, id: string): string {
    return toCanonicalSalesforceId(id).unwrapOr(id);
  }

  /** Drops the query pages requested ahead that no read took (see `queryReadAhead`). */
  override async close(): Promise<void> {
    this.api.readAhead.clear();
  }

  /** Server time from the `Date` header of a cheap call (`/limits`). */
  serverTime(options?: CallOptions): ResultAsync<Instant, CrmError> {
    return this.api
      .call<unknown>({ method: 'GET', path: `${this.api.basePath}/limits`, ...(options?.signal ? { signal: options.signal } : {}) })
      .map((answer) => {
        const ms = answer.headers.date ? Date.parse(answer.headers.date) : Number.NaN;
        return new Date(Number.isNaN(ms) ? Date.now() : ms).toISOString();
      });
  }
}

/** Builds a connector, or explains what is wrong with the configuration. */
export function createSalesforceConnector(config: SalesforceConnectorConfig): Result<SalesforceConnector, CrmError> {
  const resolved = resolveSalesforceConfig(config);
  return resolved.isErr() ? err(resolved.error) : ok(new SalesforceConnector(config));
}
