/**
 * The Acme CRM connector: the five contract methods over Acme's REST API.
 *
 * @module
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import {
  ConnectorBase,
  connectorPlugin,
  crmError,
  parseInstant,
  type CallOptions,
  type ConnectorCapabilities,
  type ConnectorPlugin,
  type CrmError,
  type CrmRecord,
  type DeleteBatchRequest,
  type DeletedPage,
  type DeletedRequest,
  type FieldValue,
  type Instant,
  type ObjectDescription,
  type ObjectSummary,
  type OrderBy,
  type QueryRequest,
  type RecordPage,
  type RejectCode,
  type UpsertBatchRequest,
  type WriteOutcome,
} from '@crm-sync/sdk';
import { resolveAcmeConfig, type AcmeConfig } from './config.js';
import { CONNECTOR_ID } from './connector-id.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { compileAcmeWhere } from './filter.js';
import { AcmeHttp } from './http.js';
import { decodeAcmeValue, mapAcmeObject, mapAcmeSummary, type AcmeObject, type AcmeObjectSummary } from './mapping.js';

/** Acme's documented limits: 200 records per search page, 100 operations per batch, deletions kept 30 days. */
export const ACME_LIMITS = { maxPageSize: 200, maxBatch: 100, deletedRetentionDays: 30 } as const; // vendor-fact: limits and retention

/** What the connector can do: passed to `ConnectorBase`, and shown by `crm-sync connectors list`. */
export const ACME_CAPABILITIES = {
  maxPageSize: ACME_LIMITS.maxPageSize,
  defaultPageSize: 100,
  maxUpsertBatch: ACME_LIMITS.maxBatch,
  maxDeleteBatch: ACME_LIMITS.maxBatch,
  maxIdsPerQuery: ACME_LIMITS.maxBatch,
  orderBy: true,
  filterOperators: ['in'] as const,
  upsertByExternalId: true,
  deletedRetentionDays: ACME_LIMITS.deletedRetentionDays,
  concurrency: 4,
  serverTime: true,
  idPattern: 'ac_[0-9a-z]{12}', // vendor-fact: id pattern
  changeFields: ['updatedAt'], // vendor-fact: change field
} satisfies Partial<ConnectorCapabilities>;

/** One result of `POST /v1/objects/{name}/batch`. */
interface AcmeWriteResult {
  readonly status: number;
  readonly id?: string;
  readonly created?: boolean;
  readonly error?: { readonly code: string; readonly message: string; readonly field?: string };
}

/** Acme's per-record error codes, as reject codes. */
const REJECT_CODES: Readonly<Record<string, RejectCode>> = { // vendor-fact: error codes
  REQUIRED: 'required-field-missing',
  DUPLICATE: 'duplicate',
  NOT_FOUND: 'not-found',
  INVALID_VALUE: 'invalid-value',
  UNKNOWN_FIELD: 'invalid-field',
  LOCKED: 'locked',
};

/**
 * A `CrmConnector` for Acme CRM. Build it with {@link createAcmeConnector} (a `Result`) or
 * `new AcmeConnector(config)` (throws on a bad configuration).
 */
export class AcmeConnector extends ConnectorBase {
  /** Always `acme`. */
  readonly id = CONNECTOR_ID;
  private readonly http: AcmeHttp;

  /** @throws Error when the configuration is invalid (the message says how to fix it). */
  constructor(config: AcmeConfig) {
    super(ACME_CAPABILITIES);
    const resolved = resolveAcmeConfig(config);
    if (resolved.isErr()) throw new Error(resolved.error.message);
    this.http = new AcmeHttp(resolved.value);
  }

  /** Lists Acme's objects. */
  listObjects(options?: CallOptions): ResultAsync<readonly ObjectSummary[], CrmError> {
    return this.http
      .call<{ objects: AcmeObjectSummary[] }>({ method: 'GET', path: '/v1/objects', ...signalOf(options) }) // vendor-fact: endpoints
      .map((answer) => answer.objects.map(mapAcmeSummary));
  }

  /** Describes one object; an unknown object is `not-found`. */
  describe(object: string, options?: CallOptions): ResultAsync<ObjectDescription, CrmError> {
    return this.http.call<AcmeObject>({ method: 'GET', path: `/v1/objects/${encodeURIComponent(object)}`, ...signalOf(options) }).map(mapAcmeObject); // vendor-fact: endpoints
  }

  /** Reads one page through Acme's search, paging by keyset (`searchAfter`). */
  query(request: QueryRequest, cursor?: string, options?: CallOptions): ResultAsync<RecordPage, CrmError> {
    const where = compileAcmeWhere(request);
    if (where.isErr()) return errAsync(where.error);
    let after: readonly FieldValue[] | undefined;
    if (cursor !== undefined) {
      const decoded = decodeCursor(cursor);
      if (decoded.isErr()) return errAsync(decoded.error);
      after = decoded.value;
    }
    // The id closes every sort, so the order is total and the keyset is exact.
    const sort: OrderBy[] = [...(request.orderBy ?? (request.window ? [{ field: request.window.field, direction: 'asc' as const }] : [])), { field: 'id', direction: 'asc' }];
    const fields = [...new Set([...request.fields, ...sort.map((key) => key.field)])];
    const limit = Math.min(request.pageSize ?? this.capabilities.defaultPageSize, this.capabilities.maxPageSize);
    const body = {
      fields,
      ...(where.value !== undefined ? { where: where.value } : {}),
      sort: sort.map((key) => ({ field: key.field, order: key.direction })),
      ...(after !== undefined ? { searchAfter: after } : {}),
      limit,
    };
    return this.http
      .call<{ records: Record<string, unknown>[]; hasMore: boolean }>({ method: 'POST', path: `/v1/objects/${encodeURIComponent(request.object)}/search`, body, ...signalOf(options) }) // vendor-fact: endpoints
      .map((answer) => {
        const records = answer.records.map((raw) => toCrmRecord(raw, request));
        const last = answer.records.at(-1);
        const nextCursor = answer.hasMore && last ? encodeCursor(sort.map((key) => decodeAcmeValue(last[key.field]))) : undefined;
        return { records, ...(nextCursor !== undefined ? { nextCursor } : {}) };
      });
  }

  /** Writes one batch with Acme's batch endpoint; per-record failures become rejects, in input order. */
  override upsertBatch(request: UpsertBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    if (request.records.length > this.capabilities.maxUpsertBatch) {
      return errAsync(crmError('invalid-request', CONNECTOR_ID, `a batch of ${request.records.length} records exceeds Acme's ${this.capabilities.maxUpsertBatch}: split it (the orchestrator does)`));
    }
    if (request.mode === 'upsert' && request.externalIdField === undefined) {
      return errAsync(crmError('invalid-request', CONNECTOR_ID, "mode 'upsert' needs externalIdField: name a unique Acme field (e.g. email)"));
    }
    const operations = request.records.map((record) => {
      if (request.mode === 'insert') return { action: 'create', values: record.values };
      if (request.mode === 'update') return { action: 'update', id: record.id, values: record.values };
      return { action: 'upsert', matchOn: request.externalIdField, values: record.values };
    });
    return this.http
      .call<{ results: AcmeWriteResult[] }>({ method: 'POST', path: `/v1/objects/${encodeURIComponent(request.object)}/batch`, body: { operations }, ...signalOf(options) }) // vendor-fact: endpoints
      .andThen((answer) => {
        if (answer.results.length !== operations.length) {
          return errAsync(crmError('unknown', CONNECTOR_ID, `Acme answered ${answer.results.length} results for ${operations.length} operations; nothing is known about this batch`, { inDoubt: true }));
        }
        return okAsync(answer.results.map((result, i) => toWriteOutcome(result, request.records[i]?.id)));
      });
  }

  /** Reads deletions in `[start, end]`; Acme refuses a start older than 30 days (`retention-exceeded`). */ // vendor-fact: retention
  override getDeleted(request: DeletedRequest, cursor?: string, options?: CallOptions): ResultAsync<DeletedPage, CrmError> {
    const query = new URLSearchParams({ from: request.start, to: request.end, limit: String(Math.min(request.pageSize ?? 500, 500)) });
    if (cursor !== undefined) query.set('pageToken', cursor);
    return this.http
      .call<{ records: { id: string; deletedAt: string }[]; nextPageToken?: string; earliest?: string }>({
        method: 'GET',
        path: `/v1/objects/${encodeURIComponent(request.object)}/deleted?${query.toString()}`, // vendor-fact: endpoints
        ...signalOf(options),
      })
      .map((answer) => ({
        records: answer.records.map((record) => ({ id: record.id, deletedAt: parseInstant(record.deletedAt) ?? record.deletedAt })),
        ...(answer.nextPageToken ? { nextCursor: answer.nextPageToken } : {}),
        ...(answer.earliest ? { earliestDateAvailable: parseInstant(answer.earliest) ?? answer.earliest } : {}),
      }));
  }

  /** Deletes a batch; an id Acme no longer has counts as deleted, so a retry is harmless. */
  override delete(request: DeleteBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    if (request.ids.length > this.capabilities.maxDeleteBatch) {
      return errAsync(crmError('invalid-request', CONNECTOR_ID, `a delete of ${request.ids.length} ids exceeds Acme's ${this.capabilities.maxDeleteBatch}: split it (the orchestrator does)`));
    }
    return this.http
      .call<{ results: AcmeWriteResult[] }>({ method: 'POST', path: `/v1/objects/${encodeURIComponent(request.object)}/delete`, body: { ids: request.ids }, ...signalOf(options) }) // vendor-fact: endpoints
      .andThen((answer) => {
        if (answer.results.length !== request.ids.length) {
          return errAsync(crmError('unknown', CONNECTOR_ID, `Acme answered ${answer.results.length} results for ${request.ids.length} ids; send the batch again (deleting twice is harmless)`));
        }
        return okAsync(
          answer.results.map((result, i): WriteOutcome => {
            const id = request.ids[i] ?? result.id ?? '';
            // 404: already gone, which counts as deleted so that a retried batch is harmless.
            return result.status === 200 || result.status === 404 ? { ok: true, id, action: 'deleted' } : toWriteOutcome(result, id);
          }),
        );
      });
  }

  /** Acme's clock (`GET /v1/time`), so incremental windows never end on the client's clock. */
  serverTime(options?: CallOptions): ResultAsync<Instant, CrmError> {
    return this.http.call<{ now: string }>({ method: 'GET', path: '/v1/time', ...signalOf(options) }).andThen((answer) => { // vendor-fact: endpoints
      const now = parseInstant(answer.now);
      return now === undefined ? errAsync(crmError('unknown', CONNECTOR_ID, `GET /v1/time answered '${answer.now}', not an ISO date-time`)) : okAsync(now);
    });
  }
}

/** Builds the connector, or says what is wrong with the configuration. */
export function createAcmeConnector(config: AcmeConfig): ResultAsync<AcmeConnector, CrmError> {
  const resolved = resolveAcmeConfig(config);
  return resolved.isErr() ? errAsync(resolved.error) : okAsync(new AcmeConnector(config));
}

/** The DI plugin: `acmeConnector(config).register(container)` registers the connector under `TOKENS.Connector`. */
export function acmeConnector(config: AcmeConfig): ConnectorPlugin {
  return connectorPlugin(CONNECTOR_ID, () => new AcmeConnector(config));
}

function signalOf(options: CallOptions | undefined): { signal?: AbortSignal } {
  return options?.signal ? { signal: options.signal } : {};
}

function toCrmRecord(raw: Record<string, unknown>, request: QueryRequest): CrmRecord {
  const values: Record<string, FieldValue> = {};
  for (const field of request.fields) values[field] = decodeAcmeValue(raw[field]);
  const changed = request.window ? decodeAcmeValue(raw[request.window.field]) : null;
  return { id: String(raw.id), ...(typeof changed === 'string' ? { changedAt: changed } : {}), values };
}

function toWriteOutcome(result: AcmeWriteResult, inputId: string | undefined): WriteOutcome {
  if (result.status >= 200 && result.status < 300 && result.id !== undefined) {
    return { ok: true, id: result.id, action: result.status === 201 || result.created ? 'created' : 'updated' };
  }
  const code = REJECT_CODES[result.error?.code ?? ''] ?? 'unknown';
  return {
    ok: false,
    ...(inputId !== undefined ? { id: inputId } : {}),
    reject: {
      code,
      ...(result.error?.code !== undefined ? { symbol: result.error.code } : {}),
      message: `[crm-sync] [${CONNECTOR_ID}] ${result.error?.message ?? `HTTP ${result.status}`}`,
      ...(result.error?.field !== undefined ? { fields: [result.error.field] } : {}),
      retryable: code === 'locked',
    },
  };
}
