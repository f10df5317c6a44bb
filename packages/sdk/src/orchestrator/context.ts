/**
 * What one run carries around: counters for the summary, progress events, the rejects and errors
 * outputs, the wait-and-retry policy for run-level errors, and how a run fails.
 *
 * @module
 */
import { err, ok, type Result, type ResultAsync } from 'neverthrow';
import type { CrmConnector } from '../contract/connector.js';
import type { Reject } from '../contract/requests.js';
import type { CrmError, CrmErrorKind } from '../errors/crm-error.js';
import { redact, redactText } from '../errors/redact.js';
import type { Logger } from '../runtime/logger.js';
import { isStaleFenceError, type Fence } from '../stores/lease.js';
import { errorPolicy, type SyncJob } from './job.js';
import type {
  ErrorOutput,
  RejectItem,
  RejectOutput,
  RunError,
  RunErrorKind,
  RunOptions,
  RunProgress,
  RunSummary,
} from './types.js';

/** The counters a summary reports. */
interface RunCounts {
  read: number;
  written: number;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  skipped: number;
  rejected: number;
  errors: number;
}

/** What every run needs from the orchestrator. */
export interface RunDependencies {
  readonly connector: CrmConnector;
  readonly logger: Logger;
  readonly clock: () => Date;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly rejects?: RejectOutput;
  readonly errors?: ErrorOutput;
  /** How long a description stays cached in the option store, in ms (0: no cache). */
  readonly describeCacheTtlMs?: number;
}

/** Counts of calls and retries, read from a `RuntimeConnector`'s stats when the connector has them. */
function callStats(connector: CrmConnector): { calls: number; retries: number } {
  const stats = (connector as { stats?: { calls?: number; retries?: number } }).stats;
  return { calls: stats?.calls ?? 0, retries: stats?.retries ?? 0 };
}

/**
 * Error kinds the wait-and-retry policy does not retry: the same request gets the same answer
 * however long the run waits (a wrong field, an unknown object, a missing permission, a window
 * beyond retention, an operation the connector lacks). Retrying them would only delay the
 * failure by `retries * waitMs`. Expired credentials, rate limits, conflicts and transient or
 * unknown failures may clear while waiting, so those are retried.
 */
const KINDS_NO_WAIT_CAN_FIX: ReadonlySet<CrmErrorKind> = new Set(['invalid-request', 'not-found', 'permission', 'retention-exceeded', 'unsupported']);

/** Prefixes orchestrator messages. */
function orchestratorMessage(text: string): string {
  return redactText(text.startsWith('[crm-sync]') ? text : `[crm-sync] [orchestrator] ${text}`);
}

/** State and helpers of one run. */
export class RunContext {
  readonly counts: RunCounts = { read: 0, written: 0, created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, rejected: 0, errors: 0 };
  readonly notes: string[] = [];
  private readonly startedAt: number;
  private readonly startStats: { calls: number; retries: number };
  private pendingRejects: RejectItem[] = [];
  /**
   * The run's fence, once it holds its job's lease: every store write passes it. `undefined` on a
   * dry run, and when the orchestrator has no lease store of the application's (no fencing then).
   */
  fence: Fence | undefined;
  /** The export journal's run, once an export has started or resumed it (the history's journal link). */
  journalRunId: string | undefined;
  /** The run history's hooks, when the run is recorded: every progress event and reject. */
  recorder: { onProgress(phase: RunProgress['phase']): void; onReject(item: RejectItem): void } | undefined;
  /** Says why the run lost its lease, once it has; the run's signal fires at the same moment. */
  leaseLost: () => RunError | undefined = () => undefined;

  constructor(
    readonly deps: RunDependencies,
    readonly job: SyncJob,
    readonly options: RunOptions,
  ) {
    this.startedAt = deps.clock().getTime();
    this.startStats = callStats(deps.connector);
  }

  /** API calls made by this run so far. */
  apiCalls(): number {
    return callStats(this.deps.connector).calls - this.startStats.calls;
  }

  /** Adds a note for the summary and logs it. */
  note(text: string): void {
    this.notes.push(text);
    this.deps.logger.info({ activity: this.job.activity, operation: this.job.kind }, orchestratorMessage(text));
  }

  /** Adds a note for the summary and logs it as a warning (something the operator should look at). */
  warnNote(text: string, fields: Record<string, unknown> = {}): void {
    this.notes.push(text);
    this.deps.logger.warn({ activity: this.job.activity, operation: this.job.kind, ...fields }, orchestratorMessage(text));
  }

  /** Emits a progress event. A throwing listener never breaks the run. */
  progress(phase: RunProgress['phase'], total?: number): void {
    this.recorder?.onProgress(phase);
    const listener = this.options.onProgress;
    if (!listener) return;
    try {
      listener({
        operation: this.job.kind,
        activity: this.job.activity,
        phase,
        records: this.counts.read,
        rejects: this.counts.rejected,
        apiCalls: this.apiCalls(),
        ...(total === undefined ? {} : { total }),
      });
    } catch (error) {
      this.deps.logger.warn({ error: redact(error) }, orchestratorMessage('a progress listener threw; ignored'));
    }
  }

  /**
   * Records a per-record failure: counted, logged as a warning always, and queued for the rejects
   * output when the job processes rejects (written by {@link RunContext.flushRejects}).
   */
  reject(reject: Pick<Reject, 'code' | 'message'> & Partial<Pick<Reject, 'symbol' | 'fields'>>, where: { localKey?: string; crmId?: string }): RejectItem {
    this.counts.rejected += 1;
    const item = this.rejectItem(reject, where);
    // The message names the record (local key, CRM id), so a readable log line alone says which one.
    const record = [
      ...(item.localKey === undefined ? [] : [`local key ${JSON.stringify(item.localKey)}`]),
      ...(item.crmId === undefined ? [] : [`CRM id ${JSON.stringify(item.crmId)}`]),
    ];
    this.deps.logger.warn(
      { reject: item },
      orchestratorMessage(`record ${record.length === 0 ? '' : `${record.join(', ')} `}rejected (${item.code}${item.symbol ? ` ${item.symbol}` : ''}): ${item.message}`),
    );
    this.recorder?.onReject(item);
    if (this.job.processRejects && this.deps.rejects) this.pendingRejects.push(item);
    return item;
  }

  /** The rejects output's item for a reject, without counting or logging it (a reject an earlier invocation already reported). */
  rejectItem(reject: Pick<Reject, 'code' | 'message'> & Partial<Pick<Reject, 'symbol' | 'fields'>>, where: { localKey?: string; crmId?: string }): RejectItem {
    return {
      operation: this.job.kind,
      activity: this.job.activity,
      code: reject.code,
      message: redactText(reject.message),
      fields: reject.fields ?? [],
      ...(reject.symbol === undefined ? {} : { symbol: reject.symbol }),
      ...(where.localKey === undefined ? {} : { localKey: where.localKey }),
      ...(where.crmId === undefined ? {} : { crmId: where.crmId }),
    };
  }

  /** Writes queued rejects to the rejects output. */
  async flushRejects(): Promise<void> {
    if (this.pendingRejects.length === 0 || !this.deps.rejects) return;
    const items = this.pendingRejects;
    this.pendingRejects = [];
    await this.deps.rejects.write(items);
  }

  /** The abort error when the run's signal fired. */
  aborted(): RunError | undefined {
    if (!this.options.signal?.aborted) return undefined;
    const lost = this.leaseLost();
    if (lost !== undefined) return lost;
    return this.fail('aborted', 'the run was aborted; what was committed stays committed, run it again to continue');
  }

  /**
   * Calls the CRM for one part of the run (a page, a batch). When the runtime's retries are spent
   * and the job processes errors, the error goes to the errors output, the run waits, and the part
   * is retried, up to the policy's count; otherwise the run fails with the error. Errors no wait
   * can fix (see `KINDS_NO_WAIT_CAN_FIX`) go to the errors output once and fail the run at once.
   */
  async call<T>(part: string, attempt: () => ResultAsync<T, CrmError>, retryable: (error: CrmError) => boolean = () => true): Promise<Result<T, RunError>> {
    const policy = errorPolicy(this.job);
    for (let tries = 1; ; tries += 1) {
      const stopped = this.aborted();
      if (stopped) return err(stopped);
      // A run that may have lost its lease (paused past its TTL) never calls the CRM again.
      const lost = this.leaseLost();
      if (lost) return err(lost);
      const result = await attempt();
      if (result.isOk()) return ok(result.value);
      // A call cut short by the run's own signal is an abort, not a CRM failure.
      const abortedNow = this.aborted();
      if (abortedNow) return err(abortedNow);
      const error = result.error;
      const willRetry = policy !== undefined && tries <= policy.retries && !KINDS_NO_WAIT_CAN_FIX.has(error.kind) && retryable(error);
      if (policy !== undefined && this.deps.errors) {
        this.counts.errors += 1;
        await this.deps.errors.write([{ operation: this.job.kind, activity: this.job.activity, part, attempt: tries, willRetry, error: redact(error) }]);
      }
      this.deps.logger.error({ part, attempt: tries, willRetry, error: redact(error) }, orchestratorMessage(`${part} failed: ${error.message}`));
      if (!willRetry) {
        return err(this.fail('crm', `${part} failed${tries > 1 ? ` after ${tries} attempts` : ''}: ${error.message}`, { crmError: error }));
      }
      await this.deps.sleep(policy.waitMs, this.options.signal);
    }
  }

  /**
   * Builds a run error with the summary so far. The CRM error is redacted as a whole: its message
   * already is, but its `cause` (what a connector threw) may carry a credential.
   */
  fail(kind: RunErrorKind, message: string, extra: Partial<Omit<RunError, 'kind' | 'message'>> = {}): RunError {
    const { crmError, ...rest } = extra;
    return { kind, message: orchestratorMessage(message), summary: this.summary(), ...rest, ...(crmError === undefined ? {} : { crmError: redact(crmError) }) };
  }

  /** The summary of the run so far. */
  summary(extra: Partial<RunSummary> = {}): RunSummary {
    const stats = callStats(this.deps.connector);
    return {
      operation: this.job.kind,
      activity: this.job.activity,
      dryRun: this.options.dryRun === true,
      ...this.counts,
      apiCalls: stats.calls - this.startStats.calls,
      retries: stats.retries - this.startStats.retries,
      durationMs: Math.max(0, this.deps.clock().getTime() - this.startedAt),
      variables: {},
      notes: [...this.notes],
      ...extra,
    };
  }
}

/** Writes the queued rejects; a throw from the rejects output fails the run as a store error. */
export async function flushRejectsOrFail(context: RunContext): Promise<Result<void, RunError>> {
  try {
    await context.flushRejects();
  } catch (error) {
    return err(storeFailure(context, error, 'writing rejects'));
  }
  return ok(undefined);
}

/** Turns a throw from a store or output into a run error. */
export function storeFailure(context: RunContext, error: unknown, what: string): RunError {
  if (isStaleFenceError(error)) {
    return context.leaseLost() ?? context.fail('lease-lost', `${what} was refused: ${error.message.replace(/^\[crm-sync\] \[lease\] /, '')}`, { cause: redact(error) });
  }
  const text = error instanceof Error ? error.message : String(error);
  return context.fail('store', `${what} failed: ${text}`, { cause: redact(error) });
}
