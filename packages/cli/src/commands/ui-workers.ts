/**
 * The workers page of `crm-sync ui`: the dashboard's status function over Redis, read with
 * `readWorkersStatus` of `@crm-sync/worker-bullmq`. A Redis that does not answer gives the page a
 * message naming the Redis (its password masked) within a time limit, never a hang.
 *
 * The dashboard declares its own copy of the status shape (it does not depend on the workers'
 * package); {@link SameShape} makes the build fail the day the two copies differ.
 *
 * @module
 */
import { checkRedis, readWorkersStatus, redactRedisUrl, type WorkersStatus as QueueWorkersStatus } from '@crm-sync/worker-bullmq';
import type { WorkersStatus as DashboardWorkersStatus, WorkersStatusReader } from '@crm-sync/ui';

/** How long the workers page waits for Redis, in ms, unless told otherwise. */
export const WORKERS_STATUS_TIMEOUT_MS = 5_000;

/**
 * `B` when `A` and `B` are the same type (same properties, optionality, readonly-ness and types,
 * all the way down), else `never`: a status of the one shape then cannot be returned as the other.
 */
type SameShape<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? B : never;

/** Options of {@link workersStatusReader}. */
export interface WorkersStatusReaderOptions {
  /** The Redis URL (may carry a password; it is never shown). */
  readonly redis: string;
  /** The queues' key prefix; default the workers' default. */
  readonly prefix?: string;
  /** Default {@link WORKERS_STATUS_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

/**
 * The dashboard's status function: checks Redis answers, then reads queues, live workers and
 * schedules. Rejects with a message (Redis URL masked, how to fix it) when Redis is unreachable
 * or does not answer within the time limit.
 */
export function workersStatusReader(options: WorkersStatusReaderOptions): WorkersStatusReader {
  const timeoutMs = options.timeoutMs ?? WORKERS_STATUS_TIMEOUT_MS;
  const shown = redactRedisUrl(options.redis);
  const read = async (): Promise<SameShape<QueueWorkersStatus, DashboardWorkersStatus>> => {
    const problem = await checkRedis(options.redis, timeoutMs);
    if (problem !== undefined) throw new Error(problem.replace(/^\[crm-sync\] \[worker\] /, ''));
    return readWorkersStatus({ redis: options.redis, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
  };
  return () =>
    new Promise<DashboardWorkersStatus>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`Redis at ${shown} did not answer within ${timeoutMs / 1_000} s. Check that Redis runs and that --redis (or CRM_SYNC_REDIS_URL) names it, then reload this page.`));
      }, timeoutMs);
      read().then(
        (status) => {
          clearTimeout(timer);
          resolve(status);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
}
