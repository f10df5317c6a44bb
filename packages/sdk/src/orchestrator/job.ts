/**
 * Job definitions: the four operations of the seed's "CRM Connector" activity, as data. A CLI maps
 * its job files onto these one to one; an application builds them in code.
 *
 * @module
 */
import type { OrderBy } from '../contract/requests.js';
import type { ConversionMode } from '../conversion/convert-value.js';
import type { FieldMapping } from '../conversion/record-converter.js';
import type { Instant } from '../contract/values.js';
import type { FilterNode, FilterProfile } from '../filter/ast.js';

/**
 * How one field's value is converted between the CRM and the application (the seed's
 * "Conversion" column): `default`, `date-only`, `without-time-offset` or `copy-paste`. The same
 * modes as {@link ConversionMode}.
 */
export type JobConversion = ConversionMode;

/**
 * One mapped field: a remote (CRM) name, a local name and a conversion (default `default`). The
 * same shape as the conversion module's {@link FieldMapping}.
 */
export type JobField = FieldMapping;

/**
 * The wait-and-retry policy for run-level errors (the seed's "wait box"): after the runtime's own
 * retries are spent, wait `waitMs`, then retry the failed part, at most `retries` times.
 */
export interface ErrorRetryPolicy {
  /** How many times the failed part is retried after the first failure. */
  readonly retries: number;
  /** How long to wait before each retry. */
  readonly waitMs: number;
}

/** What every job has. */
export interface JobBase {
  /**
   * The activity name: part of the watermark option name and of the export journal's job id. Use
   * letters, digits, `-` and `_`.
   */
  readonly activity: string;
  /** The crm-sync instance (one application may sync several CRMs). Defaults to `default`. */
  readonly instance?: string;
  /** The remote object, as `describe` reports it (`Contact`, `contact`, ...). */
  readonly object: string;
  /**
   * "Process rejects": per-record failures go to the orchestrator's rejects output. Each reject is
   * logged as a warning either way.
   */
  readonly processRejects?: boolean;
  /**
   * "Process errors": run-level failures (once the runtime's retries are spent) go to the errors
   * output and the failed part is retried by the policy (`true` means 3 retries, 1 s apart);
   * otherwise the run fails with the error. Errors that waiting cannot fix (`invalid-request`,
   * `not-found`, `permission`, `retention-exceeded`, `unsupported`) go to the errors output once
   * and fail the run at once.
   */
  readonly processErrors?: boolean | ErrorRetryPolicy;
}

/** Incremental import by watermark (the seed's "automatic index"). */
export interface AutomaticIndex {
  /** Turns the incremental import on. */
  readonly enabled: boolean;
  /** The option holding the watermark. Defaults to `LASTIMPORT_<instance>_<activity>`. */
  readonly option?: string;
  /** The change field. Defaults to the connector's first candidate the object has. */
  readonly changeField?: string;
  /**
   * Subtracted from the CRM's "now" to end the window, so that transactions still committing are
   * left for the next run. Default 2000 ms.
   */
  readonly safetyLagMs?: number;
  /**
   * The tail of the previous window to read again, for records committed late with an older
   * change time; re-read records are deduplicated by (id, change time). Default 0.
   */
  readonly overlapMs?: number;
  /** Where the first run (no watermark yet) starts; from the beginning when omitted. */
  readonly initialStart?: Instant;
}

/** O1: import records from the CRM into a local table. */
export interface ImportJob extends JobBase {
  /** The operation: O1. */
  readonly kind: 'import';
  /** Remote fields and their local names. The id and the change field are added automatically. */
  readonly fields: readonly JobField[];
  /** The filter; portable profile unless `filterProfile` is `native`. */
  readonly filter?: FilterNode;
  /** `portable` (default: the seed's five rules) or `native` (the connector's richer operators). */
  readonly filterProfile?: FilterProfile;
  /** Values for `vars.<name>` in filter expressions. */
  readonly variables?: Readonly<Record<string, number | string>>;
  /** Sort keys, in order. With an automatic index the watermark moves only at the end of the window. */
  readonly orderBy?: readonly OrderBy[];
  /** Incremental import by watermark; a full read when omitted or disabled. */
  readonly automaticIndex?: AutomaticIndex;
  /** IANA zone for conversions (e.g. `Europe/Amsterdam`). Defaults to `UTC`. */
  readonly timeZone?: string;
  /** Records per page; capped by the connector. */
  readonly pageSize?: number;
  /**
   * Record identification: import exactly these remote ids instead of filtering. Chunked by the
   * connector's ids-per-query capability; ids not found are reported in the summary. Ids are
   * compared as the CRM compares them (the connector's `normalizeId`), so another spelling of an
   * existing id (a Salesforce 15-character id, an upper-case GUID) is found.
   */
  readonly ids?: readonly string[] | AsyncIterable<string>;
  /** The local table that receives the records. */
  readonly table: string;
}

/**
 * How an export writes each record:
 * - `insert`: always create;
 * - `update`: update by the linked CRM id, never create (a record deleted in the CRM is a reject);
 * - `upsert`: create or update by the sync key (needs `syncKey` and a connector that upserts by
 *   external id);
 * - `auto`: update when the local row has a CRM id, else create (as an upsert by the sync key when
 *   the connector supports it, so a retry can never duplicate).
 */
export type ExportMode = 'insert' | 'update' | 'upsert' | 'auto';

/**
 * What to do on restart with records whose insert may or may not have reached the CRM (the answer
 * was lost) when there is no sync key to settle it:
 * - `stop` (default): the run fails and names the records;
 * - `resend`: send them again (may duplicate; you accept that);
 * - `skip`: leave them out (may lose them; you accept that).
 */
export type InDoubtPolicy = 'stop' | 'resend' | 'skip';

/**
 * `ExportJob.changedSince` for an incremental export: rows changed since the start of this job's
 * last finished export run (as recorded in the export journal).
 */
export const SINCE_LAST_EXPORT = 'last-export';

/** O2: export local rows to the CRM. */
export interface ExportJob extends JobBase {
  /** The operation: O2. */
  readonly kind: 'export';
  /** Local fields and the remote fields they fill (`local` -> `remote`). */
  readonly fields: readonly JobField[];
  /** How each record is written. */
  readonly mode: ExportMode;
  /**
   * The sync key: an external-id field of the CRM object that receives the local record's key.
   * It makes a resent insert harmless (upsert by it, or a lookup by it settles an unknown outcome).
   */
  readonly syncKey?: {
    /** The external-id (unique) field of the CRM object. */
    readonly remoteField: string;
  };
  /** What to do with inserts in doubt when there is no sync key; default `stop`. */
  readonly inDoubtPolicy?: InDoubtPolicy;
  /** On restart, send records the CRM rejected in the interrupted run again. Default false. */
  readonly resendRejected?: boolean;
  /** The local table to read. */
  readonly table: string;
  /**
   * Only rows changed at or after this instant. {@link SINCE_LAST_EXPORT} (`'last-export'`):
   * rows changed since the start of this job's last finished export (every row the application
   * changed, when none has finished yet). The start, not the end, so a row changed while that run
   * was reading is sent again rather than missed.
   */
  readonly changedSince?: Instant | typeof SINCE_LAST_EXPORT;
  /** Only these local keys. */
  readonly keys?: readonly string[];
  /** Records per CRM call; capped by the connector's `maxUpsertBatch`. */
  readonly batchSize?: number;
  /** IANA zone for conversions. Defaults to `UTC`. */
  readonly timeZone?: string;
}

/**
A safety limit on how many records one run may delete (or mark deleted): a count (`500`) or a
 * percentage of the object's records in the CRM (`'10%'`, counted with id-only queries before the
 * first delete). Over it, the run is refused before anything is deleted. Default
 * {@link DEFAULT_MAX_DELETES}.
 */
export type DeleteLimit = number | `${number}%`;

/**
 * The limit when a job gives no `maxDeletes`: 500 records. A fixed count, so it needs no count
 * query: routine deletes (a few records a run) pass, while a job that would empty an object (the
 * mistake it guards against: an import job copied and switched to `delete`) is refused.
 */
export const DEFAULT_MAX_DELETES = 500;

/** The explicit intent a delete of every linked row of a table needs (`confirm`). */
export type DeleteConfirmation = 'all-linked-rows';

/**
 * The automatic index of an import of deleted records: an option that remembers where the CRM's
 * answer really ended (its covered end, which can be earlier than the asked end), so that the next
 * window starts there and no deletion falls between two windows.
 */
export interface DeletedIndex {
  /** Turns the automatic index on. */
  readonly enabled: boolean;
  /** The option holding the position. Defaults to `LASTDELETED_<instance>_<activity>`. */
  readonly option?: string;
}

/** O3: import the records deleted in the CRM between two instants, both inclusive. */
export interface ImportDeletedJob extends JobBase {
  /** The operation: O3. */
  readonly kind: 'import-deleted';
  /**
   * Inclusive start (an ISO 8601 instant). With an automatic index that already holds a position,
   * the position is used instead (this start then only serves the first run).
   */
  readonly start: Instant;
  /** Inclusive end (an ISO 8601 instant). Defaults to the CRM's "now". */
  readonly end?: Instant;
  /**
   * Starts each window where the previous run's answer really ended (the CRM's covered end) and
   * stores the new covered end after the deletions are applied.
   */
  readonly automaticIndex?: DeletedIndex;
  /** The local table where deletions are applied. */
  readonly table: string;
  /** Deleted records per page; capped by the connector. */
  readonly pageSize?: number;
  /**
   * The most local rows one run may mark deleted. Every page is read before the first row is
   * marked; a window with more deletions is refused and nothing is marked. Default
   * {@link DEFAULT_MAX_DELETES}; a percentage is of the object's records in the CRM.
   */
  readonly maxDeletes?: DeleteLimit;
}

/** O4: delete records in the CRM by remote id. */
export interface DeleteJob extends JobBase {
  /** The operation: O4. */
  readonly kind: 'delete';
  /** The remote ids to delete. Either this or `table`. */
  readonly ids?: readonly string[] | AsyncIterable<string>;
  /** A local table whose rows' CRM ids are deleted (rows without one are skipped). */
  readonly table?: string;
  /** Only these local keys of `table`. */
  readonly keys?: readonly string[];
  /** Ids per CRM call; capped by the connector's `maxDeleteBatch`. */
  readonly batchSize?: number;
  /**
   * Required (as `'all-linked-rows'`) to delete every linked row of `table`, i.e. a `table`
   * without `keys`; such a job without it is refused before any call. Not allowed with `ids` or
   * `keys`.
   */
  readonly confirm?: DeleteConfirmation;
  /**
   * The most records one run may delete. The ids are counted (distinct, as the CRM compares
   * them) before the first delete request; more than the limit refuses the run and nothing is
   * deleted. Default {@link DEFAULT_MAX_DELETES}; a percentage is of the object's records in the
   * CRM.
   */
  readonly maxDeletes?: DeleteLimit;
}

/** Any job. */
export type SyncJob = ImportJob | ExportJob | ImportDeletedJob | DeleteJob;

/** The operation names, as summaries and job files spell them. */
export type SyncOperation = SyncJob['kind'];

/** The instance a job runs in: `job.instance` or `default`. */
export function jobInstance(job: JobBase): string {
  return job.instance ?? 'default';
}

/** The default watermark option name: `LASTIMPORT_<instance>_<activity>`. */
export function defaultWatermarkOption(job: JobBase): string {
  return `LASTIMPORT_${jobInstance(job)}_${job.activity}`;
}

/** The default option of an import of deleted records' automatic index: `LASTDELETED_<instance>_<activity>`. */
export function defaultDeletedOption(job: JobBase): string {
  return `LASTDELETED_${jobInstance(job)}_${job.activity}`;
}

/** The export journal's job id: `<instance>/<activity>`. */
export function exportJobId(job: JobBase): string {
  return `${jobInstance(job)}/${job.activity}`;
}

/** The process-errors policy a job asks for, or `undefined` when errors fail the run. */
export function errorPolicy(job: JobBase): ErrorRetryPolicy | undefined {
  if (job.processErrors === undefined || job.processErrors === false) return undefined;
  if (job.processErrors === true) return { retries: 3, waitMs: 1000 };
  return job.processErrors;
}
