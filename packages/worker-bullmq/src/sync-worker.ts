/**
 * A worker process's part of distributed runs: one BullMQ `Worker` per CRM account queue, each
 * delivery run through the SDK's orchestrator with the application's store (PostgreSQL), so that:
 * - a delivery never trusts the queue alone: the run takes the job's lease (fencing token) first,
 *   and every journal, watermark, local-table and history write carries it;
 * - a second delivery of a job that is already running (enqueued twice, or a stalled job handed
 *   to a new worker while the old one still lives) **waits**: it is put back as a delayed job and
 *   tried again, without using an attempt, until the lease is free (then it finds the work done,
 *   or resumes it from the journal / watermark). It is never dropped;
 * - a delivery of a job whose run already succeeded (BullMQ hands a job out again when a worker's
 *   lock lapsed on a busy machine, or it died between the run's end and the acknowledgement)
 *   returns the first outcome, kept in Redis for a day, without running again;
 * - a worker killed with SIGKILL loses its BullMQ lock; another worker's stalled-job check
 *   re-delivers the job, and the run takes the lease over (at once on the same host when the pid is
 *   gone, else after the lease TTL) and resumes from the journal;
 * - a run that fails is retried by BullMQ with backoff only when the SDK marks the failure
 *   retryable; otherwise it fails at once (`UnrecoverableError`), its message in the run history;
 * - a 429 / service-protection answer pauses the account on every worker ({@link AccountPause});
 *   at most `concurrencyCap` jobs of one account run at once across all workers (BullMQ global
 *   concurrency per queue); with a `capacity`, at most that many jobs run in the process over all
 *   its accounts, and a process at capacity leaves jobs to the others ({@link CappedWorker});
 * - {@link SyncWorker.close} stops taking jobs, lets running ones finish within a grace period,
 *   then aborts them (they stop at their next safe point: a committed page or a settled batch) and
 *   puts them back for another worker; the journal keeps what they did.
 *
 * @module
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_LEASE_TTL_MS,
  noopLogger,
  Orchestrator,
  redactText,
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
  type RunSummary,
  type SyncJob,
} from '@crm-sync/sdk';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Result } from 'neverthrow';
import { AccountPause, pausedConnector } from './account-pause.js';
import { payloadProblem, type SyncJobPayload } from './payload.js';
import { CappedWorker, ProcessSlots } from './process-capacity.js';
import { accountQueueName, accountsKey, checkPrefix, DEFAULT_PREFIX, doneKey, heartbeatKey } from './queue-names.js';
import { openRedis, redisOptions } from './redis-connection.js';
import { exitCodeOf, failureHandling, type RunOutcome } from './run-outcome.js';

/** Jobs of one account running at once on one worker process, when not configured. */
export const DEFAULT_WORKER_CONCURRENCY = 4;
/** How long {@link SyncWorker.close} lets running jobs finish before aborting them. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
/** How long a finished delivery's outcome is kept against re-deliveries. */
const DONE_KEPT_MS = 24 * 60 * 60 * 1_000;
/** A heartbeat is written this often, and lives three times as long. */
const HEARTBEAT_MS = 5_000;

/**
 * The per-account cap on jobs running at once across all workers, by connector: Salesforce allows
 * 25 long-running requests per org, Dataverse 52 concurrent requests per user. A run sends one
 * request at a time per batch in flight, so capping runs keeps the account under its vendor limit
 * when each run's own concurrency is 1 (raise the cap only with that in mind).
 */
export const DEFAULT_ACCOUNT_CONCURRENCY: Readonly<Record<string, number>> = { salesforce: 25, dynamics: 52 };
/** The cap for a connector not in {@link DEFAULT_ACCOUNT_CONCURRENCY}. */
export const FALLBACK_ACCOUNT_CONCURRENCY = 10;

/** The default per-account cap across all workers for `connectorId`. */
export function defaultAccountConcurrency(connectorId: string): number {
  return DEFAULT_ACCOUNT_CONCURRENCY[connectorId] ?? FALLBACK_ACCOUNT_CONCURRENCY;
}

/** The stores a worker runs jobs with: one database shared by every worker (PostgreSQL). */
export interface WorkerStore {
  readonly options: OptionStore;
  readonly journal: ExportJournal;
  readonly records: RecordSink & RecordSource;
  /** Must be the same database as the other stores: they check its fences. */
  readonly leases: LeaseStore;
  readonly history: RunHistoryStore;
}

/** A delivery made ready to run by the host's {@link PrepareRun}. */
export interface PreparedRun {
  /** The SDK job, built from the payload's definition at the time of the run. */
  readonly job: SyncJob;
  /** The account's connector (credentials resolved on this worker). */
  readonly connector: CrmConnector;
  /** A sink to use instead of the store's records (e.g. one that also fills a key column). */
  readonly sink?: RecordSink;
  readonly rejects?: RejectOutput;
  readonly errors?: ErrorOutput;
  /** Frees what preparing opened (the connector's sign-in, files). */
  close(): Promise<void>;
}

/** Why a delivery could not be made ready. */
export interface PrepareRunError {
  /** What is wrong and how to fix it (no secrets). */
  readonly message: string;
  /** True when trying later may help (a CRM that did not answer); false for a bad job or account. */
  readonly retryable: boolean;
}

/**
 * Turns a payload into a run on this worker: reads the definition, resolves the account from the
 * worker's own accounts file and environment, opens the connector. The CLI's worker command
 * supplies one that reads job files; an application may supply its own.
 */
export type PrepareRun = (payload: SyncJobPayload, signal: AbortSignal) => Promise<Result<PreparedRun, PrepareRunError>>;

/** An account whose queue a worker serves. */
export interface AccountQueue {
  /** The account's name, as jobs name it. */
  readonly name: string;
  /** Its connector's id, for the default concurrency cap. */
  readonly connector: string;
  /** Jobs of this account running at once across all workers; default by connector. */
  readonly concurrencyCap?: number;
}

/** Options of {@link startSyncWorker}. */
export interface SyncWorkerOptions {
  /** The Redis URL (`redis://host:6379`). */
  readonly redis: string;
  /** Key prefix of the queues; default {@link DEFAULT_PREFIX}. Every worker and enqueuer of one installation uses the same. */
  readonly prefix?: string;
  readonly store: WorkerStore;
  /** The accounts whose queues this worker serves. */
  readonly accounts: readonly AccountQueue[];
  readonly prepareRun: PrepareRun;
  /** Jobs of one account this process runs at once; default {@link DEFAULT_WORKER_CONCURRENCY}. */
  readonly concurrency?: number;
  /**
   * Jobs this process runs at once over all its accounts together; default none (each account
   * queue runs up to `concurrency`). A process at capacity takes no job: waiting jobs stay in
   * Redis for a process with room, so N workers of capacity C run N x C jobs at once.
   */
  readonly capacity?: number;
  /** The run lease's TTL (ms); default the SDK's 30 s. */
  readonly leaseTtlMs?: number;
  /** BullMQ's job lock (ms): a killed worker's job is re-delivered this long after its last renewal. Default 30 s. */
  readonly lockDurationMs?: number;
  /** How often stalled jobs are looked for (ms). Default 30 s. */
  readonly stalledIntervalMs?: number;
  /** Times a job may stall (its worker died) before it fails; default 20. */
  readonly maxStalledCount?: number;
  /** Pause before a delivery of a running job is tried again (ms); default 2 s. */
  readonly requeueDelayMs?: number;
  readonly logger?: Logger;
  /** Also told of every finished delivery (tests, progress). */
  readonly onRunFinished?: (event: RunFinishedEvent) => void;
}

/** What {@link SyncWorkerOptions.onRunFinished} is told. */
export interface RunFinishedEvent {
  readonly bullJobId: string;
  readonly account: string;
  readonly jobKey: string;
  /** `succeeded`, or what happens to the delivery next. */
  readonly outcome: 'succeeded' | 'retry' | 'fail' | 'requeue';
  readonly summary?: RunSummary;
  readonly error?: RunError;
}

/** A started worker. */
export interface SyncWorker {
  /** `host:pid:start`, as `workers status` shows it. */
  readonly id: string;
  /** The queue names it serves. */
  readonly queues: readonly string[];
  /** Deliveries running now. */
  readonly running: number;
  /**
   * Stops taking jobs, waits up to `graceMs` (default {@link DEFAULT_SHUTDOWN_GRACE_MS}) for
   * running deliveries, then aborts them: each stops at its next safe point and is put back on its
   * queue for another worker. Resolves when every delivery has stopped and connections are closed.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * The store's leases, refusing a delivery whose BullMQ job already ran to success. Checked once the
 * lease is held, and the mark is written before the successful run releases it
 * ({@link markingHistory}), so a re-delivery racing with the end of the first run cannot slip
 * between the two: it is refused as "running", put back, and then returns the first outcome.
 */
function onceLeases(leases: LeaseStore, redis: Redis, done: string, clock: LeaseClock): LeaseStore {
  return {
    acquireLease: async (key, owner, acquireOptions) => {
      const asked = performance.now();
      const result = await leases.acquireLease(key, owner, acquireOptions);
      if (!result.acquired) return result;
      if ((await redis.exists(done)) === 0) {
        clock.renewedAt = asked;
        return result;
      }
      await leases.releaseLease({ key, token: result.lease.token });
      return { acquired: false, holder: result.lease };
    },
    renewLease: async (fence, ttlMs) => {
      const asked = performance.now();
      const lease = await leases.renewLease(fence, ttlMs);
      clock.renewedAt = asked;
      return lease;
    },
    releaseLease: (fence) => leases.releaseLease(fence),
    getLease: (key) => leases.getLease(key),
  };
}

/** When the delivery's lease was last acquired or renewed (asked), on this process's monotonic clock. */
interface LeaseClock {
  renewedAt: number | undefined;
}

/** The run history, marking the delivery done in Redis as the run's success is recorded (under its lease). */
function markingHistory(history: RunHistoryStore, redis: Redis, done: string, worker: string): RunHistoryStore {
  return {
    startRun: (run, fence) => history.startRun(run, fence),
    recordProgress: (runId, progress, fence) => history.recordProgress(runId, progress, fence),
    finishRun: async (runId, end, fence) => {
      await history.finishRun(runId, end, fence);
      if (end.status === 'succeeded') await redis.set(done, JSON.stringify({ worker, historyRunId: runId }), 'PX', DONE_KEPT_MS);
    },
    getRun: (runId) => history.getRun(runId),
    listRuns: (filter) => history.listRuns(filter),
    countRuns: (filter) => history.countRuns(filter),
    listRunJobs: () => history.listRunJobs(),
    countRejects: (runId, query) => history.countRejects(runId, query),
    listSamples: (runId) => history.listSamples(runId),
    listRejects: (runId, query) => history.listRejects(runId, query),
    pruneRuns: (olderThan) => history.pruneRuns(olderThan),
  };
}

/** Starts a worker on the queues of `options.accounts`. Throws on a bad option; Redis may be down (it reconnects). */
export async function startSyncWorker(options: SyncWorkerOptions): Promise<SyncWorker> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const connection = redisOptions(options.redis);
  const concurrency = options.concurrency ?? DEFAULT_WORKER_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`[crm-sync] [worker] concurrency must be a whole number >= 1, got ${concurrency}`);
  if (options.accounts.length === 0) throw new RangeError('[crm-sync] [worker] no accounts to serve: list them in the accounts file (accounts: { name: { connector: ... } })');
  const logger = options.logger ?? noopLogger;
  const startedAt = new Date().toISOString();
  const id = `${hostname()}:${process.pid}:${Date.now().toString(36)}`;
  const redis = openRedis(options.redis);
  const shutdown = new AbortController();
  const active = new Set<AbortController>();
  const queues: Queue[] = [];
  const caps: number[] = [];
  const workers: Worker[] = [];
  const slots = options.capacity === undefined ? undefined : new ProcessSlots(options.capacity);

  for (const account of options.accounts) {
    const name = accountQueueName(account.name);
    const queue = new Queue(name, { connection, prefix });
    queue.on('error', () => undefined);
    const cap = account.concurrencyCap ?? defaultAccountConcurrency(account.connector);
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`[crm-sync] [worker] the concurrency cap of account "${account.name}" must be a whole number >= 1, got ${cap}`);
    await queue.setGlobalConcurrency(cap);
    await redis.sadd(accountsKey(prefix), name);
    const pause = new AccountPause(redis, prefix, account.name, queue);
    const processor = (job: Job<SyncJobPayload, RunOutcome>, token: string | undefined, signal: AbortSignal | undefined): Promise<RunOutcome> => processDelivery(job, token, signal, pause);
    const workerOptions = {
      connection,
      prefix,
      concurrency,
      name: id,
      autorun: false,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? 30_000,
      maxStalledCount: options.maxStalledCount ?? 20,
      // Queue.rateLimit only holds a queue back when the worker has a limiter; this one never limits by itself.
      limiter: { max: 1_000_000, duration: 1_000 },
    };
    const worker = slots === undefined ? new Worker<SyncJobPayload, RunOutcome>(name, processor, workerOptions) : new CappedWorker<SyncJobPayload, RunOutcome>(name, processor, workerOptions, slots, (marker) => redis.zadd(marker, 0, '0'));
    worker.on('error', (error) => logger.warn({ error: redactText(String(error)) }, `[crm-sync] [worker] queue ${name}: ${redactText(error.message)}`));
    queues.push(queue);
    caps.push(cap);
    workers.push(worker);
  }

  async function processDelivery(job: Job<SyncJobPayload, RunOutcome>, token: string | undefined, bullSignal: AbortSignal | undefined, pause: AccountPause): Promise<RunOutcome> {
    const problem = payloadProblem(job.data);
    if (problem !== undefined) {
      await job.updateProgress({ exitCode: exitCodeOf('invalid-payload') }).catch(() => undefined);
      throw new UnrecoverableError(`[crm-sync] [worker] job ${job.id}: ${problem}`);
    }
    const payload = job.data;
    // BullMQ may hand a job out again after its run finished (the worker's lock lapsed on a busy
    // machine, or it died between the run's end and the acknowledgement): the first outcome stands.
    const done = doneKey(prefix, job.queueName, String(job.id));
    const already = await redis.get(done);
    if (already !== null) return JSON.parse(already) as RunOutcome;
    const controller = new AbortController();
    active.add(controller);
    const signals = [controller.signal, shutdown.signal, ...(bullSignal === undefined ? [] : [bullSignal])];
    const signal = AbortSignal.any(signals);
    const finished = (event: Omit<RunFinishedEvent, 'bullJobId' | 'account' | 'jobKey'>): void =>
      options.onRunFinished?.({ bullJobId: String(job.id), account: payload.account, jobKey: payload.jobKey, ...event });
    try {
      const prepared = await options.prepareRun(payload, signal);
      if (prepared.isErr()) {
        const message = `[crm-sync] [worker] ${payload.source ?? payload.jobKey}: ${prepared.error.message}`;
        if (prepared.error.retryable) throw new Error(message);
        await recordUnstarted(payload, message);
        await job.updateProgress({ exitCode: exitCodeOf('invalid-job'), kind: 'invalid-job' }).catch(() => undefined);
        throw new UnrecoverableError(message);
      }
      const run = prepared.value;
      try {
        const clock: LeaseClock = { renewedAt: undefined };
        const ttl = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
        const mayCall = (): boolean => clock.renewedAt === undefined || performance.now() - clock.renewedAt < ttl;
        const orchestrator = new Orchestrator({
          connector: pausedConnector(run.connector, pause, undefined, mayCall),
          options: options.store.options,
          journal: options.store.journal,
          sink: run.sink ?? options.store.records,
          source: options.store.records,
          leases: onceLeases(options.store.leases, redis, done, clock),
          history: markingHistory(options.store.history, redis, done, id),
          account: payload.account,
          logger,
          ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
          ...(run.rejects === undefined ? {} : { rejects: run.rejects }),
          ...(run.errors === undefined ? {} : { errors: run.errors }),
        });
        const result = await orchestrator.runJob(run.job, { signal, resume: true, leaseWaitMs: 0 });
        if (result.isOk()) {
          const outcome: RunOutcome = { summary: result.value, worker: id };
          // The history already marked it done (before the lease was released); now with the summary.
          await redis.set(done, JSON.stringify(outcome), 'PX', DONE_KEPT_MS);
          finished({ outcome: 'succeeded', summary: result.value });
          return outcome;
        }
        const error = result.error;
        const handling = failureHandling(error);
        finished({ outcome: handling, error });
        if (handling === 'requeue' && token !== undefined) {
          // Shutting down: at once, for another worker. Job running elsewhere: after a pause.
          const delay = error.kind === 'aborted' ? 0 : (options.requeueDelayMs ?? 2_000);
          await job.moveToDelayed(Date.now() + delay, token);
          throw new DelayedError();
        }
        await job.updateProgress({ exitCode: exitCodeOf(error.kind), kind: error.kind }).catch(() => undefined);
        if (handling === 'fail') throw new UnrecoverableError(error.message);
        throw new Error(error.message);
      } finally {
        await run.close().catch(() => undefined);
      }
    } finally {
      active.delete(controller);
    }
  }

  /** A delivery that failed before the orchestrator ran is still in the run history, with its reason. */
  async function recordUnstarted(payload: SyncJobPayload, message: string): Promise<void> {
    if (payload.activity === undefined || payload.operation === undefined) return;
    const now = new Date().toISOString();
    const runId = globalThis.crypto.randomUUID();
    try {
      await options.store.history.startRun({
        runId,
        jobId: payload.jobKey,
        activity: payload.activity,
        operation: payload.operation,
        account: payload.account,
        host: hostname(),
        pid: process.pid,
        startedAt: now,
      });
      await options.store.history.finishRun(runId, { status: 'failed', endedAt: now, error: { kind: 'invalid-job', message } });
    } catch (error) {
      logger.warn({ error: redactText(String(error)) }, '[crm-sync] [worker] recording a failed delivery in the run history failed');
    }
  }

  const heartbeat = async (): Promise<void> => {
    const value = JSON.stringify({ id, host: hostname(), pid: process.pid, queues: queues.map((queue) => queue.name), startedAt, lastSeen: new Date().toISOString() });
    await redis.set(heartbeatKey(prefix, id), value, 'PX', HEARTBEAT_MS * 3).catch(() => undefined);
    // A Redis restarted without its data (no AOF / RDB) forgot the accounts registry and the
    // per-account caps: each heartbeat writes them again (both idempotent).
    await redis.sadd(accountsKey(prefix), ...queues.map((queue) => queue.name)).catch(() => undefined);
    await Promise.all(queues.map((queue, index) => queue.setGlobalConcurrency(caps[index]!).catch(() => undefined)));
  };
  await heartbeat();
  const beat = setInterval(() => void heartbeat(), HEARTBEAT_MS);
  beat.unref();
  for (const worker of workers) void worker.run().catch((error: unknown) => logger.error({ error: redactText(String(error)) }, '[crm-sync] [worker] a queue stopped'));

  let closing: Promise<void> | undefined;
  return {
    id,
    queues: queues.map((queue) => queue.name),
    get running() {
      return active.size;
    },
    close(graceMs = DEFAULT_SHUTDOWN_GRACE_MS) {
      closing ??= (async () => {
        clearInterval(beat);
        const timer = setTimeout(() => shutdown.abort(new Error('worker shutting down')), graceMs);
        try {
          await Promise.all(workers.map((worker) => worker.close()));
        } finally {
          clearTimeout(timer);
        }
        await Promise.all(queues.map((queue) => queue.close()));
        await redis.del(heartbeatKey(prefix, id)).catch(() => undefined);
        redis.disconnect();
      })();
      return closing;
    },
  };
}
