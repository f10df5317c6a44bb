/**
 * The sync orchestrator: what an application imports to run the four operations of the seed's
 * "CRM Connector" activity against any connector.
 *
 * @module
 */
import { err, ResultAsync, type Result } from 'neverthrow';
import type { CrmConnector } from '../contract/connector.js';
import { noopLogger } from '../runtime/logger.js';
import { defaultSleep } from '../runtime/runtime-options.js';
import { RuntimeConnector } from '../runtime/runtime-connector.js';
import type { LeaseStore } from '../stores/lease.js';
import type { RunHistoryStore } from '../stores/run-history.js';
import type { ExportJournal, OptionStore, RecordSink, RecordSource } from '../stores/types.js';
import { RunContext, storeFailure, type RunDependencies } from './context.js';
import { runDelete, runImportDeleted } from './deletions.js';
import { DEFAULT_DESCRIBE_CACHE_TTL_MS } from './describe-cache.js';
import { runExport } from './export.js';
import { runImport } from './import.js';
import type { DeleteJob, ExportJob, ImportDeletedJob, ImportJob, SyncJob } from './job.js';
import { acquireRunLease, DEFAULT_LEASE_TTL_MS, processLeaseStore } from './run-lease.js';
import { DEFAULT_HISTORY_SAMPLE_MS, RunRecorder } from './run-recorder.js';
import type { ExportRunOptions, OrchestratorOptions, RunError, RunOptions, RunPlan, RunSummary } from './types.js';

/**
 * Runs sync jobs. Every entry point returns a `ResultAsync`: a {@link RunSummary} on success, a
 * {@link RunError} otherwise (never a throw). The connector is wrapped in a `RuntimeConnector`
 * (concurrency, retries honouring Retry-After, deadlines, counters) unless it already is one.
 *
 * ```ts
 * const orchestrator = new Orchestrator({ connector, options, journal, sink: records, source: records });
 * const summary = await orchestrator.runImport(job);
 * ```
 */
export class Orchestrator {
  /** The connector every call goes through. */
  readonly connector: RuntimeConnector;
  private readonly deps: RunDependencies;
  private readonly options: OptionStore;
  private readonly journal: ExportJournal;
  private readonly sink: RecordSink;
  private readonly source: RecordSource;
  private readonly leases: LeaseStore;
  /** True when the leases are the application's (its stores check the fences). */
  private readonly fencing: boolean;
  private readonly leaseTtlMs: number;
  private readonly history: RunHistoryStore | undefined;
  private readonly account: string | undefined;
  private readonly historySampleMs: number;

  constructor(options: OrchestratorOptions) {
    const logger = options.logger ?? noopLogger;
    this.connector =
      options.connector instanceof RuntimeConnector
        ? options.connector
        : new RuntimeConnector(options.connector, { logger, ...options.runtime });
    this.deps = {
      connector: this.connector as CrmConnector,
      logger,
      clock: options.clock ?? (() => new Date()),
      sleep: options.sleep ?? defaultSleep,
      ...(options.rejects === undefined ? {} : { rejects: options.rejects }),
      ...(options.errors === undefined ? {} : { errors: options.errors }),
      describeCacheTtlMs: options.describeCacheTtlMs ?? DEFAULT_DESCRIBE_CACHE_TTL_MS,
    };
    const describeTtl = this.deps.describeCacheTtlMs!;
    if (!Number.isFinite(describeTtl) || describeTtl < 0) {
      throw new RangeError(`[crm-sync] [orchestrator] describeCacheTtlMs must be a number of milliseconds >= 0 (0 turns the cache off), got ${describeTtl}; e.g. 3600000`);
    }
    this.options = options.options;
    this.journal = options.journal;
    this.sink = options.sink;
    this.source = options.source;
    this.leases = options.leases ?? processLeaseStore();
    this.fencing = options.leases !== undefined;
    const ttl = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    if (!Number.isFinite(ttl) || ttl <= 0) {
      throw new RangeError(`[crm-sync] [orchestrator] leaseTtlMs must be a number of milliseconds > 0, got ${ttl}; e.g. 30000`);
    }
    this.leaseTtlMs = ttl;
    this.history = options.history;
    this.account = options.account;
    const sampleMs = options.historySampleMs ?? DEFAULT_HISTORY_SAMPLE_MS;
    if (!Number.isFinite(sampleMs) || sampleMs < 10) {
      throw new RangeError(`[crm-sync] [orchestrator] historySampleMs must be a number of milliseconds >= 10, got ${sampleMs}; e.g. 1000`);
    }
    this.historySampleMs = sampleMs;
  }

  /** O1: imports records from the CRM into `job.table`; incremental when `automaticIndex` is on. */
  runImport(job: ImportJob, options: RunOptions = {}): ResultAsync<RunSummary, RunError> {
    return this.run(job, options, (context) => runImport(context, { options: this.options, sink: this.sink }, job));
  }

  /** O2: exports rows of `job.table` to the CRM through the journal; resumes an interrupted run. */
  runExport(job: ExportJob, options: ExportRunOptions = {}): ResultAsync<RunSummary, RunError> {
    return this.run(job, options, (context) => runExport(context, { journal: this.journal, source: this.source }, job, options));
  }

  /** O3: applies the records deleted in the CRM between `job.start` and `job.end` (inclusive) to `job.table`. */
  runImportDeleted(job: ImportDeletedJob, options: RunOptions = {}): ResultAsync<RunSummary, RunError> {
    return this.run(job, options, (context) => runImportDeleted(context, { options: this.options, sink: this.sink }, job));
  }

  /** O4: deletes records in the CRM by id, in batches; already-deleted counts as deleted. */
  runDelete(job: DeleteJob, options: RunOptions = {}): ResultAsync<RunSummary, RunError> {
    return this.run(job, options, (context) => runDelete(context, this.source, job));
  }

  /** Runs any job by its `kind`. */
  runJob(job: SyncJob, options: ExportRunOptions = {}): ResultAsync<RunSummary, RunError> {
    switch (job.kind) {
      case 'import':
        return this.runImport(job, options);
      case 'export':
        return this.runExport(job, options);
      case 'import-deleted':
        return this.runImportDeleted(job, options);
      case 'delete':
        return this.runDelete(job, options);
    }
  }

  /**
   * Dry run: validates the job against `describe` and returns the plan (queries, batches,
   * estimated API calls). Reads only (describe, server time, the watermark, the local source);
   * changes nothing.
   */
  plan(job: SyncJob): ResultAsync<RunPlan, RunError> {
    return this.runJob(job, { dryRun: true }).map((summary) => summary.plan!);
  }

  private run(job: SyncJob, options: RunOptions, body: (context: RunContext) => Promise<Result<RunSummary, RunError>>): ResultAsync<RunSummary, RunError> {
    // A dry run writes nothing, so it takes no lease and never waits for one.
    if (options.dryRun === true) return this.guarded(new RunContext(this.deps, job, options), body);
    // The run's signal also fires when the lease is lost, so every wait and call stops at once.
    const controller = new AbortController();
    const signal = options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal]);
    const context = new RunContext(this.deps, job, { ...options, signal });
    const promise = (async (): Promise<Result<RunSummary, RunError>> => {
      const waitMs = options.leaseWaitMs ?? 0;
      if (!Number.isFinite(waitMs) || waitMs < 0) {
        return err(context.fail('invalid-job', `leaseWaitMs must be a number of milliseconds >= 0, got ${waitMs}`, { issues: [{ path: 'leaseWaitMs', message: 'must be >= 0' }] }));
      }
      const acquired = await acquireRunLease(context, { store: this.leases, ttlMs: this.leaseTtlMs, waitMs, abort: (reason) => controller.abort(reason) });
      if (acquired.isErr()) return err(acquired.error);
      const held = acquired.value;
      context.leaseLost = () => held.lost;
      if (this.fencing) context.fence = held.fence;
      held.startRenewing();
      try {
        const recorder = this.history === undefined ? undefined : this.recorder(context, this.history, held.lease.owner.runId);
        await recorder?.start();
        let result = await this.guarded(context, body);
        // A run that lost its lease reports that, whatever its body made of the refused writes.
        if (held.lost !== undefined && result.isErr()) result = err(held.lost);
        // Before the release: the end is written with the run's fence.
        await recorder?.finish(result);
        return result;
      } finally {
        await held.release();
      }
    })().catch((error: unknown): Result<RunSummary, RunError> => err(storeFailure(context, error, `acquiring the lease of ${job.kind} run "${job.activity}"`)));
    return new ResultAsync(promise);
  }

  private recorder(context: RunContext, store: RunHistoryStore, runId: string): RunRecorder {
    const recorder = new RunRecorder(context, {
      store,
      runId,
      connector: this.connector.id,
      ...(this.account === undefined ? {} : { account: this.account }),
      stats: () => this.connector.stats,
      sampleMs: this.historySampleMs,
      sweep: this.fencing,
    });
    context.recorder = recorder;
    return recorder;
  }

  private guarded(context: RunContext, body: (context: RunContext) => Promise<Result<RunSummary, RunError>>): ResultAsync<RunSummary, RunError> {
    // Stores are application code and may throw anywhere; a throw becomes a run error, never a rejection.
    const promise = body(context).catch((error: unknown): Result<RunSummary, RunError> =>
      err(storeFailure(context, error, `${context.job.kind} run "${context.job.activity}"`)),
    );
    return new ResultAsync(promise);
  }
}
