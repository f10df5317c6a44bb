/**
 * The connector contract: what a third party implements to plug a CRM into crm-sync.
 *
 * Every method returns a `ResultAsync`: failures are values ({@link CrmError}), never throws. The
 * orchestrator never calls a connector directly; it goes through `RuntimeConnector`, which adds
 * concurrency limits, retries, deadlines and counters, and turns any stray throw into an error
 * of kind `unknown`. A connector therefore stays small: map requests to the vendor's API and
 * vendor answers and errors back.
 *
 * @module
 */
import type { ResultAsync } from 'neverthrow';
import type { CrmError } from '../errors/crm-error.js';
import type { ConnectorCapabilities } from './capabilities.js';
import type { ObjectDescription, ObjectSummary } from './describe.js';
import type {
  CallOptions,
  DeleteBatchRequest,
  DeletedPage,
  DeletedRequest,
  QueryRequest,
  RecordPage,
  UpsertBatchRequest,
  WriteOutcome,
} from './requests.js';
import type { Instant } from './values.js';

/** A CRM connector. See the "Writing a connector" guide. */
export interface CrmConnector {
  /** A stable id: `salesforce`, `dynamics`, `mock`, or a third party's own. Used in messages. */
  readonly id: string;

  /**
   * Names the CRM instance this connector talks to (an org, an environment: its URL, say), for a
   * connector that can reach more than one. The orchestrator keeps what it caches about the CRM
   * (an object's description, in the option store) apart per instance, so that one store shared by
   * jobs on two orgs never hands one org's fields to the other. Only its hash is stored; it must
   * hold no credential. Leave it out when the connector always reaches the same CRM.
   */
  readonly instanceKey?: string;

  /** What this connector can do. Constant for the life of the instance. */
  readonly capabilities: ConnectorCapabilities;

  /**
   * Lists the objects of the CRM. Order is the CRM's; names are unique. Idempotent; callers may
   * cache the answer for the duration of a run.
   */
  listObjects(options?: CallOptions): ResultAsync<readonly ObjectSummary[], CrmError>;

  /**
   * Describes one object: its primary key and fields with types, flags and time semantics.
   * Unknown objects fail with kind `not-found`. Idempotent.
   */
  describe(object: string, options?: CallOptions): ResultAsync<ObjectDescription, CrmError>;

  /**
   * Reads one page. Pass `cursor` (from the previous page's `nextCursor`) to continue; a cursor is
   * only valid with the request that produced it.
   *
   * Guarantees a caller may rely on:
   * - following cursors until none is returned yields every matching record exactly once, as of
   *   the moment the query started (or later), with no record skipped;
   * - with a `window` and no `orderBy`, records come ordered by `(window.field, id)` ascending,
   *   `start` included, `end` excluded, `after` applied as a strict keyset;
   * - with `orderBy`, records come in that order (ties in the CRM's order);
   * - a page never holds more than `min(pageSize, capabilities.maxPageSize)` records;
   * - field names and literals in the request are validated/escaped by the connector: a hostile
   *   value can never change the query's structure.
   */
  query(request: QueryRequest, cursor?: string, options?: CallOptions): ResultAsync<RecordPage, CrmError>;

  /**
   * Writes a batch (at most `capabilities.maxUpsertBatch` records) and returns one
   * {@link WriteOutcome} per input record, **in input order**. A record the CRM refused is a
   * reject in its outcome, not an error of the call; the call fails as a whole only when the CRM
   * could not be asked or answered (then nothing is known about the batch).
   *
   * - `insert` creates; it is not idempotent by itself (the orchestrator's journal and sync key
   *   make retries safe);
   * - `update` never creates: a missing record is a reject with code `not-found`
   *   (or `deleted-in-crm`);
   * - `upsert` creates or updates by `externalIdField`; retrying the same batch is idempotent.
   */
  upsertBatch(request: UpsertBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError>;

  /**
   * Reads records deleted between `start` and `end`, both inclusive. A window older than the
   * CRM keeps fails with kind `retention-exceeded` (never a silently partial answer); a connector
   * that cannot report deletions fails with kind `unsupported`.
   */
  getDeleted(request: DeletedRequest, cursor?: string, options?: CallOptions): ResultAsync<DeletedPage, CrmError>;

  /**
   * Deletes a batch (at most `capabilities.maxDeleteBatch` ids); one outcome per id, in input
   * order. An id that is already deleted counts as deleted (`ok`, action `deleted`), so a retry
   * is harmless. Per-record failures are rejects.
   */
  delete(request: DeleteBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError>;

  /**
   * The canonical form of a record id of `object`, the way the CRM compares ids: two ids name the
   * same record exactly when their canonical forms are equal strings. The orchestrator compares
   * ids only through it (import by ids, export linking, deletes). Salesforce maps a 15-character
   * id to its 18-character form and fixes the case of the checksum suffix; Dataverse lower-cases
   * GUIDs. Must be pure, idempotent and cheap, and must never throw: a string that is not an id of
   * this CRM comes back unchanged (the CRM then refuses it). Ids the connector returns are already
   * canonical. Omitted: ids compare as exact strings.
   */
  normalizeId?(object: string, id: string): string;

  /**
   * Takes a description the caller already holds (the orchestrator's describe cache in the option
   * store), so that the connector's own calls on `description.name` (`query`, `upsertBatch`, ...)
   * use it instead of sending a describe of their own. Makes no call. Omitted: the connector
   * describes on its own when it needs to.
   */
  adoptDescription?(description: ObjectDescription): void;

  /**
   * Drops any description of `object` the connector holds (adopted or fetched), so that its next
   * `describe` asks the CRM. Called when a field error shows the description is out of date.
   * Makes no call.
   */
  forgetDescription?(object: string): void;

  /** The CRM's current time, when `capabilities.serverTime` is true. */
  serverTime?(options?: CallOptions): ResultAsync<Instant, CrmError>;

  /** Releases sockets, timers and caches. Called once; further calls must be harmless. */
  close?(): Promise<void>;
}
