/**
 * `@crm-sync/worker-bullmq`: distributed crm-sync runs on BullMQ and Redis. One queue per CRM
 * account; workers run the jobs through the SDK's orchestrator with a shared store (PostgreSQL:
 * leases with fencing tokens, journals, watermarks, run history); schedules are BullMQ job
 * schedulers; a rate limit one worker hits pauses the account on all of them. Redis carries jobs,
 * schedules and rate-limit state only: all sync state is in the store. Guide: docs/guides/distributed.md.
 *
 * @packageDocumentation
 */
export {
  startSyncWorker,
  defaultAccountConcurrency,
  DEFAULT_ACCOUNT_CONCURRENCY,
  FALLBACK_ACCOUNT_CONCURRENCY,
  DEFAULT_WORKER_CONCURRENCY,
  DEFAULT_SHUTDOWN_GRACE_MS,
  type SyncWorker,
  type SyncWorkerOptions,
  type WorkerStore,
  type AccountQueue,
  type PrepareRun,
  type PreparedRun,
  type PrepareRunError,
  type RunFinishedEvent,
} from './sync-worker.js';
export { enqueueSyncJob, enqueueSyncJobs, waitForSyncJob, syncJobOptions, DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, type NewSyncJob, type EnqueueOptions, type WaitedRun } from './enqueue.js';
export { upsertSchedule, removeSchedule, type ScheduleTiming, type ScheduleOptions } from './schedules.js';
export { readWorkersStatus, listAccountQueues, type WorkersStatus, type QueueStatus, type WorkerInfo, type ScheduleInfo } from './status.js';
export { AccountPause, pausedConnector, DEFAULT_RATE_LIMIT_PAUSE_MS } from './account-pause.js';
export { PAYLOAD_VERSION, payloadProblem, type SyncJobPayload } from './payload.js';
export { failureHandling, exitCodeOf, type FailureHandling, type RunOutcome } from './run-outcome.js';
export { accountQueueName, accountOfQueue, DEFAULT_PREFIX } from './queue-names.js';
export { checkRedis, redactRedisUrl, DEFAULT_REDIS_URL } from './redis-connection.js';
