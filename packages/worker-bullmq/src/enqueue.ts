/**
 * Putting sync jobs on the account queues, and waiting for one to finish. Retries and backoff are
 * set per job here: a failure the SDK marks retryable is tried again (exponential backoff); one it
 * does not is failed at once by the worker, whatever `attempts` says.
 *
 * @module
 */
import type { RunSummary } from '@crm-sync/sdk';
import { Queue, QueueEvents, type Job, type JobsOptions } from 'bullmq';
import { PAYLOAD_VERSION, type SyncJobPayload } from './payload.js';
import { accountQueueName, accountsKey, checkPrefix, DEFAULT_PREFIX } from './queue-names.js';
import { openRedis, redisOptions } from './redis-connection.js';
import type { RunOutcome } from './run-outcome.js';

/** Tries a delivery gets for retryable failures, when not configured. */
export const DEFAULT_ATTEMPTS = 5;
/** First backoff before a retry, in ms (then doubled each time). */
export const DEFAULT_BACKOFF_MS = 5_000;

/** What {@link enqueueSyncJob} queues. */
export type NewSyncJob = Omit<SyncJobPayload, 'version'>;

/** Options of {@link enqueueSyncJob}. */
export interface EnqueueOptions {
  readonly redis: string;
  readonly prefix?: string;
  /** Tries for retryable failures; default {@link DEFAULT_ATTEMPTS}. */
  readonly attempts?: number;
  /** First backoff (ms); default {@link DEFAULT_BACKOFF_MS}. */
  readonly backoffMs?: number;
}

/** BullMQ options every sync job gets. */
export function syncJobOptions(options: Pick<EnqueueOptions, 'attempts' | 'backoffMs'>): JobsOptions {
  return {
    attempts: options.attempts ?? DEFAULT_ATTEMPTS,
    backoff: { type: 'exponential', delay: options.backoffMs ?? DEFAULT_BACKOFF_MS },
    removeOnComplete: { count: 1_000 },
    removeOnFail: { count: 5_000 },
  };
}

/** Queues `job` on its account's queue; resolves with the BullMQ job id. */
export async function enqueueSyncJob(job: NewSyncJob, options: EnqueueOptions): Promise<string> {
  const [id] = await enqueueSyncJobs([job], options);
  return id!;
}

/** Queues `jobs`, each on its account's queue, over one connection; resolves with the BullMQ job ids in order. */
export async function enqueueSyncJobs(jobs: readonly NewSyncJob[], options: EnqueueOptions): Promise<string[]> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const connection = redisOptions(options.redis);
  const queues = new Map<string, Queue>();
  const redis = openRedis(options.redis);
  try {
    const ids: string[] = [];
    for (const job of jobs) {
      const name = accountQueueName(job.account);
      let queue = queues.get(name);
      if (queue === undefined) {
        queue = new Queue(name, { connection, prefix });
        queue.on('error', () => undefined);
        queues.set(name, queue);
        await redis.sadd(accountsKey(prefix), name);
      }
      const added = await queue.add(job.jobKey, { version: PAYLOAD_VERSION, ...job }, syncJobOptions(options));
      ids.push(String(added.id));
    }
    return ids;
  } finally {
    redis.disconnect();
    await Promise.all([...queues.values()].map((queue) => queue.close()));
  }
}

/** How a waited-for job ended. */
export type WaitedRun =
  | { readonly ok: true; readonly bullJobId: string; readonly summary?: RunSummary; readonly historyRunId?: string; readonly worker: string }
  | { readonly ok: false; readonly bullJobId: string; readonly message: string; readonly exitCode: number; readonly kind?: string; readonly attempts: number };

/** Waits until job `bullJobId` of `account` completes or fails for good (after its retries). */
export async function waitForSyncJob(account: string, bullJobId: string, options: Pick<EnqueueOptions, 'redis' | 'prefix'> & { readonly signal?: AbortSignal }): Promise<WaitedRun> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const name = accountQueueName(account);
  const connection = redisOptions(options.redis);
  const queue = new Queue(name, { connection, prefix });
  const events = new QueueEvents(name, { connection, prefix });
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  try {
    await events.waitUntilReady();
    // Polled as well as listened for: an event missed while Redis restarted must not hang the wait.
    for (;;) {
      const job = (await queue.getJob(bullJobId)) as Job<SyncJobPayload, RunOutcome> | undefined;
      if (job === undefined) {
        return { ok: false, bullJobId, message: `[crm-sync] [worker] job ${bullJobId} is not on queue ${name} (removed, or never queued with this --prefix)`, exitCode: 1, attempts: 0 };
      }
      const state = await job.getState();
      // `job` was read before its state: a job that completed or failed in between still holds its
      // old hash (no return value, no failure reason). BullMQ writes those in the same script that
      // moves the job, so a read after the state settles the race.
      const settled = state === 'completed' || state === 'failed' ? ((await queue.getJob(bullJobId)) as Job<SyncJobPayload, RunOutcome> | undefined) : job;
      if (settled === undefined) {
        return { ok: false, bullJobId, message: `[crm-sync] [worker] job ${bullJobId} was removed from queue ${name} as it ended`, exitCode: 1, attempts: 0 };
      }
      if (state === 'completed') {
        const outcome = settled.returnvalue;
        return {
          ok: true,
          bullJobId,
          worker: outcome.worker,
          ...(outcome.summary === undefined ? {} : { summary: outcome.summary }),
          ...(outcome.historyRunId === undefined ? {} : { historyRunId: outcome.historyRunId }),
        };
      }
      if (state === 'failed') {
        const progress = (typeof settled.progress === 'object' && settled.progress !== null ? settled.progress : {}) as { exitCode?: number; kind?: string };
        return {
          ok: false,
          bullJobId,
          message: settled.failedReason,
          exitCode: progress.exitCode ?? 1,
          attempts: settled.attemptsMade,
          ...(progress.kind === undefined ? {} : { kind: progress.kind }),
        };
      }
      if (options.signal?.aborted === true) throw options.signal.reason;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 1_000);
        const onEvent = ({ jobId }: { jobId: string }): void => {
          if (jobId === bullJobId) done();
        };
        function done(): void {
          clearTimeout(timer);
          events.off('completed', onEvent);
          events.off('failed', onEvent);
          options.signal?.removeEventListener('abort', done);
          resolve();
        }
        events.on('completed', onEvent);
        events.on('failed', onEvent);
        options.signal?.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    await events.close();
    await queue.close();
  }
}
