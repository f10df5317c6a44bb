/**
 * Requests and results of the connector contract.
 *
 * @module
 */
import type { ResolvedFilterNode } from '../filter/ast.js';
import type { FieldValue, FieldValues, Instant } from './values.js';

/** One sort key. */
export interface OrderBy {
  readonly field: string;
  readonly direction: 'asc' | 'desc';
}

/**
 * An incremental read window over a change field: `[start, end)`.
 *
 * When a window is given, the connector returns records ordered by `(field asc, primary key asc)`
 * unless the request also has an `orderBy`, and applies the keyset `after` so that a read can
 * resume right after the last record a previous page or run committed, even when thousands of
 * records share one timestamp.
 */
export interface QueryWindow {
  /** The change field (e.g. `LastModifiedDate`, `modifiedon`). */
  readonly field: string;
  /** Inclusive lower bound. Omitted on a first full read. */
  readonly start?: Instant;
  /** Exclusive upper bound. */
  readonly end?: Instant;
  /**
   * Keyset: only records with `(field, id) > (after.at, after.id)`. Applied on top of `start`.
   * Compiles to `field > at OR (field = at AND id > id)`.
   */
  readonly after?: { readonly at: Instant; readonly id: string };
}

/** Asks a connector for one page of records. */
export interface QueryRequest {
  /** The remote object name, as `describe` reports it. */
  readonly object: string;
  /**
   * Fields to return. The primary key is always returned as `CrmRecord.id`; the window field, if
   * any, as `CrmRecord.changedAt`. Connectors may add both to their vendor query.
   */
  readonly fields: readonly string[];
  /** A validated, resolved filter (see `resolveFilter`). */
  readonly filter?: ResolvedFilterNode;
  /** Sort keys, in order. Ignored keys are an error, never silently dropped. */
  readonly orderBy?: readonly OrderBy[];
  readonly window?: QueryWindow;
  /**
   * Only these primary keys (record identification). At most `capabilities.maxIdsPerQuery`;
   * the orchestrator chunks. Ids that do not exist are simply absent from the result.
   */
  readonly ids?: readonly string[];
  /** Records per page; the connector caps it at `capabilities.maxPageSize`. */
  readonly pageSize?: number;
}

/** One record read from the CRM. */
export interface CrmRecord {
  /** The primary key. */
  readonly id: string;
  /** The window field's value, when the request had a window. */
  readonly changedAt?: Instant;
  /** Requested fields by remote name; fields absent in the CRM's answer are `null`. */
  readonly values: FieldValues;
}

/** One page of a query. */
export interface RecordPage {
  readonly records: readonly CrmRecord[];
  /**
   * Opaque cursor for the next page; absent on the last page. A caller passes it back unchanged
   * with the same request. Connectors must never return an empty page with a cursor forever.
   */
  readonly nextCursor?: string;
  /** CRM server time when the page was served (e.g. from the HTTP `Date` header). */
  readonly serverTime?: Instant;
  /**
   * The newest instant up to which the CRM guarantees all changes are visible (Salesforce
   * `latestDateCovered`). The orchestrator never ends a window after it.
   */
  readonly safeUpperBound?: Instant;
}

/** The kinds of write. */
export type WriteMode = 'insert' | 'update' | 'upsert';

/** One record to write. */
export interface WriteRecord {
  /**
   * The primary key; required for `update`. For `insert`, only with
   * `capabilities.clientInsertIds`: the id (a UUID) the new record gets, chosen by the caller.
   */
  readonly id?: string;
  /** Values by remote field name. For `upsert`, includes the external-id field's value. */
  readonly values: FieldValues;
}

/** Writes one batch of records (at most `capabilities.maxUpsertBatch`). */
export interface UpsertBatchRequest {
  readonly object: string;
  readonly mode: WriteMode;
  /** For `upsert`: the external-id / alternate-key field that identifies the record. */
  readonly externalIdField?: string;
  readonly records: readonly WriteRecord[];
}

/** Why one record was not written or deleted. */
export interface Reject {
  /**
   * A canonical code: `validation`, `required-field-missing`, `duplicate`, `invalid-field`,
   * `invalid-value`, `not-found`, `deleted-in-crm`, `permission`, `locked`, `conflict`, `unknown`.
   */
  readonly code: RejectCode;
  /** The vendor's symbol (Salesforce `statusCode`, Dataverse error code). */
  readonly symbol?: string;
  /** Human message (redacted). */
  readonly message: string;
  /** Remote fields involved, when the CRM says. */
  readonly fields?: readonly string[];
  /** True when resending the same record later may succeed (e.g. a row lock). */
  readonly retryable: boolean;
}

/** Canonical reject codes. */
export type RejectCode =
  | 'validation'
  | 'required-field-missing'
  | 'duplicate'
  | 'invalid-field'
  | 'invalid-value'
  | 'not-found'
  | 'deleted-in-crm'
  | 'permission'
  | 'locked'
  | 'conflict'
  | 'unknown';

/** What happened to one record. */
export type WriteAction = 'created' | 'updated' | 'deleted' | 'unchanged';

/**
 * The outcome for one input record. `upsertBatch` and `delete` return exactly one per input
 * record, in input order.
 */
export type WriteOutcome =
  | { readonly ok: true; readonly id: string; readonly action: WriteAction }
  | { readonly ok: false; readonly id?: string; readonly reject: Reject };

/** Asks for records deleted in the CRM between two instants, both inclusive. */
export interface DeletedRequest {
  readonly object: string;
  readonly start: Instant;
  readonly end: Instant;
  readonly pageSize?: number;
}

/** One deleted record. */
export interface DeletedRecord {
  readonly id: string;
  readonly deletedAt: Instant;
}

/** One page of deleted records. */
export interface DeletedPage {
  readonly records: readonly DeletedRecord[];
  readonly nextCursor?: string;
  /** The oldest instant the CRM still has deletions for (Salesforce `earliestDateAvailable`). */
  readonly earliestDateAvailable?: Instant;
  /**
   * The newest instant the answer covers (Salesforce `latestDateCovered`), when it is earlier than
   * the asked end: deletions after it may not be reported yet (they were still being replicated)
   * and must be read by a window that starts here. Absent means the asked end was covered. The
   * orchestrator reports, and starts the next automatic window at, the smallest value over the
   * pages, never later than the asked end.
   */
  readonly latestDateCovered?: Instant;
}

/** Deletes one batch of records by primary key (at most `capabilities.maxDeleteBatch`). */
export interface DeleteBatchRequest {
  readonly object: string;
  readonly ids: readonly string[];
}

/** Per-call options every contract method accepts. */
export interface CallOptions {
  /** Aborts the call; the connector stops its HTTP request and returns an error. */
  readonly signal?: AbortSignal;
}

/** A value that is a record id or a scalar. */
export type KeyValue = Exclude<FieldValue, null | boolean>;
