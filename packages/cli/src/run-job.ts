/**
 * Runs one SDK job through the orchestrator with the CLI's stores, outputs, logger and progress.
 * The only file that knows the orchestrator's entry points; commands and the demo go through it.
 *
 * @module
 */
import {
  Orchestrator,
  type CrmConnector,
  type ErrorOutput,
  type ExportJournal,
  type LeaseStore,
  type Logger,
  type OptionStore,
  type RecordSink,
  type RecordSource,
  type RejectOutput,
  type RunError,
  type RunHistoryStore,
  type RunProgress,
  type RunSummary,
  type SyncJob,
} from '@crm-sync/sdk';
import type { Result } from 'neverthrow';

/** Everything a run needs besides the job. */
interface RunJobContext {
  readonly connector: CrmConnector;
  readonly stores: {
    readonly options: OptionStore;
    readonly journal: ExportJournal;
    readonly sink: RecordSink;
    readonly source: RecordSource;
    /** The leases of the same store: one run per job at a time, and fenced writes. */
    readonly leases?: LeaseStore;
    /** The run history of the same store: every run is recorded there. */
    readonly history?: RunHistoryStore;
  };
  /** The account's name, recorded in the run history (never a credential). */
  readonly account?: string;
  readonly logger: Logger;
  readonly rejects?: RejectOutput;
  readonly errors?: ErrorOutput;
  readonly onProgress?: (progress: RunProgress) => void;
  readonly dryRun?: boolean;
  /** Exports: resume the job's interrupted run (default true). */
  readonly resume?: boolean;
  readonly signal?: AbortSignal;
  /** How long to wait, in ms, when the job is already running (default 0: fail at once). */
  readonly leaseWaitMs?: number;
}

/** Runs `job` and resolves with its summary or why it failed. Never throws. */
export async function runJob(job: SyncJob, context: RunJobContext): Promise<Result<RunSummary, RunError>> {
  const orchestrator = new Orchestrator({
    connector: context.connector,
    options: context.stores.options,
    journal: context.stores.journal,
    sink: context.stores.sink,
    source: context.stores.source,
    logger: context.logger,
    ...(context.stores.leases !== undefined ? { leases: context.stores.leases } : {}),
    ...(context.stores.history !== undefined ? { history: context.stores.history } : {}),
    ...(context.account !== undefined ? { account: context.account } : {}),
    ...(context.rejects !== undefined ? { rejects: context.rejects } : {}),
    ...(context.errors !== undefined ? { errors: context.errors } : {}),
  });
  const options = {
    ...(context.dryRun === true ? { dryRun: true } : {}),
    ...(context.onProgress !== undefined ? { onProgress: context.onProgress } : {}),
    ...(context.signal !== undefined ? { signal: context.signal } : {}),
    ...(context.leaseWaitMs !== undefined ? { leaseWaitMs: context.leaseWaitMs } : {}),
  };
  switch (job.kind) {
    case 'import':
      return orchestrator.runImport(job, options);
    case 'export':
      return orchestrator.runExport(job, { ...options, resume: context.resume ?? true });
    case 'import-deleted':
      return orchestrator.runImportDeleted(job, options);
    case 'delete':
      return orchestrator.runDelete(job, options);
  }
}
