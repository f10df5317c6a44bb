/**
 * What a run returns and reports: summaries, progress events, rejects, errors, plans, and the
 * options of the orchestrator and of each run.
 *
 * @module
 */
import type { CrmConnector } from '../contract/connector.js';
import type { Reject } from '../contract/requests.js';
import type { Instant } from '../contract/values.js';
import type { CrmError } from '../errors/crm-error.js';
import type { Logger } from '../runtime/logger.js';
import type { RuntimeOptions } from '../runtime/runtime-options.js';
import type { LeaseStore, RunLease } from '../stores/lease.js';
import type { RunHistoryStore } from '../stores/run-history.js';
import type { ExportJournal, OptionStore, RecordSink, RecordSource } from '../stores/types.js';
import type { SyncOperation } from './job.js';

/** The import window a run read: `[start, end)`, in the seed's human format (UTC). */
export interface RunWindow {
  /** The watermark option (`crmOptionName`). */
  readonly optionName: string;
  /** `crmStartImport`, `yyyy/MM/dd HH:mm:ss`; absent on a first full read. */
  readonly start?: string;
  /** `crmEndDate`, `yyyy/MM/dd HH:mm:ss`. */
  readonly end: string;
  /** The same bounds as exact instants. */
  /** The exact start (inclusive). */
  readonly startInstant?: Instant;
  /** The exact end (exclusive). */
  readonly endInstant: Instant;
}

/**
 * The window an import of deleted records read: both bounds included. `end` is what the CRM's
 * answer really covered (Salesforce `latestDateCovered`: deletions of the last minute may not be
 * reported yet), never later than `requestedEnd`; the next window must start at `end`.
 */
export interface DeletedWindow {
  /** The start asked for (inclusive). */
  readonly start: Instant;
  /** The end the CRM covered (inclusive); the next window starts here. */
  readonly end: Instant;
  /** The end asked for (the job's end, or the CRM's "now"). */
  readonly requestedEnd: Instant;
  /** The automatic index's option, when the job has one. */
  readonly optionName?: string;
}

/** The variables a run exposes to the caller, named as in the seed. */
export interface RunVariables {
  /** The watermark option's name. */
  readonly crmOptionName?: string;
  /** The window start, `yyyy/MM/dd HH:mm:ss` (UTC); absent on a first full read. */
  readonly crmStartImport?: string;
  /** The window end, `yyyy/MM/dd HH:mm:ss` (UTC). */
  readonly crmEndDate?: string;
}

/** What a run did. Counts are records unless named otherwise. */
export interface RunSummary {
  /** Which of the four operations ran. */
  readonly operation: SyncOperation;
  /** The job's activity name. */
  readonly activity: string;
  /** True when nothing was changed (dry run). */
  readonly dryRun: boolean;
  /** Records read from the CRM (import) or from the local source (export, delete). */
  readonly read: number;
  /** Records (or deletions) written to the local side: imports and deleted-record imports. */
  readonly written: number;
  /** Records created in the CRM (export). */
  readonly created: number;
  /** Records updated in the CRM (export). */
  readonly updated: number;
  /** Records deleted in the CRM (delete) or deletions applied locally (import-deleted). */
  readonly deleted: number;
  /** Records the CRM reported as unchanged (export). */
  readonly unchanged: number;
  /**
   * Re-read records dropped as duplicates (overlap). Not used by exports: a resumed export counts
   * every record of its journal run by what happened to it (created, updated, unchanged, rejected),
   * whichever invocation settled it.
   */
  readonly skipped: number;
  /** Per-record failures (see the rejects output). */
  readonly rejected: number;
  /** Run-level errors that went to the errors output (process errors on). */
  readonly errors: number;
  /** CRM calls this run made, counted by the runtime wrapper. */
  readonly apiCalls: number;
  /** Retries the runtime made (429, 5xx, time-outs). */
  readonly retries: number;
  /** Wall-clock duration on the client clock. */
  readonly durationMs: number;
  /** The incremental import window, when there was one. */
  readonly window?: RunWindow;
  /** The window an import of deleted records read, with the end the CRM really covered. */
  readonly deletedWindow?: DeletedWindow;
  /** The seed's variables (`crmOptionName`, `crmStartImport`, `crmEndDate`). */
  readonly variables: RunVariables;
  /** Ids asked for by record identification that the CRM did not return. */
  readonly notFound?: readonly string[];
  /** The export journal run, for exports. */
  readonly runId?: string;
  /** The plan, on a dry run. */
  readonly plan?: RunPlan;
  /** Facts worth telling a human (resumed run, settled records, policy applied, ...). */
  readonly notes: readonly string[];
}

/** A progress event, for progress bars. */
export interface RunProgress {
  readonly operation: SyncOperation;
  readonly activity: string;
  readonly phase: 'validate' | 'read' | 'write' | 'settle' | 'done';
  /** Records processed so far. */
  readonly records: number;
  readonly rejects: number;
  readonly apiCalls: number;
  /** Total to process, when known (export, delete). */
  readonly total?: number;
}

/** One per-record failure, as the rejects output receives it. */
export interface RejectItem {
  readonly operation: SyncOperation;
  readonly activity: string;
  readonly code: Reject['code'];
  /** The vendor's symbol (the seed's `errorSymbol`). */
  readonly symbol?: string;
  readonly message: string;
  readonly fields: readonly string[];
  /** The local record key (export), when there is one. */
  readonly localKey?: string;
  /** The CRM id, when there is one. */
  readonly crmId?: string;
}

/** One run-level failure, as the errors output receives it. */
export interface ErrorItem {
  readonly operation: SyncOperation;
  readonly activity: string;
  /** Which part failed: `page 3`, `batch 2`, `describe`, ... */
  readonly part: string;
  /** 1 for the first failure of that part, then 2, 3, ... per retry. */
  readonly attempt: number;
  /** True when the policy will retry the part. */
  readonly willRetry: boolean;
  readonly error: CrmError;
}

/** Where rejects or errors go. `write` resolves once the items are durable. */
export interface RunOutput<T> {
  write(items: readonly T[]): Promise<void>;
}

/** The rejects output. */
export type RejectOutput = RunOutput<RejectItem>;
/** The errors output. */
export type ErrorOutput = RunOutput<ErrorItem>;

/** A problem with a job found before any data call. */
export interface JobIssue {
  /** The job path of the offending entry, e.g. `fields[3].remote`. */
  readonly path: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** Why a run failed. Discriminate on `kind`. */
export type RunErrorKind =
  /** The job does not fit the object's description (see `issues`). */
  | 'invalid-job'
  /** A CRM call failed after the runtime's retries (see `crmError`). */
  | 'crm'
  /** The watermark is unreadable or in the future. */
  | 'watermark'
  /** Records of an interrupted export may or may not be in the CRM and no sync key can tell. */
  | 'in-doubt'
  /** A store (sink, source, options, journal, outputs) failed. */
  | 'store'
  /** The run was aborted by its signal. */
  | 'aborted'
  /** Another run holds the job's lease (see `holder`); nothing was read or written. */
  | 'job-running'
  /** The run lost its job's lease to a newer run and stopped; its late writes were refused. */
  | 'lease-lost'
  /** The caller's `onBatchSettled` threw; the outcomes are journaled and delivered again on resume. */
  | 'callback';

/** A failed run. The message says what, where and how to fix it. */
export interface RunError {
  /** What kind of failure; decides what to do next. */
  readonly kind: RunErrorKind;
  /** `[crm-sync] [orchestrator] ...`, redacted. */
  readonly message: string;
  /** For `invalid-job`: every problem, with its job path. */
  readonly issues?: readonly JobIssue[];
  /** For `crm`: the CRM error after the retries were spent. */
  readonly crmError?: CrmError;
  /** For `in-doubt`: the local keys whose outcome is unknown. */
  readonly ambiguousKeys?: readonly string[];
  /** For `job-running`: the run that holds the job's lease. */
  readonly holder?: RunLease;
  /** What the run had done before it failed. */
  readonly summary?: RunSummary;
  /** The underlying throw of a store, redacted. */
  readonly cause?: unknown;
}

/** One query a run would send. */
export interface PlannedQuery {
  readonly object: string;
  readonly fields: readonly string[];
  /** A readable rendering of the filter, window and order. */
  readonly description: string;
}

/** What a run would do, from a dry run. Nothing is changed to produce it. */
export interface RunPlan {
  readonly operation: SyncOperation;
  readonly activity: string;
  readonly object: string;
  readonly queries: readonly PlannedQuery[];
  /** Write or delete batches, when known. */
  readonly batches?: number;
  /** Records the run would touch, when known. */
  readonly records?: number;
  /** Estimated API calls: a lower bound for imports (one per page; pages unknown in advance). */
  readonly estimatedApiCalls: number;
  readonly window?: RunWindow;
  readonly notes: readonly string[];
}

/** Options of every run. */
export interface RunOptions {
  /** Validate and plan only; change nothing (no CRM writes, no store writes). */
  readonly dryRun?: boolean;
  /** Stops the run; what is committed stays committed, the watermark stays at the last commit. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: RunProgress) => void;
  /**
   * How long to wait, in ms, when another run holds the job's lease (default 0: refuse at once
   * with a `job-running` error). A holder on this host whose process is gone is taken over at once
   * either way; another host's holder once its lease expires.
   */
  readonly leaseWaitMs?: number;
}

/** Options of an export run. */
export interface ExportRunOptions extends RunOptions {
  /**
   * Resume the job's interrupted run (default true). With `false` an open run is closed as
   * failed and a new run starts; this is refused while the open run has records whose outcome is
   * unknown, unless the job's `inDoubtPolicy` is `resend` or `skip`.
   */
  readonly resume?: boolean;
  /**
   * Called with every record's outcome once a batch has settled (its outcomes are in the journal),
   * so an application can mark its rows synced (or store its rejects) in its own transaction.
   * Calls never overlap, come in the order batches settle, and each is awaited before that
   * worker sends another batch. Outcomes settled without a send (a conversion reject, an insert in
   * doubt found by its sync key) are delivered too.
   *
   * Delivery is at least once: when the run resumes, every outcome an earlier invocation settled is
   * delivered again before anything is sent, so the callback must be idempotent (e.g. set
   * `synced_at` and the CRM id by key). When the callback throws, no further batch is sent, the
   * run fails with kind `callback` and stays open, and the next run of the job delivers those
   * outcomes again.
   */
  readonly onBatchSettled?: (batch: ExportBatchResult) => void | Promise<void>;
}

/** The outcomes of one settled export batch, as {@link ExportRunOptions.onBatchSettled} receives them. */
export interface ExportBatchResult {
  /** The export journal run. */
  readonly runId: string;
  /** The number of this delivery within the invocation, from 1 (a resumed run starts with the earlier outcomes). */
  readonly batch: number;
  /** Every settled record of the batch, in journal order. */
  readonly outcomes: readonly ExportRecordOutcome[];
}

/** What happened to one exported record. */
export interface ExportRecordOutcome {
  /** The local record key. */
  readonly key: string;
  /** The CRM record id: the created or updated record; for a reject, the id when one is known. */
  readonly crmId?: string;
  /** `created`, `updated` or `unchanged` in the CRM, or `rejected` (see `reject`). */
  readonly outcome: 'created' | 'updated' | 'unchanged' | 'rejected';
  /** Why the record was rejected, as the rejects output receives it. */
  readonly reject?: RejectItem;
}

/** What the orchestrator is built from. */
export interface OrchestratorOptions {
  /** The connector; wrapped in a `RuntimeConnector` unless it already is one. */
  readonly connector: CrmConnector;
  readonly options: OptionStore;
  readonly journal: ExportJournal;
  readonly sink: RecordSink;
  readonly source: RecordSource;
  readonly logger?: Logger;
  /** The client clock, for durations and journal times only (never for windows). */
  readonly clock?: () => Date;
  readonly rejects?: RejectOutput;
  readonly errors?: ErrorOutput;
  /** Options of the `RuntimeConnector` the connector is wrapped in (ignored when it already is one). */
  readonly runtime?: RuntimeOptions;
  /** How the wait-and-retry policy waits. Tests pass a fake. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Run leases: every run (not a dry run) acquires its job's lease (`<instance>/<activity>`)
   * before reading anything, renews it while it runs, and passes its fence to every store write,
   * which the stores check. Pass the leases of the same store as `options`, `journal`, `sink` and
   * `source` (e.g. `openSqliteStore(...).leases`). When omitted, a process-wide in-memory lease
   * store is used: two orchestrators in one process still exclude each other, but there is no
   * protection across processes and no fencing of writes.
   */
  readonly leases?: LeaseStore;
  /** Lease TTL in ms (default 30,000); renewed every third of it. A dead run is taken over after it. */
  readonly leaseTtlMs?: number;
  /**
   * The run history: every run (of all four operations; dry runs are not recorded, they change
   * nothing) is recorded with its counts, API calls by kind, window, variables, error, rejects and
   * a time series of samples (see `historySampleMs`), under the lease owner's run id. Writes carry
   * the run's fence. A failing history write is logged as a warning and never fails the run. Pass
   * the history of the same store as `leases` (e.g. `openSqliteStore(...).history`).
   */
  readonly history?: RunHistoryStore;
  /** The account's name (e.g. from the accounts file), recorded in the run history. Never a credential. */
  readonly account?: string;
  /**
   * Pause between two timed samples of a recorded run, in ms (default 1,000). A sample is also
   * taken at every page or batch boundary, never two within 100 ms.
   */
  readonly historySampleMs?: number;
  /**
   * How long, in ms, a description of a CRM object stays cached in the option store (default
   * 3,600,000: one hour; 0 turns the cache off). While it is fresh, runs send no describe call. A
   * CRM error naming an unknown field, or a job mapping a field the cached description lacks,
   * drops it and describes afresh. See `describeCacheOption` for the reserved option names.
   */
  readonly describeCacheTtlMs?: number;
}
