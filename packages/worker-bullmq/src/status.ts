/**
 * What `crm-sync workers status` and the dashboard show: per account queue its counts, whether it
 * is paused (by hand, or by a shared rate limit, with until when and why), the live worker
 * processes (from their heartbeats), and the schedules with their next firing. Read-only.
 *
 * @module
 */
import { Queue } from 'bullmq';
import { accountOfQueue, accountsKey, checkPrefix, DEFAULT_PREFIX, heartbeatPattern, pauseKey } from './queue-names.js';
import { openRedis, redisOptions } from './redis-connection.js';

/** The whole picture at one moment. */
export interface WorkersStatus {
  /** When it was read (ISO instant). */
  readonly at: string;
  readonly queues: readonly QueueStatus[];
  /** One entry per live worker process and queue it serves. */
  readonly workers: readonly WorkerInfo[];
  readonly schedules: readonly ScheduleInfo[];
}

/** One account queue. */
export interface QueueStatus {
  /** The BullMQ queue name (`account.<account>`). */
  readonly name: string;
  /** The CRM account it carries jobs for. */
  readonly account: string;
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly failed: number;
  readonly completed: number;
  /** True when paused by hand or by a shared rate limit. */
  readonly paused: boolean;
  /** When a rate-limit pause ends (ISO instant). */
  readonly pausedUntil?: string;
  /** Why it is paused (the rate limit that was hit, or `paused by an operator`). */
  readonly pauseReason?: string;
}

/** A live worker process serving a queue. */
export interface WorkerInfo {
  /** The worker's id (`host:pid:start`). */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** The queue it serves. */
  readonly queue: string;
  /** When the worker started (ISO instant). */
  readonly startedAt?: string;
  /** Its last heartbeat (ISO instant); a worker silent for 15 s is no longer listed. */
  readonly lastSeen?: string;
}

/** A schedule (BullMQ job scheduler). */
export interface ScheduleInfo {
  /** The schedule's id. */
  readonly id: string;
  /** The queue it fires on. */
  readonly queue: string;
  /** The job it queues (its lease key). */
  readonly job: string;
  /** The period in ms, for `--every` schedules. */
  readonly every?: number;
  /** The cron pattern, for `--cron` schedules. */
  readonly cron?: string;
  /** When it fires next (ISO instant). */
  readonly next?: string;
}

/** The account queues known under `prefix` (every queue a job, schedule or worker used). */
export async function listAccountQueues(redis: string, prefix: string = DEFAULT_PREFIX): Promise<string[]> {
  const client = openRedis(redis);
  try {
    return (await client.smembers(accountsKey(checkPrefix(prefix)))).sort();
  } finally {
    client.disconnect();
  }
}

/** Reads queues, workers and schedules under `options.prefix` (default `crm-sync`). Rejects when Redis does not answer. */
export async function readWorkersStatus(options: { readonly redis: string; readonly prefix?: string }): Promise<WorkersStatus> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const client = openRedis(options.redis);
  const connection = redisOptions(options.redis);
  try {
    const at = new Date();
    const names = (await client.smembers(accountsKey(prefix))).sort();
    const queues: QueueStatus[] = [];
    const schedules: ScheduleInfo[] = [];
    for (const name of names) {
      const account = accountOfQueue(name) ?? name;
      const queue = new Queue(name, { connection, prefix });
      queue.on('error', () => undefined);
      try {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
        const byHand = await queue.isPaused();
        const [left, reason] = await Promise.all([client.pttl(pauseKey(prefix, account)), client.get(pauseKey(prefix, account))]);
        const limited = left > 0;
        queues.push({
          name,
          account,
          waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0),
          active: counts['active'] ?? 0,
          delayed: counts['delayed'] ?? 0,
          failed: counts['failed'] ?? 0,
          completed: counts['completed'] ?? 0,
          paused: byHand || limited,
          ...(limited ? { pausedUntil: new Date(at.getTime() + left).toISOString(), pauseReason: reason ?? 'rate limited' } : byHand ? { pauseReason: 'paused by an operator' } : {}),
        });
        for (const scheduler of await queue.getJobSchedulers(0, -1, true)) {
          schedules.push({
            id: scheduler.id ?? scheduler.key,
            queue: name,
            job: scheduler.name,
            ...(scheduler.every === undefined || scheduler.every === null ? {} : { every: Number(scheduler.every) }),
            ...(scheduler.pattern === undefined || scheduler.pattern === null ? {} : { cron: scheduler.pattern }),
            ...(scheduler.next === undefined || scheduler.next === null ? {} : { next: new Date(Number(scheduler.next)).toISOString() }),
          });
        }
      } finally {
        await queue.close();
      }
    }
    return { at: at.toISOString(), queues, workers: await readHeartbeats(client, prefix), schedules };
  } finally {
    client.disconnect();
  }
}

async function readHeartbeats(client: ReturnType<typeof openRedis>, prefix: string): Promise<WorkerInfo[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', heartbeatPattern(prefix), 'COUNT', 200);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  const workers: WorkerInfo[] = [];
  const values = keys.length === 0 ? [] : await client.mget(keys);
  for (const value of values) {
    if (value === null) continue;
    try {
      const beat = JSON.parse(value) as { id: string; host: string; pid: number; queues: string[]; startedAt?: string; lastSeen?: string };
      for (const queue of beat.queues) {
        workers.push({ id: beat.id, host: beat.host, pid: beat.pid, queue, ...(beat.startedAt === undefined ? {} : { startedAt: beat.startedAt }), ...(beat.lastSeen === undefined ? {} : { lastSeen: beat.lastSeen }) });
      }
    } catch {
      // A heartbeat written by something else under this prefix: not a worker of ours.
    }
  }
  return workers.sort((a, b) => a.id.localeCompare(b.id) || a.queue.localeCompare(b.queue));
}
