/**
 * What a worker makes of a run's result: whether BullMQ may retry it, and what `crm-sync enqueue
 * --wait` prints and exits with. The rules follow the SDK's own: a CRM error retries only when the
 * SDK marks it retryable (the runtime has already spent its in-run retries); an invalid job, a
 * refused login, a watermark problem or records in doubt never get better by retrying, so they
 * fail at once with their message (BullMQ's `UnrecoverableError`), and the run history keeps it.
 *
 * @module
 */
import type { RunError, RunSummary } from '@crm-sync/sdk';

/** What a finished delivery returns to BullMQ (its `returnvalue`), read back by `enqueue --wait`. */
export interface RunOutcome {
  /**
   * The run's summary. Absent only when a re-delivery found the job done but the first delivery
   * died before it could store the summary: the run history has it (`historyRunId`).
   */
  readonly summary?: RunSummary;
  /** The run's id in the run history, when known. */
  readonly historyRunId?: string;
  /** The worker that ran it (`host:pid`). */
  readonly worker: string;
}

/** How a failed run is handed to BullMQ. */
export type FailureHandling =
  /** BullMQ retries with backoff (a transient CRM or store failure). */
  | 'retry'
  /** Failed at once, no retry. */
  | 'fail'
  /** Not a failure: the delivery is put back (delayed) and runs later (job running elsewhere, shutdown). */
  | 'requeue';

/** What BullMQ should do with a run that failed with `error`. */
export function failureHandling(error: RunError): FailureHandling {
  switch (error.kind) {
    case 'crm':
      return error.crmError?.retryable === true ? 'retry' : 'fail';
    case 'store':
      // A store error is a connection or a serialization failure more often than not; the run
      // resumes from the journal / watermark, so a retry is safe.
      return 'retry';
    case 'job-running':
    case 'aborted':
      return 'requeue';
    case 'lease-lost':
      // A newer run holds the job; this delivery's BullMQ lock is normally gone too. A retry that
      // does run finds the job done (journal / watermark) and does nothing twice.
      return 'retry';
    case 'callback':
      // The application's export callback threw; the journal stays open and the outcomes are
      // delivered again on resume, so a retry is what finishes the run.
      return 'retry';
    case 'invalid-job':
    case 'watermark':
    case 'in-doubt':
      return 'fail';
  }
}

/** The exit code `crm-sync run` gives for `error` (kept in step with the CLI's `ExitCode`). */
export function exitCodeOf(kind: RunError['kind'] | 'invalid-payload'): number {
  if (kind === 'invalid-job' || kind === 'invalid-payload') return 2;
  if (kind === 'job-running') return 4;
  if (kind === 'aborted') return 130;
  return 1;
}
