/**
 * The distributed workers' status as the dashboard shows it. The shape is the one
 * `readWorkersStatus({ redis, prefix })` of the distributed-workers package returns, declared here
 * too so that the dashboard does not depend on that package: whoever starts the server passes a
 * function returning it (`workersStatus` of {@link UiServerOptions}).
 *
 * @module
 */
import type { UiServerOptions } from './server.js';

/** One queue of the distributed workers (one per CRM account). */
export interface WorkersQueueStatus {
  /** The queue's name. */
  readonly name: string;
  /** The CRM account the queue's jobs run against (a name, never a credential). */
  readonly account: string;
  /** Jobs waiting to run. */
  readonly waiting: number;
  /** Jobs running now. */
  readonly active: number;
  /** Jobs waiting for a later time. */
  readonly delayed: number;
  /** Jobs that failed (kept for inspection). */
  readonly failed: number;
  /** Jobs that completed (kept for inspection). */
  readonly completed: number;
  /** Whether the queue is paused (e.g. the account hit its API limit). */
  readonly paused: boolean;
  /** When a paused queue resumes by itself, when it does. */
  readonly pausedUntil?: string;
  /** Why the queue is paused. */
  readonly pauseReason?: string;
}

/** One live worker process. */
export interface WorkersWorkerStatus {
  /** The worker's id. */
  readonly id: string;
  /** The host it runs on. */
  readonly host: string;
  /** Its process id on that host. */
  readonly pid: number;
  /** The queue it takes jobs from. */
  readonly queue: string;
  /** When it started. */
  readonly startedAt?: string;
  /** When it last reported itself alive. */
  readonly lastSeen?: string;
}

/** One schedule: a job put on a queue every so often. */
export interface WorkersScheduleStatus {
  /** The schedule's id. */
  readonly id: string;
  /** The queue its jobs go to. */
  readonly queue: string;
  /** The job it runs. */
  readonly job: string;
  /** Its period in ms, for a fixed-interval schedule. */
  readonly every?: number;
  /** Its cron expression, for a cron schedule. */
  readonly cron?: string;
  /** When it fires next. */
  readonly next?: string;
}

/** Queues, live workers and schedules at one instant. */
export interface WorkersStatus {
  /** When the status was read. */
  readonly at: string;
  readonly queues: readonly WorkersQueueStatus[];
  readonly workers: readonly WorkersWorkerStatus[];
  readonly schedules: readonly WorkersScheduleStatus[];
}

/** Reads the workers' status; see {@link UiServerOptions.workersStatus}. */
export type WorkersStatusReader = () => Promise<WorkersStatus>;
