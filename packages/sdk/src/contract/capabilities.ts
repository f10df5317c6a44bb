/**
 * What a connector can do, as data. The orchestrator plans with it, the runtime wrapper throttles
 * with it, and the testkit decides which checks apply from it.
 *
 * @module
 */
import type { ComparisonOperator } from '../filter/ast.js';

/** Capabilities of a connector. Every member states its default in {@link DEFAULT_CAPABILITIES}. */
export interface ConnectorCapabilities {
  /** Largest page `query` returns. */
  readonly maxPageSize: number;
  /** Page size used when a request names none. */
  readonly defaultPageSize: number;
  /** Most records per `upsertBatch` call. */
  readonly maxUpsertBatch: number;
  /** Most ids per `delete` call. */
  readonly maxDeleteBatch: number;
  /** Most ids in one `query` with `ids`. */
  readonly maxIdsPerQuery: number;
  /** `query` honours `orderBy`. */
  readonly orderBy: boolean;
  /** Comparison operators the connector compiles, beyond the portable ones (native profile). */
  readonly filterOperators: readonly ComparisonOperator[];
  /** Native profile may negate groups. */
  readonly negatedGroups: boolean;
  /** `upsertBatch` supports `mode: 'upsert'` with an external-id field. */
  readonly upsertByExternalId: boolean;
  /**
   * How many days back `getDeleted` reaches; `null` when the connector cannot report deletions.
   */
  readonly deletedRetentionDays: number | null;
  /** Most calls in flight at once for one connector instance. */
  readonly concurrency: number;
  /** Optional request-rate cap: at most `limit` calls per `intervalMs`. */
  readonly rateLimit?: { readonly limit: number; readonly intervalMs: number };
  /** The connector reports CRM server time (`serverTime()` or `RecordPage.serverTime`). */
  readonly serverTime: boolean;
  /** A regular expression (source text) every valid record id matches. */
  readonly idPattern?: string;
  /** Above this many records per export, a bulk path (e.g. Bulk API 2.0) is used. */
  readonly bulkThreshold?: number;
  /**
   * `upsertBatch` accepts a client-chosen primary key on `insert` (`WriteRecord.id`, a random
   * UUID) and answers an insert whose id already exists (a resend of one that was committed) as
   * `created` with that id. The orchestrator then journals an id per insert before sending it, so
   * an insert whose answer was lost is simply sent again: no duplicate, no sync key needed.
   * Default false.
   */
  readonly clientInsertIds?: boolean;
  /**
   * Candidate change fields in preference order; the first one the object has is the default
   * for incremental import (e.g. `['LastModifiedDate', 'SystemModstamp']`).
   */
  readonly changeFields: readonly string[];
}

/** Conservative defaults for a connector that declares nothing. */
export const DEFAULT_CAPABILITIES: ConnectorCapabilities = {
  maxPageSize: 2000,
  defaultPageSize: 500,
  maxUpsertBatch: 200,
  maxDeleteBatch: 200,
  maxIdsPerQuery: 200,
  orderBy: true,
  filterOperators: [],
  negatedGroups: false,
  upsertByExternalId: false,
  deletedRetentionDays: null,
  concurrency: 4,
  serverTime: false,
  clientInsertIds: false,
  changeFields: [],
};

/** Fills the capabilities a connector left out with {@link DEFAULT_CAPABILITIES}. */
export function defineCapabilities(partial: Partial<ConnectorCapabilities>): ConnectorCapabilities {
  return { ...DEFAULT_CAPABILITIES, ...partial };
}
