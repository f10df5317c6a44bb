/**
 * Deliberately broken connectors: each wraps a working one and breaks one promise of the
 * contract, so the self-test can prove the suite notices.
 */
import type {
  CallOptions,
  CrmConnector,
  CrmError,
  CrmRecord,
  DeleteBatchRequest,
  DeletedRequest,
  QueryRequest,
  UpsertBatchRequest,
} from '@crm-sync/sdk';
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';

/** Forwards every call to `inner`; subclasses override the one they break. */
export class ForwardingConnector implements CrmConnector {
  constructor(protected readonly inner: CrmConnector) {}
  get id() { return this.inner.id; }
  get capabilities() { return this.inner.capabilities; }
  listObjects(options?: CallOptions) { return this.inner.listObjects(options); }
  describe(object: string, options?: CallOptions) { return this.inner.describe(object, options); }
  query(request: QueryRequest, cursor?: string, options?: CallOptions) { return this.inner.query(request, cursor, options); }
  upsertBatch(request: UpsertBatchRequest, options?: CallOptions) { return this.inner.upsertBatch(request, options); }
  getDeleted(request: DeletedRequest, cursor?: string, options?: CallOptions) { return this.inner.getDeleted(request, cursor, options); }
  delete(request: DeleteBatchRequest, options?: CallOptions) { return this.inner.delete(request, options); }
  serverTime(options?: CallOptions) { return this.inner.serverTime!(options); }
}

/** Returns the last page of a multi-page read empty. */
export class DropsLastPage extends ForwardingConnector {
  override query(request: QueryRequest, cursor?: string, options?: CallOptions) {
    return this.inner.query(request, cursor, options).map((page) => (cursor !== undefined && page.nextCursor === undefined ? { ...page, records: [] } : page));
  }
}

/** Reads past `window.end`. */
export class IgnoresWindowEnd extends ForwardingConnector {
  override query(request: QueryRequest, cursor?: string, options?: CallOptions) {
    if (!request.window) return this.inner.query(request, cursor, options);
    const { end: _end, ...window } = request.window;
    return this.inner.query({ ...request, window }, cursor, options);
  }
}

/** Ignores the `window.after` keyset, so a resumed read starts over at `start`. */
export class IgnoresAfter extends ForwardingConnector {
  override query(request: QueryRequest, cursor?: string, options?: CallOptions) {
    if (!request.window) return this.inner.query(request, cursor, options);
    const { after: _after, ...window } = request.window;
    return this.inner.query({ ...request, window }, cursor, options);
  }
}

/** Returns write outcomes in reverse input order. */
export class ReordersWriteOutcomes extends ForwardingConnector {
  override upsertBatch(request: UpsertBatchRequest, options?: CallOptions) {
    return this.inner.upsertBatch(request, options).map((outcomes) => [...outcomes].reverse());
  }
}

/** Leaves ids that are already gone out of the delete outcomes. */
export class SkipsAlreadyDeleted extends ForwardingConnector {
  override delete(request: DeleteBatchRequest, options?: CallOptions) {
    return this.inner
      .query({ object: request.object, fields: [], ids: request.ids, pageSize: request.ids.length })
      .andThen((page) => {
        const existing = new Set(page.records.map((record) => record.id));
        const ids = request.ids.filter((id) => existing.has(id));
        return ids.length === 0 ? okAsync([]) : this.inner.delete({ ...request, ids }, options);
      });
  }
}

/**
 * Pages by offset into a fresh read of the whole result, as a naive REST client might: a deletion
 * before the offset shifts every later record, so one is skipped.
 */
export class OffsetPaging extends ForwardingConnector {
  override query(request: QueryRequest, cursor?: string, options?: CallOptions) {
    const offset = cursor === undefined ? 0 : Number(cursor);
    const size = Math.min(request.pageSize ?? this.capabilities.defaultPageSize, this.capabilities.maxPageSize);
    return this.readAll(request, undefined, [], options).map((records) => {
      const page = records.slice(offset, offset + size);
      return offset + size < records.length ? { records: page, nextCursor: String(offset + size) } : { records: page };
    });
  }

  private readAll(request: QueryRequest, cursor: string | undefined, into: CrmRecord[], options?: CallOptions): ResultAsync<CrmRecord[], CrmError> {
    return this.inner.query(request, cursor, options).andThen((page) => {
      into.push(...page.records);
      return page.nextCursor === undefined ? okAsync(into) : this.readAll(request, page.nextCursor, into, options);
    });
  }
}

/** Copies a credential into every query error's message, unredacted, as a careless error mapper might. */
export class LeaksSecretInErrors extends ForwardingConnector {
  constructor(inner: CrmConnector, private readonly secret: string) {
    super(inner);
  }
  override query(request: QueryRequest, cursor?: string, options?: CallOptions) {
    return this.inner.query(request, cursor, options).mapErr((error): CrmError => ({ ...error, message: `${error.message} (token ${this.secret})` }));
  }
}

/** Treats `getDeleted`'s end as exclusive, so a deletion exactly at `end` is missed. */
export class DeletedEndExclusive extends ForwardingConnector {
  override getDeleted(request: DeletedRequest, cursor?: string, options?: CallOptions) {
    const end = new Date(Date.parse(request.end) - 1).toISOString();
    return this.inner.getDeleted({ ...request, end }, cursor, options);
  }
}

/** Answers a window beyond retention with an empty page, hiding the gap instead of refusing it. */
export class HidesRetentionGap extends ForwardingConnector {
  override getDeleted(request: DeletedRequest, cursor?: string, options?: CallOptions) {
    return this.inner.getDeleted(request, cursor, options).orElse((error) => (error.kind === 'retention-exceeded' ? okAsync({ records: [] }) : errAsync(error)));
  }
}

/** Maps a 429 to a generic transient error, dropping Retry-After, as a lazy error mapper might. */
export class RateLimitAsTransient extends ForwardingConnector {
  override query(request: QueryRequest, cursor?: string, options?: CallOptions) {
    return this.inner
      .query(request, cursor, options)
      .mapErr((error): CrmError => (error.kind === 'rate-limited' ? { kind: 'transient', connector: error.connector, message: error.message, retryable: true } : error));
  }
}

/**
 * Says (through `normalizeId`) that ids compare as the inner connector compares them, but queries
 * by the exact string: another spelling of an id finds nothing.
 */
export class QueriesIdsExactly extends ForwardingConnector {
  normalizeId(object: string, id: string): string {
    return this.inner.normalizeId ? this.inner.normalizeId(object, id) : id;
  }
  override query(request: QueryRequest, cursor?: string, options?: CallOptions) {
    if (!request.ids) return this.inner.query(request, cursor, options);
    const exact = request.ids.filter((id) => this.normalizeId(request.object, id) === id);
    return this.inner.query({ ...request, ids: exact.length > 0 ? exact : ['no-such-id'] }, cursor, options);
  }
}

/** A `normalizeId` that lower-cases: the ids the connector itself returns are not canonical. */
export class LowerCasesIds extends ForwardingConnector {
  normalizeId(_object: string, id: string): string {
    return id.toLowerCase();
  }
}
