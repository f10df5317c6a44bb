/**
 * The operational commands of distributed runs: `crm-sync enqueue` (run one job file on the
 * workers, optionally waiting for its summary and exit code), `crm-sync schedule add | list |
 * remove` (BullMQ job schedulers: one run per period however many workers), and `crm-sync workers
 * status`. A job file is checked here exactly as `crm-sync run` checks it before anything is
 * queued; the queue carries its text and the account's name, never a secret.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { exportJobId } from '@crm-sync/sdk';
import {
  checkRedis,
  enqueueSyncJob,
  readWorkersStatus,
  redactRedisUrl,
  removeSchedule,
  upsertSchedule,
  waitForSyncJob,
  type NewSyncJob,
  type ScheduleTiming,
} from '@crm-sync/worker-bullmq';
import { err, ok, type Result } from 'neverthrow';
import { invalidInput, runFailed, type CliError } from '../cli-error.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { eprintln, println, type CliIo } from '../io.js';
import { DURATION_HINT, parseDuration } from '../job/duration.js';
import { fileError, loadJobFile } from '../job/load-job.js';
import { toSyncJob } from '../job/to-sync-job.js';
import { renderSummary } from '../report/summary.js';
import { reportError } from './report-error.js';
import { redisUrlOf } from './worker-command.js';

/** Options every queue command takes. */
export interface QueueCommandOptions {
  readonly redis?: string;
  readonly prefix?: string;
  readonly json?: boolean;
}

/** Reads and checks a job file, and makes what is queued for it. */
function queuedJob(io: CliIo, jobPath: string): Result<NewSyncJob, CliError> {
  const path = resolve(io.cwd, jobPath);
  const loaded = loadJobFile(path);
  if (loaded.isErr()) return err({ ...loaded.error, message: loaded.error.message.split(path).join(jobPath) });
  const job = loaded.value;
  const syncJob = toSyncJob(job, new Date());
  if (syncJob.isErr()) return err(fileError({ ...job.source, path: jobPath }, syncJob.error));
  return ok({
    account: job.job.account,
    jobKey: exportJobId(syncJob.value),
    definition: readFileSync(path, 'utf8'),
    source: jobPath,
    activity: syncJob.value.activity,
    operation: syncJob.value.kind,
  });
}

async function reachable(io: CliIo, options: QueueCommandOptions): Promise<Result<string, CliError>> {
  const redis = redisUrlOf(io, options.redis);
  const problem = await checkRedis(redis);
  return problem === undefined ? ok(redis) : err(runFailed(problem));
}

/** Options of `crm-sync enqueue`. */
export interface EnqueueCommandOptions extends QueueCommandOptions {
  readonly wait?: boolean;
  readonly failOnRejects?: boolean;
}

/** `crm-sync enqueue job.yaml [--wait]`: prints the BullMQ job id; with --wait the run's summary and `crm-sync run`'s exit code. */
export async function enqueueCommand(io: CliIo, jobPath: string, options: EnqueueCommandOptions): Promise<ExitCodeValue> {
  const job = queuedJob(io, jobPath);
  if (job.isErr()) return reportError(io, job.error);
  const redis = await reachable(io, options);
  if (redis.isErr()) return reportError(io, redis.error);
  const prefix = options.prefix === undefined ? {} : { prefix: options.prefix };
  const id = await enqueueSyncJob(job.value, { redis: redis.value, ...prefix });
  if (options.wait !== true) {
    println(io, options.json === true ? JSON.stringify({ ok: true, bullJobId: id, account: job.value.account, job: job.value.jobKey }) : id);
    return ExitCode.ok;
  }
  if (options.json !== true) eprintln(io, `queued as job ${id} on account ${job.value.account}; waiting for a worker to run it`);
  const outcome = await waitForSyncJob(job.value.account, id, { redis: redis.value, ...prefix });
  if (!outcome.ok) {
    if (options.json === true) println(io, JSON.stringify({ ok: false, bullJobId: id, exitCode: outcome.exitCode, error: { kind: outcome.kind ?? 'failed', message: outcome.message }, attempts: outcome.attempts }));
    else eprintln(io, `${outcome.message}${outcome.attempts > 1 ? ` (after ${outcome.attempts} attempts)` : ''}`);
    return outcome.exitCode as ExitCodeValue;
  }
  const rejected = outcome.summary?.rejected ?? 0;
  const exitCode = rejected > 0 && options.failOnRejects === true ? ExitCode.finishedWithRejects : ExitCode.ok;
  if (options.json === true) {
    println(io, JSON.stringify({ ok: true, bullJobId: id, exitCode, worker: outcome.worker, ...(outcome.summary === undefined ? {} : { summary: outcome.summary }), ...(outcome.historyRunId === undefined ? {} : { historyRunId: outcome.historyRunId }) }));
  } else if (outcome.summary !== undefined) {
    println(io, renderSummary(outcome.summary, `${outcome.summary.operation} (worker ${outcome.worker})`));
  } else {
    println(io, `finished on worker ${outcome.worker}; its summary is in the run history: crm-sync runs show ${outcome.historyRunId ?? ''}`.trim());
  }
  return exitCode;
}

/** Options of `crm-sync schedule add`. */
export interface ScheduleAddOptions extends QueueCommandOptions {
  readonly every?: string;
  readonly cron?: string;
  readonly tz?: string;
  readonly id?: string;
}

/** `crm-sync schedule add job.yaml --every 15m | --cron "..."`. */
export async function scheduleAdd(io: CliIo, jobPath: string, options: ScheduleAddOptions): Promise<ExitCodeValue> {
  if ((options.every === undefined) === (options.cron === undefined)) {
    return reportError(io, invalidInput('crm-sync schedule add: give exactly one of --every <duration> (e.g. --every 15m) or --cron "<pattern>" (e.g. --cron "*/15 * * * *")'));
  }
  let timing: ScheduleTiming;
  if (options.every !== undefined) {
    const every = parseDuration(options.every);
    if (every === undefined || every < 1_000) return reportError(io, invalidInput(`--every ${JSON.stringify(options.every)}: expected ${DURATION_HINT}, at least 1s`));
    timing = { every };
  } else {
    timing = { cron: options.cron!, ...(options.tz === undefined ? {} : { timeZone: options.tz }) };
  }
  const job = queuedJob(io, jobPath);
  if (job.isErr()) return reportError(io, job.error);
  const redis = await reachable(io, options);
  if (redis.isErr()) return reportError(io, redis.error);
  const id = options.id ?? job.value.jobKey.replace(/:/g, '_');
  try {
    await upsertSchedule(id, job.value, timing, { redis: redis.value, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
  } catch (thrown) {
    return reportError(io, invalidInput(`crm-sync schedule add: ${thrown instanceof Error ? thrown.message : String(thrown)}`));
  }
  println(io, options.json === true ? JSON.stringify({ ok: true, id, account: job.value.account, job: job.value.jobKey, ...timing }) : `schedule ${id}: ${job.value.jobKey} on account ${job.value.account}, ${'every' in timing ? `every ${options.every}` : `cron "${timing.cron}"`}`);
  return ExitCode.ok;
}

/** `crm-sync schedule list`. */
export async function scheduleList(io: CliIo, options: QueueCommandOptions): Promise<ExitCodeValue> {
  const redis = await reachable(io, options);
  if (redis.isErr()) return reportError(io, redis.error);
  const status = await readWorkersStatus({ redis: redis.value, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
  if (options.json === true) {
    println(io, JSON.stringify(status.schedules));
    return ExitCode.ok;
  }
  if (status.schedules.length === 0) println(io, `no schedules on ${redactRedisUrl(redis.value)}; add one with: crm-sync schedule add job.yaml --every 15m`);
  for (const schedule of status.schedules) {
    println(io, `${schedule.id}  ${schedule.job}  ${schedule.queue}  ${schedule.every !== undefined ? `every ${schedule.every} ms` : `cron "${schedule.cron ?? ''}"`}  next ${schedule.next ?? '-'}`);
  }
  return ExitCode.ok;
}

/** `crm-sync schedule remove <id>`. */
export async function scheduleRemove(io: CliIo, id: string, options: QueueCommandOptions): Promise<ExitCodeValue> {
  const redis = await reachable(io, options);
  if (redis.isErr()) return reportError(io, redis.error);
  const removed = await removeSchedule(id, { redis: redis.value, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
  if (!removed) return reportError(io, invalidInput(`no schedule "${id}"; list them with: crm-sync schedule list`));
  println(io, options.json === true ? JSON.stringify({ ok: true, removed: id }) : `schedule ${id} removed`);
  return ExitCode.ok;
}

/** `crm-sync workers status`. */
export async function workersStatus(io: CliIo, options: QueueCommandOptions): Promise<ExitCodeValue> {
  const redis = await reachable(io, options);
  if (redis.isErr()) return reportError(io, redis.error);
  const status = await readWorkersStatus({ redis: redis.value, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
  if (options.json === true) {
    println(io, JSON.stringify(status));
    return ExitCode.ok;
  }
  println(io, `queues (${redactRedisUrl(redis.value)}, at ${status.at}):`);
  if (status.queues.length === 0) println(io, '  none yet: queue a job with crm-sync enqueue job.yaml');
  for (const queue of status.queues) {
    const paused = queue.paused ? `  PAUSED${queue.pausedUntil === undefined ? '' : ` until ${queue.pausedUntil}`}${queue.pauseReason === undefined ? '' : ` (${queue.pauseReason})`}` : '';
    println(io, `  ${queue.account}: ${queue.waiting} waiting, ${queue.active} active, ${queue.delayed} delayed, ${queue.failed} failed, ${queue.completed} completed${paused}`);
  }
  println(io, `workers: ${new Set(status.workers.map((worker) => worker.id)).size}`);
  for (const worker of status.workers) println(io, `  ${worker.id} (${worker.host}, pid ${worker.pid}) on ${worker.queue}, last seen ${worker.lastSeen ?? '-'}`);
  println(io, `schedules: ${status.schedules.length}`);
  for (const schedule of status.schedules) println(io, `  ${schedule.id}: ${schedule.job}, next ${schedule.next ?? '-'}`);
  return ExitCode.ok;
}
