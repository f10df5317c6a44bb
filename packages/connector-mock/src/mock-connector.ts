/**
 * `MockConnector`: the whole connector contract over an {@link InMemoryCrm}, with full
 * capabilities, optional latency and scripted faults. It is the reference implementation the
 * testkit self-tests against and the connector orchestrator tests run on.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectorBase,
  crmError,
  parseInstant,
  toInstant,
  type CallOptions,
  type ConnectorCapabilities,
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
import { err, ok, ResultAsync, type Result } from 'neverthrow';
import { MockFaults } from './faults.js';
import { rejectOf } from './field-checks.js';
import { canonicalMockId, ID_PATTERNS } from './ids.js';
import type { InMemoryCrm } from './in-memory-crm.js';
import { decodeCursor, encodeCursor } from './paging-cursor.js';
import { QueryRunner } from './query-runner.js';

/** How to build a {@link MockConnector}. */
export interface MockConnectorOptions {
  /** The connector id used in messages; default `mock`. */
  id?: string;
  /** Overrides of the full capabilities (e.g. a smaller `maxPageSize` to force many pages). */
  capabilities?: Partial<ConnectorCapabilities>;
  /** Milliseconds every call waits before answering; default 0. */
  latencyMs?: number;
  /** The connector's `instanceKey` (which CRM it stands for, when a test has several); default none. */
  instanceKey?: string;
}

/** The capabilities of a {@link MockConnector} over `crm`: everything the contract offers. */
export function mockCapabilities(crm: InMemoryCrm): ConnectorCapabilities {
  const schemas = crm.listObjects().map((summary) => crm.schema(summary.name)).filter((schema) => schema !== undefined);
  const formats = [...new Set(schemas.map((schema) => schema.idFormat))];
  const changeFields = [...new Set(schemas.map((schema) => schema.changeField))];
  const idPattern = formats.length === 1 ? ID_PATTERNS[formats[0] ?? 'mock'] : formats.map((format) => `(?:${ID_PATTERNS[format]})`).join('|');
  return {
    maxPageSize: 10_000,
    defaultPageSize: 2000,
    maxUpsertBatch: 200,
    maxDeleteBatch: 200,
    maxIdsPerQuery: 500,
    orderBy: true,
    filterOperators: ['in', 'notIn', 'startsWith', 'contains', 'like'],
    negatedGroups: true,
    upsertByExternalId: true,
    deletedRetentionDays: crm.deletedRetentionDays,
    concurrency: 8,
    serverTime: true,
    idPattern,
    changeFields: changeFields.length > 0 ? changeFields : ['updatedAt'],
  };
}

/** A connector over an in-memory CRM. Every contract call counts one API call in `crm.stats`. */
export class MockConnector extends ConnectorBase {
  readonly id: string;
  readonly instanceKey?: string;
  /** Fault hooks: make the next calls, or every n-th call, fail. */
  readonly faults = new MockFaults();
  readonly #latencyMs: number;
  readonly #queries: QueryRunner;

  constructor(
    /** The engine this connector reads and writes. */
    readonly crm: InMemoryCrm,
    options: MockConnectorOptions = {},
  ) {
    super({ ...mockCapabilities(crm), ...options.capabilities });
    this.id = options.id ?? 'mock';
    if (options.instanceKey !== undefined) this.instanceKey = options.instanceKey;
    this.#latencyMs = options.latencyMs ?? 0;
    this.#queries = new QueryRunner(crm, this.id, this.capabilities);
  }

  /** The CRM's objects. */
  listObjects(options?: CallOptions): ResultAsync<readonly ObjectSummary[], CrmError> {
    return this.#call('listObjects', options, () => ok(this.crm.listObjects()));
  }

  /** One object's description; `not-found` for an unknown object. */
  describe(object: string, options?: CallOptions): ResultAsync<ObjectDescription, CrmError> {
    return this.#call('describe', options, () => {
      const description = this.crm.describe(object);
      return description ? ok(description) : err(this.#unknownObject('describe', object));
    });
  }

  /**
   * The canonical form of an id of `object`, by the object's id format: Salesforce-style ids as
   * 18 characters in the case their suffix encodes, GUIDs in lower case, mock ids unchanged. See
   * `CrmConnector.normalizeId`.
   */
  normalizeId(object: string, id: string): string {
    const format = this.crm.schema(object)?.idFormat;
    return format === undefined ? id : canonicalMockId(format, id);
  }

  /** One page of records; see `CrmConnector.query` for the guarantees. Ids match in any form the CRM accepts. */
  query(request: QueryRequest, cursor?: string, options?: CallOptions): ResultAsync<RecordPage, CrmError> {
    const canonical = request.ids === undefined ? request : { ...request, ids: request.ids.map((id) => this.normalizeId(request.object, id)) };
    return this.#call('query', options, () => this.#queries.run(canonical, cursor));
  }

  /** Inserts, updates or upserts a batch; one outcome per record, in input order. */
  override upsertBatch(request: UpsertBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    return this.#call('upsertBatch', options, () => {
      const description = this.crm.describe(request.object);
      if (!description) return err(this.#unknownObject('upsertBatch', request.object));
      if (request.records.length > this.capabilities.maxUpsertBatch) {
        return err(this.#invalid(`upsertBatch on '${request.object}': ${request.records.length} records is more than maxUpsertBatch (${this.capabilities.maxUpsertBatch}); split the batch`));
      }
      if (request.mode === 'upsert') {
        const key = request.externalIdField;
        const field = key === undefined ? undefined : description.fields.find((candidate) => candidate.name === key);
        if (!field || !field.externalId) {
          return err(this.#invalid(`upsertBatch on '${request.object}': mode 'upsert' needs externalIdField naming an external-id field, got ${JSON.stringify(key)}`));
        }
      }
      return ok(request.records.map((record): WriteOutcome => {
        if (request.mode === 'insert') {
          if (record.id !== undefined) {
            return { ok: false, id: record.id, reject: rejectOf('invalid-field', 'INVALID_FIELD_FOR_INSERT_UPDATE', `an insert cannot carry a record id (${record.id}); use mode 'update'`, [description.primaryKey]) };
          }
          return this.crm.insert(request.object, record.values);
        }
        if (request.mode === 'update') {
          if (record.id === undefined) {
            return { ok: false, reject: rejectOf('invalid-value', 'MISSING_ARGUMENT', `an update needs the record id (${description.primaryKey}); use mode 'insert' to create`, [description.primaryKey]) };
          }
          return this.crm.update(request.object, this.normalizeId(request.object, record.id), record.values);
        }
        return this.crm.upsert(request.object, request.externalIdField as string, record.values);
      }));
    });
  }

  /** Deleted records in `[start, end]`, both inclusive; `retention-exceeded` before the recycle bin's reach. */
  override getDeleted(request: DeletedRequest, cursor?: string, options?: CallOptions): ResultAsync<DeletedPage, CrmError> {
    return this.#call('getDeleted', options, () => this.#deletedPage(request, cursor));
  }

  /**
   * Deletes a batch by id; already deleted ids count as deleted. An id that is not an id of the
   * object's format at all is a reject (`invalid-value`, `MALFORMED_ID`), as Salesforce answers,
   * never "deleted".
   */
  override delete(request: DeleteBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    return this.#call('delete', options, () => {
      const schema = this.crm.schema(request.object);
      if (!schema) return err(this.#unknownObject('delete', request.object));
      if (request.ids.length > this.capabilities.maxDeleteBatch) {
        return err(this.#invalid(`delete on '${request.object}': ${request.ids.length} ids is more than maxDeleteBatch (${this.capabilities.maxDeleteBatch}); split the batch`));
      }
      const wellFormed = new RegExp(ID_PATTERNS[schema.idFormat]);
      return ok(
        request.ids.map((raw): WriteOutcome => {
          const id = canonicalMockId(schema.idFormat, raw);
          if (!wellFormed.test(id)) return { ok: false, id: raw, reject: rejectOf('invalid-value', 'MALFORMED_ID', `malformed id ${raw.slice(0, 40)}`, [schema.primaryKey]) };
          return this.crm.delete(request.object, id);
        }),
      );
    });
  }

  /** The CRM clock's time. */
  serverTime(options?: CallOptions): ResultAsync<Instant, CrmError> {
    return this.#call('serverTime', options, () => ok(toInstant(this.crm.clock.now())));
  }

  #deletedPage(request: DeletedRequest, cursor: string | undefined): Result<DeletedPage, CrmError> {
    const where = `getDeleted on '${request.object}'`;
    if (!this.crm.schema(request.object)) return err(this.#unknownObject('getDeleted', request.object));
    const start = parseInstant(request.start);
    const end = parseInstant(request.end);
    if (start === undefined || end === undefined) {
      return err(this.#invalid(`${where}: start and end must be ISO 8601 instants such as 2024-01-31T12:00:00.000Z, got ${JSON.stringify(request.start)} and ${JSON.stringify(request.end)}`));
    }
    if (start > end) return err(this.#invalid(`${where}: start ${start} is after end ${end}; swap them`));
    const earliest = this.crm.earliestDeletedAvailable(request.object);
    if (start < earliest) {
      return err(crmError('retention-exceeded', this.id, `${where}: start ${start} is before the earliest deletion the CRM still keeps (${earliest}, ${this.crm.deletedRetentionDays} days); run a full re-sync instead`, { earliestAvailable: earliest }));
    }
    const size = request.pageSize ?? this.capabilities.defaultPageSize;
    if (!Number.isInteger(size) || size < 1) return err(this.#invalid(`${where}: pageSize must be a positive integer, got ${size}`));
    const pageSize = Math.min(size, this.capabilities.maxPageSize);
    let all = this.crm.deletedBetween(request.object, start, end);
    if (cursor !== undefined) {
      const resume = decodeCursor(cursor, request.object);
      if (resume?.mode !== 'keyset') return err(this.#invalid(`${where}: the cursor is not one this connector issued; pass nextCursor back unchanged`));
      all = all.filter((record) => record.deletedAt > resume.at || (record.deletedAt === resume.at && record.id > resume.id));
    }
    const records = all.slice(0, pageSize);
    const now = toInstant(this.crm.clock.now());
    const page: DeletedPage = { records, earliestDateAvailable: earliest, latestDateCovered: end < now ? end : now };
    const last = records[records.length - 1];
    if (all.length > pageSize && last) return ok({ ...page, nextCursor: encodeCursor({ mode: 'keyset', object: request.object, at: last.deletedAt, id: last.id }) });
    return ok(page);
  }

  #invalid(message: string): CrmError {
    return crmError('invalid-request', this.id, message);
  }

  #unknownObject(operation: string, object: string): CrmError {
    return crmError('not-found', this.id, `${operation}: no object '${object}'; call listObjects for the known objects`);
  }

  /**
   * The shape of every call: count it, wait the latency, then let a scripted fault answer
   * instead of the CRM, or after it (a lost answer: the work is done, the error says in doubt).
   */
  #call<T>(operation: string, options: CallOptions | undefined, work: () => Result<T, CrmError>): ResultAsync<T, CrmError> {
    this.crm.countCall(operation);
    const run = async (): Promise<Result<T, CrmError>> => {
      const signal = options?.signal;
      try {
        if (this.#latencyMs > 0) await sleep(this.#latencyMs, undefined, signal ? { signal } : {});
      } catch (cause) {
        return err(crmError('transient', this.id, `${operation} was aborted by the caller before the CRM answered`, { cause }));
      }
      if (signal?.aborted) return err(crmError('transient', this.id, `${operation} was aborted by the caller before the CRM answered`, { cause: signal.reason }));
      const fault = this.faults.check(operation);
      if (fault && !fault.afterCommit) return err(fault.error);
      const result = work();
      return fault ? err(fault.error) : result;
    };
    return new ResultAsync(run());
  }
}
