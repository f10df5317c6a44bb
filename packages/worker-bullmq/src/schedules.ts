/**
 * Schedules: BullMQ job schedulers on the account queues. A scheduler makes one job per period
 * (`every` ms, or a cron pattern) in Redis, atomically, so a schedule fires once per period however
 * many workers run; the run lease keeps one live run per job even when a period's run outlasts the
 * period (the next delivery waits for it).
 *
 * @module
 */
import { Queue } from 'bullmq';
import { PAYLOAD_VERSION, type SyncJobPayload } from './payload.js';
import type { NewSyncJob } from './enqueue.js';
import { syncJobOptions } from './enqueue.js';
import { accountQueueName, accountsKey, checkPrefix, DEFAULT_PREFIX } from './queue-names.js';
import { openRedis, redisOptions } from './redis-connection.js';
import { listAccountQueues } from './status.js';

/** When a schedule fires: every `every` ms, or on a cron pattern (with an optional time zone). */
export type ScheduleTiming = { readonly every: number } | { readonly cron: string; readonly timeZone?: string };

/** Options shared by the schedule functions. */
export interface ScheduleOptions {
  readonly redis: string;
  readonly prefix?: string;
}

/** Adds the schedule `id` (or replaces it: same id, new timing or job) on the job's account queue. */
export async function upsertSchedule(id: string, job: NewSyncJob, timing: ScheduleTiming, options: ScheduleOptions): Promise<void> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const name = accountQueueName(job.account);
  if ('every' in timing && (!Number.isInteger(timing.every) || timing.every < 1_000)) {
    throw new RangeError(`[crm-sync] [worker] a schedule's period must be at least 1 s, got ${timing.every} ms`);
  }
  // A schedule id names a schedule on every queue at once (remove finds it by id alone).
  await removeSchedule(id, options);
  const queue = new Queue(name, { connection: redisOptions(options.redis), prefix });
  queue.on('error', () => undefined);
  const redis = openRedis(options.redis);
  try {
    await redis.sadd(accountsKey(prefix), name);
    await queue.upsertJobScheduler(
      id,
      'every' in timing ? { every: timing.every } : { pattern: timing.cron, ...(timing.timeZone === undefined ? {} : { tz: timing.timeZone }) },
      { name: job.jobKey, data: { version: PAYLOAD_VERSION, ...job }, opts: syncJobOptions({}) },
    );
  } finally {
    redis.disconnect();
    await queue.close();
  }
}

/** Removes the schedule `id` from whichever account queue holds it; resolves with whether one was found. */
export async function removeSchedule(id: string, options: ScheduleOptions): Promise<boolean> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  let removed = false;
  for (const name of await listAccountQueues(options.redis, prefix)) {
    const queue = new Queue(name, { connection: redisOptions(options.redis), prefix });
    queue.on('error', () => undefined);
    try {
      if ((await queue.getJobScheduler(id)) !== undefined) removed = (await queue.removeJobScheduler(id)) || removed;
    } finally {
      await queue.close();
    }
  }
  return removed;
}
