/**
 * How the orchestrator records a run in a {@link RunHistoryStore}: the run when it starts, a
 * throttled time series of samples and the rejects while it runs (buffered and written in the
 * background, one store write per flush), and its end.
 *
 * Decisions:
 * - Dry runs are not recorded: they change nothing. A run refused because its job is running
 *   (`job-running`) is not recorded either: it never started; the running one is.
 * - A history write that fails never fails the sync run: it is logged as a warning, and after a
 *   failed `startRun` the run goes on unrecorded.
 * - Samples: one per `sampleMs` (default 1 s) on a timer, so rate-limit pauses show as flat
 *   segments, plus one at each page or batch boundary, never two within 100 ms. They are flushed
 *   with the rejects and the counts every 5 s, or at 500 buffered items, and at the end.
 * - A run that was still `running` in the history when a new run of its job acquired the lease
 *   cannot be alive (the lease excludes it), so the new run records it as `interrupted` (error kind
 *   `process-died`). Only when the orchestrator has the application's leases (fencing): with the
 *   process-wide default, another process may legitimately be running the job.
 *
 * @module
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Result } from 'neverthrow';
import { redact, redactText } from '../errors/redact.js';
import type { RuntimeStats } from '../runtime/runtime-options.js';
import type { RunHistoryCalls, RunHistoryCounts, RunHistoryReject, RunHistoryStore, RunHistoryWindow, RunSample, RunStatus } from '../stores/run-history.js';
import type { RunContext } from './context.js';
import { exportJobId } from './job.js';
import type { RejectItem, RunError, RunProgress, RunSummary } from './types.js';

/** Default pause between two timed samples of a run, in ms. */
export const DEFAULT_HISTORY_SAMPLE_MS = 1_000;
/** Samples closer than this to the previous one are not taken at a page boundary. */
const MIN_SAMPLE_GAP_MS = 100;
/** Buffered samples and rejects are flushed this often... */
const FLUSH_EVERY_MS = 5_000;
/** ...or when this many are buffered. */
const FLUSH_AT_ITEMS = 500;

/** What the recorder needs besides the context. */
export interface RunRecorderOptions {
  readonly store: RunHistoryStore;
  /** The run id (the lease owner's run id). */
  readonly runId: string;
  /** The connector's id, recorded as `connector`. */
  readonly connector: string;
  /** The account's name, when the caller knows it. */
  readonly account?: string;
  /** The runtime's counters (calls by kind, retries, rate-limit waits). */
  readonly stats: () => RuntimeStats | undefined;
  /** Pause between timed samples, in ms. */
  readonly sampleMs: number;
  /** Mark the job's other `running` records interrupted (only when fencing). */
  readonly sweep: boolean;
}

/** Records one run. Every method is safe to call after a failure: it then does nothing. */
export class RunRecorder {
  private enabled = false;
  private readonly startStats: RuntimeStats | undefined;
  private samples: RunSample[] = [];
  private rejects: RunHistoryReject[] = [];
  private phase: RunProgress['phase'] | undefined;
  private lastSampleAt = Number.NEGATIVE_INFINITY;
  private lastFlushAt = performance.now();
  private timer: ReturnType<typeof setInterval> | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private warned = false;
  private readonly startedAt: Date;
  /** How many samples were recorded, for tests and diagnostics. */
  sampleCount = 0;

  constructor(
    private readonly context: RunContext,
    private readonly options: RunRecorderOptions,
  ) {
    this.startStats = options.stats();
    this.startedAt = context.deps.clock();
  }

  /** Records the start (and interrupts the job's stale `running` records). Never throws. */
  async start(): Promise<void> {
    const { context, options } = this;
    const job = context.job;
    const jobId = exportJobId(job);
    if (options.sweep) {
      try {
        await this.interruptStale(jobId);
      } catch (error) {
        this.warn('recording earlier runs of the job that never ended as interrupted', error);
      }
    }
    try {
      await options.store.startRun(
        {
          runId: options.runId,
          jobId,
          activity: job.activity,
          operation: job.kind,
          connector: options.connector,
          ...(options.account === undefined ? {} : { account: options.account }),
          host: hostname(),
          pid: process.pid,
          startedAt: this.startedAt.toISOString(),
        },
        context.fence,
      );
    } catch (error) {
      this.warn('recording the start of the run', error);
      return;
    }
    this.enabled = true;
    this.sample('validate', true);
    this.timer = setInterval(() => this.tick(), Math.max(10, options.sampleMs));
    this.timer.unref?.();
  }

  /** A page or batch boundary (a progress event): a sample unless one was just taken. */
  onProgress(phase: RunProgress['phase']): void {
    if (!this.enabled) return;
    this.phase = phase;
    this.sample(phase, false);
  }

  /** A reject of the run, kept for the history whatever the job's `processRejects`. */
  onReject(item: RejectItem): void {
    if (!this.enabled) return;
    this.rejects.push({
      code: item.code,
      message: item.message,
      fields: [...item.fields],
      ...(item.symbol === undefined ? {} : { symbol: item.symbol }),
      ...(item.localKey === undefined ? {} : { localKey: item.localKey }),
      ...(item.crmId === undefined ? {} : { crmId: item.crmId }),
    });
    this.maybeFlush();
  }

  /** Records the end from the run's result, after a last sample and flush. Never throws. */
  async finish(result: Result<RunSummary, RunError>): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.enabled) return;
    this.sample('done', true);
    this.enabled = false;
    await this.flushing;
    const summary = result.isOk() ? result.value : result.error.summary;
    const status: Exclude<RunStatus, 'running'> = result.isOk() ? 'succeeded' : result.error.kind === 'aborted' || result.error.kind === 'lease-lost' ? 'interrupted' : 'failed';
    const window = historyWindow(summary);
    const variables = summary?.variables ?? {};
    const journalRunId = summary?.runId ?? this.context.journalRunId;
    try {
      await this.options.store.finishRun(
        this.options.runId,
        {
          status,
          endedAt: this.context.deps.clock().toISOString(),
          counts: this.counts(),
          apiCalls: this.calls(),
          samples: this.takeSamples(),
          rejects: this.takeRejects(),
          ...(window === undefined ? {} : { window }),
          variables: { ...variables },
          ...(result.isErr() ? { error: { kind: result.error.kind, message: result.error.message } } : {}),
          ...(journalRunId === undefined ? {} : { journalRunId }),
          notes: [...(summary?.notes ?? [])],
        },
        this.context.fence,
      );
    } catch (error) {
      this.warn('recording the end of the run', error);
    }
  }

  private async interruptStale(jobId: string): Promise<void> {
    const stale = await this.options.store.listRuns({ jobId, status: 'running' });
    for (const run of stale) {
      await this.options.store.finishRun(
        run.runId,
        {
          status: 'interrupted',
          endedAt: this.startedAt.toISOString(),
          error: {
            kind: 'process-died',
            message: `[crm-sync] [orchestrator] the run ended without recording its end (its process was killed or crashed, or it lost the job's lease); found by run ${this.options.runId}`,
          },
        },
        this.context.fence,
      );
      this.context.note(`run ${run.runId} of job "${jobId}" (started ${run.startedAt} on host ${run.host}, pid ${run.pid}) never recorded its end; recorded it as interrupted`);
    }
  }

  private tick(): void {
    if (!this.enabled) return;
    this.sample(this.phase, true);
  }

  private sample(phase: string | undefined, timed: boolean): void {
    const now = performance.now();
    if (!timed && now - this.lastSampleAt < MIN_SAMPLE_GAP_MS) return;
    this.lastSampleAt = now;
    const at = this.context.deps.clock();
    const counts = this.context.counts;
    const calls = this.calls();
    this.samples.push({
      at: at.toISOString(),
      elapsedMs: Math.max(0, at.getTime() - this.startedAt.getTime()),
      ...(phase === undefined ? {} : { phase }),
      read: counts.read,
      written: counts.written + counts.created + counts.updated + counts.unchanged + counts.deleted,
      rejected: counts.rejected,
      apiCalls: calls.total,
      retries: calls.retries,
      rateLimitWaitMs: calls.rateLimitWaitMs,
    });
    this.sampleCount += 1;
    this.maybeFlush();
  }

  private maybeFlush(): void {
    if (!this.enabled) return;
    if (this.samples.length + this.rejects.length < FLUSH_AT_ITEMS && performance.now() - this.lastFlushAt < FLUSH_EVERY_MS) return;
    this.lastFlushAt = performance.now();
    const progress = { counts: this.counts(), apiCalls: this.calls(), samples: this.takeSamples(), rejects: this.takeRejects() };
    // One write at a time, in order; the run never waits for it.
    this.flushing = this.flushing.then(async () => {
      try {
        await this.options.store.recordProgress(this.options.runId, progress, this.context.fence);
      } catch (error) {
        this.warn(`recording ${progress.samples.length} samples and ${progress.rejects.length} rejects`, error);
      }
    });
  }

  private takeSamples(): RunSample[] {
    const taken = this.samples;
    this.samples = [];
    return taken;
  }

  private takeRejects(): RunHistoryReject[] {
    const taken = this.rejects;
    this.rejects = [];
    return taken;
  }

  private counts(): RunHistoryCounts {
    return { ...this.context.counts };
  }

  private calls(): RunHistoryCalls {
    const now = this.options.stats();
    const start = this.startStats;
    if (now === undefined) return { total: this.context.apiCalls(), retries: 0, rateLimitWaitMs: 0, byKind: {} };
    const byKind: Record<string, number> = {};
    for (const [kind, stats] of Object.entries(now.byOperation)) {
      const calls = stats.calls - (start?.byOperation[kind]?.calls ?? 0);
      if (calls > 0) byKind[kind] = calls;
    }
    return {
      total: now.calls - (start?.calls ?? 0),
      retries: now.retries - (start?.retries ?? 0),
      rateLimitWaitMs: Math.max(0, Math.round(now.rateLimitWaitMs - (start?.rateLimitWaitMs ?? 0))),
      byKind,
    };
  }

  private warn(what: string, error: unknown): void {
    // Once per run at warn level: a broken history store must not flood the log of a long run.
    const level = this.warned ? 'debug' : 'warn';
    this.warned = true;
    this.context.deps.logger[level](
      { runId: this.options.runId, error: redact(error) },
      `[crm-sync] [orchestrator] run history: ${what} failed; the sync run goes on (history writes never fail a run): ${redactText(error instanceof Error ? error.message : String(error))}`,
    );
  }
}

function historyWindow(summary: RunSummary | undefined): RunHistoryWindow | undefined {
  if (summary?.window !== undefined) {
    const { startInstant, endInstant } = summary.window;
    return { ...(startInstant === undefined ? {} : { start: startInstant }), end: endInstant };
  }
  if (summary?.deletedWindow !== undefined) return { start: summary.deletedWindow.start, end: summary.deletedWindow.end };
  return undefined;
}
