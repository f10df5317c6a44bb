/**
 * Run history: every run of every operation, as a record a human or a dashboard can query later
 * ("what ran last night, how long, how many records, how many API calls, what was rejected").
 *
 * One {@link RunRecord} per run (not per dry run: a dry run changes nothing and is not recorded),
 * a time series of {@link RunSample}s to plot it, and the rejects of the run
 * ({@link StoredRunReject}), queryable from the store rather than only from the rejects file.
 *
 * Life of a record: {@link RunHistoryStore.startRun} (status `running`), any number of
 * {@link RunHistoryStore.recordProgress} calls (samples and rejects appended and the counts
 * updated, in one transaction per call: writers buffer samples and flush them in batches), then
 * one {@link RunHistoryStore.finishRun} (`succeeded`, `failed` or `interrupted`). Writes carry
 * the run's {@link Fence} like every other store write, so a run that lost its lease cannot
 * rewrite its history either.
 *
 * Secrets never belong in a record: `connector` and `account` are names, messages are redacted
 * by the writer.
 *
 * Implementations: {@link MemoryRunHistory}, the `history` of `@crm-sync/store-sqlite`; every
 * store passes the same checks of `@crm-sync/testkit` (`describeStoreContract`).
 *
 * @module
 */
import type { Reject } from '../contract/requests.js';
import type { Instant } from '../contract/values.js';
import type { SyncOperation } from '../orchestrator/job.js';
import type { Fence } from './lease.js';

/** Where a run is: `running` until it ends; `interrupted` when it was aborted or its process died. */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';

/** Every {@link RunStatus}, in the order of a run's life. */
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'succeeded', 'failed', 'interrupted'];

/** Records counted by a run (the counts of its `RunSummary`). */
export interface RunHistoryCounts {
  /** Records read from the CRM (import) or from the local source (export, delete). */
  readonly read: number;
  /** Records (or deletions) written to the local side. */
  readonly written: number;
  /** Records created in the CRM (export). */
  readonly created: number;
  /** Records updated in the CRM (export). */
  readonly updated: number;
  /** Records deleted in the CRM (delete) or deletions applied locally (import-deleted). */
  readonly deleted: number;
  /** Records the CRM reported unchanged (export). */
  readonly unchanged: number;
  /** Records dropped as duplicates or skipped as already done. */
  readonly skipped: number;
  /** Per-record failures. */
  readonly rejected: number;
  /** Run-level errors that went to the errors output. */
  readonly errors: number;
}

/** Counts that are all zero: what a run starts with. */
export const ZERO_RUN_COUNTS: RunHistoryCounts = { read: 0, written: 0, created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, rejected: 0, errors: 0 };

/** The CRM calls of a run. */
export interface RunHistoryCalls {
  /** Attempts sent to the connector, all kinds. */
  readonly total: number;
  /** Retries the runtime made (429, 5xx, time-outs). */
  readonly retries: number;
  /** Time calls waited because of rate limits, in ms. */
  readonly rateLimitWaitMs: number;
  /** Attempts per kind of call (the connector operation: `describe`, `query`, `upsertBatch`, ...). */
  readonly byKind: Readonly<Record<string, number>>;
}

/** No calls: what a run starts with. */
export const ZERO_RUN_CALLS: RunHistoryCalls = { total: 0, retries: 0, rateLimitWaitMs: 0, byKind: {} };

/** The window a run read, as exact instants. */
export interface RunHistoryWindow {
  /** Inclusive start; absent on a first full read. */
  readonly start?: Instant;
  /** End (exclusive for imports, inclusive for deleted-record imports). */
  readonly end?: Instant;
}

/** The seed's variables of a run (the same names as the orchestrator's `RunVariables`). */
export interface RunHistoryVariables {
  /** The watermark option's name. */
  readonly crmOptionName?: string;
  /** The window start, `yyyy/MM/dd HH:mm:ss` (UTC). */
  readonly crmStartImport?: string;
  /** The window end, `yyyy/MM/dd HH:mm:ss` (UTC). */
  readonly crmEndDate?: string;
}

/** Why a run did not succeed. */
export interface RunHistoryError {
  /** The run error kind (`crm`, `store`, `aborted`, `lease-lost`, ...) or `process-died`. */
  readonly kind: string;
  /** The redacted message. */
  readonly message: string;
}

/** What a run is known to be when it starts. */
export interface NewRunRecord {
  /** Unique across hosts (a UUID); also the run's lease owner id. */
  readonly runId: string;
  /** The job: `<instance>/<activity>` (the lease key and the export journal's job id). */
  readonly jobId: string;
  /** The job's activity name. */
  readonly activity: string;
  /** Which of the four operations. */
  readonly operation: SyncOperation;
  /** The connector's name (`salesforce`, `dynamics`, `mock`, ...), never a credential. */
  readonly connector?: string;
  /** The account's name in the accounts file, never a credential. */
  readonly account?: string;
  /** The host the run ran on. */
  readonly host: string;
  /** The process id on that host. */
  readonly pid: number;
  /** When the run started (the writer's clock). */
  readonly startedAt: Instant;
}

/** Counters and appended rows of one {@link RunHistoryStore.recordProgress} call. */
export interface RunHistoryProgress {
  /** The run's counts so far; replaces the stored ones when given. */
  readonly counts?: RunHistoryCounts;
  /** The run's calls so far; replace the stored ones when given. */
  readonly apiCalls?: RunHistoryCalls;
  /** Samples to append, in time order. */
  readonly samples?: readonly RunSample[];
  /** Rejects to append; the store numbers them from 0 per run, in the order given. */
  readonly rejects?: readonly RunHistoryReject[];
}

/** How a run ended: what {@link RunHistoryStore.finishRun} stores, with a last progress flush. */
export interface RunHistoryEnd extends RunHistoryProgress {
  readonly status: Exclude<RunStatus, 'running'>;
  /** When the run ended (the writer's clock). */
  readonly endedAt: Instant;
  /** The window the run read, when it had one. */
  readonly window?: RunHistoryWindow;
  /** The seed's variables; replace the stored ones when given. */
  readonly variables?: RunHistoryVariables;
  /** Why the run did not succeed; required for `failed` and `interrupted` by convention. */
  readonly error?: RunHistoryError;
  /** The export journal's run id, for exports (the journal link). */
  readonly journalRunId?: string;
  /** Facts worth telling a human (the summary's notes). */
  readonly notes?: readonly string[];
}

/** One run as the store keeps it. */
export interface RunRecord extends NewRunRecord {
  readonly status: RunStatus;
  /** When the run ended; absent while it runs. */
  readonly endedAt?: Instant;
  /** The last counts written. */
  readonly counts: RunHistoryCounts;
  /** The last calls written. */
  readonly apiCalls: RunHistoryCalls;
  /** The window the run read, when it had one. */
  readonly window?: RunHistoryWindow;
  /** The seed's variables (empty until the run ends, or when the operation has none). */
  readonly variables: RunHistoryVariables;
  readonly error?: RunHistoryError;
  /** The export journal's run id, for exports. */
  readonly journalRunId?: string;
  /** The summary's notes (empty while the run runs). */
  readonly notes: readonly string[];
}

/**
 * One point of a run's time series, to plot it later: taken about once a second and at page or
 * batch boundaries. Counts are cumulative since the run started.
 */
export interface RunSample {
  /** When the sample was taken (the writer's clock). */
  readonly at: Instant;
  /** Milliseconds since the run started. */
  readonly elapsedMs: number;
  /** The run's phase (`read`, `write`, `settle`, `done`, ...), when known. */
  readonly phase?: string;
  /** Records read so far. */
  readonly read: number;
  /** Records done so far on the target side: written locally, created, updated, unchanged or deleted. */
  readonly written: number;
  /** Records rejected so far. */
  readonly rejected: number;
  /** API calls so far. */
  readonly apiCalls: number;
  /** Retries so far. */
  readonly retries: number;
  /** Time spent waiting on rate limits so far, in ms. */
  readonly rateLimitWaitMs: number;
}

/** A per-record failure of a run, as the history keeps it. */
export interface RunHistoryReject {
  readonly code: Reject['code'];
  /** The vendor's symbol (the seed's `errorSymbol`). */
  readonly symbol?: string;
  /** The redacted message. */
  readonly message: string;
  readonly fields: readonly string[];
  /** The local record key, when there is one. */
  readonly localKey?: string;
  /** The CRM id, when there is one. */
  readonly crmId?: string;
}

/** A reject as the store returns it. */
export interface StoredRunReject extends RunHistoryReject {
  /** Position in the run, from 0, in the order the rejects were appended. */
  readonly seq: number;
}

/** What {@link RunHistoryStore.listRuns} returns. All filters combine (and). */
export interface RunHistoryFilter {
  /** Only this job (`<instance>/<activity>`). */
  readonly jobId?: string;
  /** Only this activity (any instance). */
  readonly activity?: string;
  /** Only runs in one of these statuses. */
  readonly status?: RunStatus | readonly RunStatus[];
  /** Only this operation. */
  readonly operation?: SyncOperation;
  /** Only runs that started at or after this instant. */
  readonly since?: Instant;
  /** Only runs that started before this instant (exclusive): with `since`, a date range. */
  readonly until?: Instant;
  /** At most this many runs (the newest). */
  readonly limit?: number;
  /** Skips this many matching runs, newest first, before `limit` applies: a page of the list. */
  readonly offset?: number;
}

/** One job of the run history, as {@link RunHistoryStore.listRunJobs} returns it. */
export interface RunJobSummary {
  /** The job: `<instance>/<activity>`. */
  readonly jobId: string;
  /** The job's activity name (of its newest run). */
  readonly activity: string;
  /** How many runs of the job the history holds. */
  readonly runs: number;
  /** When the job's newest run started. */
  readonly lastStartedAt: Instant;
}

/** Paging and search of {@link RunHistoryStore.listRejects}. */
export interface RunRejectQuery {
  /** Only rejects after this `seq`. */
  readonly afterSeq?: number;
  /** At most this many. */
  readonly limit?: number;
  /**
   * Only rejects whose code, symbol, message, local key, CRM id or a field name contains this
   * text, ignoring case (ASCII letters at least).
   */
  readonly search?: string;
}

/**
 * Where runs are recorded. Each write resolves once it is durable. When a write carries a fence,
 * the store checks it in the same transaction (see `LeaseStore`) and otherwise rejects with
 * `StaleFenceError`, writing nothing.
 */
export interface RunHistoryStore {
  /** Records a new run as `running`, with zero counts. Throws when `run.runId` is already recorded. */
  startRun(run: NewRunRecord, fence?: Fence): Promise<void>;
  /**
   * Appends samples and rejects and replaces the counts and calls given, in one transaction.
   * Throws when the run is unknown.
   */
  recordProgress(runId: string, progress: RunHistoryProgress, fence?: Fence): Promise<void>;
  /**
   * Ends a run: status, end, window, variables, error, journal link, notes, and a last progress
   * flush, in one transaction. Throws when the run is unknown or no longer `running`.
   */
  finishRun(runId: string, end: RunHistoryEnd, fence?: Fence): Promise<void>;
  /** One run; `undefined` when unknown (or pruned). */
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Runs, newest first (by start, then by the order they were recorded). */
  listRuns(filter?: RunHistoryFilter): Promise<readonly RunRecord[]>;
  /**
   * How many runs match `filter` (its `limit` and `offset` ignored): the total of a paged list.
   */
  countRuns(filter?: RunHistoryFilter): Promise<number>;
  /** Every job with at least one run, ordered by job id. */
  listRunJobs(): Promise<readonly RunJobSummary[]>;
  /** The run's samples in the order they were appended; empty when the run is unknown. */
  listSamples(runId: string): Promise<readonly RunSample[]>;
  /** The run's rejects in `seq` order, paged by `afterSeq` + `limit`, filtered by `search`. */
  listRejects(runId: string, query?: RunRejectQuery): Promise<readonly StoredRunReject[]>;
  /** How many rejects of the run match `query.search` (all of them without it; paging ignored). */
  countRejects(runId: string, query?: Pick<RunRejectQuery, 'search'>): Promise<number>;
  /**
   * Deletes the runs that started before `olderThan` (whatever their status), with their samples
   * and rejects. Returns how many runs were deleted.
   */
  pruneRuns(olderThan: Instant): Promise<number>;
}

/**
 * Parses an instant of the history API to epoch ms, or throws a `RangeError` naming `what` and
 * the expected form. Stores use it so that every store refuses bad input alike.
 */
export function checkHistoryInstant(value: string, what: string): number {
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new RangeError(`[crm-sync] [history] ${what} must be an ISO instant such as 2024-01-31T00:00:00.000Z, got ${JSON.stringify(value)}`);
  }
  return time;
}

/** Throws a `TypeError` or `RangeError` naming the field when `run` is not a valid {@link NewRunRecord}. */
export function checkNewRunRecord(run: NewRunRecord): void {
  for (const key of ['runId', 'jobId', 'activity', 'operation', 'host'] as const) {
    if (typeof run[key] !== 'string' || run[key] === '') throw new TypeError(`[crm-sync] [history] startRun: ${key} must be a non-empty string, got ${JSON.stringify(run[key])}`);
  }
  if (!Number.isInteger(run.pid)) throw new TypeError(`[crm-sync] [history] startRun: pid must be an integer, got ${JSON.stringify(run.pid)}`);
  checkHistoryInstant(run.startedAt, 'startRun startedAt');
}

/** Throws a `RangeError` naming the field when `end` is not a valid {@link RunHistoryEnd}. */
export function checkRunHistoryEnd(end: RunHistoryEnd): void {
  if (!['succeeded', 'failed', 'interrupted'].includes(end.status)) {
    throw new RangeError(`[crm-sync] [history] finishRun: status must be succeeded, failed or interrupted, got ${JSON.stringify(end.status)}`);
  }
  checkHistoryInstant(end.endedAt, 'finishRun endedAt');
}

/** Throws a `RangeError` naming the field when `filter` is not a valid {@link RunHistoryFilter}. */
export function checkRunHistoryFilter(filter: RunHistoryFilter): void {
  if (filter.since !== undefined) checkHistoryInstant(filter.since, 'listRuns since');
  if (filter.until !== undefined) checkHistoryInstant(filter.until, 'listRuns until');
  if (filter.offset !== undefined && (!Number.isInteger(filter.offset) || filter.offset < 0)) {
    throw new RangeError(`[crm-sync] [history] listRuns offset must be an integer >= 0, got ${filter.offset}`);
  }
  if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit < 0)) {
    throw new RangeError(`[crm-sync] [history] listRuns limit must be an integer >= 0, got ${filter.limit}`);
  }
}

/** Throws a `RangeError` naming the field when `query` is not a valid {@link RunRejectQuery}. */
export function checkRunRejectQuery(query: RunRejectQuery): void {
  if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 0)) {
    throw new RangeError(`[crm-sync] [history] listRejects limit must be an integer >= 0, got ${query.limit}`);
  }
}
