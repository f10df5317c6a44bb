/**
 * The Dynamics 365 / Dataverse connector: the contract methods over the Web API v9.2.
 *
 * @module
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import {
  ConnectorBase,
  connectorPlugin,
  CrmSyncError,
  crmError,
  type CallOptions,
  type ConnectorPlugin,
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
import { DataverseTokenProvider } from './auth.js';
import { resolveDynamicsConfig, type DeltaLinkStore, type DynamicsConfig, type ResolvedDynamicsConfig } from './config.js';
import { deleteDataverseRecords } from './delete.js';
import { describeDataverseObject, listDataverseObjects } from './describe.js';
import { CONNECTOR_ID } from './errors.js';
import { getDataverseDeleted } from './get-deleted.js';
import { DataverseHttp } from './http.js';
import { GUID_PATTERN } from './odata-filter.js';
import { queryDataverse, serverTimeOf } from './query.js';
import { upsertDataverseBatch } from './upsert-batch.js';

function inMemoryDeltaLinks(): DeltaLinkStore {
  const links = new Map<string, string>();
  return {
    load: (object) => Promise.resolve(links.get(object)),
    save: (object, link) => {
      links.set(object, link);
      return Promise.resolve();
    },
  };
}

/**
 * The Dataverse connector. Construct it with {@link createDynamicsConnector} to get configuration
 * errors as a `Result`; the constructor throws a `CrmSyncError` for a bad configuration.
 */
export class DynamicsConnector extends ConnectorBase {
  /** Always `dynamics`. */
  readonly id = CONNECTOR_ID;
  /** The environment's URL: keeps the orchestrator's cached descriptions of one environment apart from another's. */
  readonly instanceKey: string;
  private readonly config: ResolvedDynamicsConfig;
  private readonly tokens: DataverseTokenProvider;
  private readonly http: DataverseHttp;
  private readonly descriptions = new Map<string, ObjectDescription>();
  private readonly deltaLinks: DeltaLinkStore;
  private closed = false;

  constructor(config: DynamicsConfig) {
    const resolved = resolveDynamicsConfig(config);
    if (resolved.isErr()) throw new CrmSyncError(resolved.error);
    const c = resolved.value;
    super({
      maxPageSize: c.maxPageSize,
      defaultPageSize: c.pageSize,
      maxUpsertBatch: c.batchSize,
      maxDeleteBatch: c.batchSize,
      // The connector splits ids into URL-sized chunks itself and pages across them.
      maxIdsPerQuery: 2000,
      orderBy: true,
      filterOperators: ['in', 'notIn', 'startsWith', 'contains'],
      negatedGroups: true,
      upsertByExternalId: true,
      deletedRetentionDays: c.deletedRetentionDays,
      concurrency: c.concurrency,
      serverTime: true,
      // A create may carry its own primary key GUID; "already exists" on a resend means it was created.
      clientInsertIds: true,
      idPattern: GUID_PATTERN.source,
      changeFields: ['modifiedon'],
    });
    this.config = c;
    this.instanceKey = c.orgUrl;
    this.tokens = new DataverseTokenProvider(c);
    this.http = new DataverseHttp(c, this.tokens);
    this.deltaLinks = c.deltaLinkStore ?? inMemoryDeltaLinks();
  }

  /** Web API calls sent so far (a `$batch` counts once). */
  get apiCalls(): number {
    return this.http.calls;
  }

  /** Token requests sent to Entra ID so far. */
  get tokenRequests(): number {
    return this.tokens.requests;
  }

  /** The tables of the organisation, from `EntityDefinitions`. */
  listObjects(options?: CallOptions): ResultAsync<readonly ObjectSummary[], CrmError> {
    return listDataverseObjects(this.http, options?.signal);
  }

  /** Describes a table by logical name; cached for the life of the connector. */
  describe(object: string, options?: CallOptions): ResultAsync<ObjectDescription, CrmError> {
    const cached = this.descriptions.get(object);
    if (cached !== undefined) return okAsync(cached);
    return describeDataverseObject(this.http, object, options?.signal).map((description) => {
      this.descriptions.set(object, description);
      return description;
    });
  }

  /** Uses a description from the orchestrator's describe cache for later calls; no call. */
  adoptDescription(description: ObjectDescription): void {
    this.descriptions.set(description.name, description);
  }

  /** Forgets the description of `object`; the next call that needs it describes again. */
  forgetDescription(object: string): void {
    this.descriptions.delete(object);
  }

  /** One page of a collection query; see the contract for ordering and paging guarantees. */
  query(request: QueryRequest, cursor?: string, options?: CallOptions): ResultAsync<RecordPage, CrmError> {
    return this.describe(request.object, options).andThen((description) => queryDataverse(this.http, this.config, description, request, cursor, options?.signal));
  }

  /** Writes records through `$batch` (or the opt-in bulk messages); one outcome per record, in order. */
  override upsertBatch(request: UpsertBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    return this.describe(request.object, options).andThen((description) => upsertDataverseBatch(this.http, this.config, description, request, options?.signal));
  }

  /** Deleted records from `audits` (or change tracking), within the configured retention. */
  override getDeleted(request: DeletedRequest, cursor?: string, options?: CallOptions): ResultAsync<DeletedPage, CrmError> {
    return this.describe(request.object, options).andThen((description) =>
      getDataverseDeleted(this.http, this.config, description, request, cursor, this.deltaLinks, options?.signal),
    );
  }

  /** Deletes by GUID through `$batch`; a record already gone counts as deleted. */
  override delete(request: DeleteBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    if (request.ids.length === 0) return okAsync([]);
    return this.describe(request.object, options).andThen((description) => deleteDataverseRecords(this.http, this.config, description, request, options?.signal));
  }

  /**
   * The canonical GUID: lower case, as Dataverse returns it (Dataverse compares GUIDs
   * case-insensitively). Anything that is not a GUID comes back unchanged. See
   * `CrmConnector.normalizeId`.
   */
  normalizeId(_object: string, id: string): string {
    return GUID_PATTERN.test(id) ? id.toLowerCase() : id;
  }

  /** The server's clock, from the `Date` header of a `WhoAmI` call. */
  serverTime(options?: CallOptions): ResultAsync<Instant, CrmError> {
    return this.http.send({ method: 'GET', path: 'WhoAmI', operation: 'GET WhoAmI', ...(options?.signal ? { signal: options.signal } : {}) }).andThen((response) => {
      const time = serverTimeOf(response);
      return time === undefined ? errAsync(crmError('unknown', CONNECTOR_ID, 'GET WhoAmI: the answer has no Date header')) : okAsync(time);
    });
  }

  /** Closes the keep-alive sockets; further calls are harmless. */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.http.close();
  }
}

/** Creates a connector, or says what is wrong with the configuration. */
export function createDynamicsConnector(config: DynamicsConfig): ResultAsync<DynamicsConnector, CrmError> {
  const resolved = resolveDynamicsConfig(config);
  if (resolved.isErr()) return errAsync(resolved.error);
  return okAsync(new DynamicsConnector(config));
}


/**
 * The DI plugin: registers a `DynamicsConnector` built from `config` as the container's
 * connector (lazily, once per container).
 */
export function dynamicsConnector(config: DynamicsConfig): ConnectorPlugin {
  return connectorPlugin(CONNECTOR_ID, () => new DynamicsConnector(config));
}
