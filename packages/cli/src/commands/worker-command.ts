/**
 * `crm-sync worker`: a worker process of distributed runs (`@crm-sync/worker-bullmq`). It serves
 * the queues of the accounts in its accounts file, and runs each queued job file the way
 * `crm-sync run` does (the same checks, connectors, outputs), with the PostgreSQL store every
 * worker shares. SIGTERM (or Ctrl-C) stops taking jobs, lets running ones finish within the grace
 * period, then stops them at a safe point and puts them back for another worker.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { exportJobId, type RecordSink } from '@crm-sync/sdk';
import { checkRedis, redactRedisUrl, startSyncWorker, type AccountQueue, type PreparedRun, type PrepareRun, type PrepareRunError } from '@crm-sync/worker-bullmq';
import { err, ok, type Result } from 'neverthrow';
import { DEFAULT_ACCOUNTS_FILE, loadAccount } from '../accounts/load-accounts.js';
import { invalidInput, runFailed, type CliError } from '../cli-error.js';
import { openConnector } from '../connectors/registry.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { eprintln, type CliIo } from '../io.js';
import { fileError, loadJobText } from '../job/load-job.js';
import { toSyncJob } from '../job/to-sync-job.js';
import { errorsFileOutput, rejectsFileOutput } from '../report/file-output.js';
import { createLogger, type LogFormat } from '../report/logger.js';
import { databasePath, databaseSidecarBase, isPostgresLocation, openStore, shownDatabase } from '../store.js';
import { readYamlFile } from '../yaml-file.js';
import { reportError } from './report-error.js';
import { checkJob, withCrmIdColumn } from './run-command.js';

/** Options of `crm-sync worker`. */
export interface WorkerCommandOptions {
  readonly redis?: string;
  readonly db?: string;
  readonly accounts?: string;
  readonly prefix?: string;
  readonly concurrency?: number;
  /** Jobs at once in this process over all its accounts. */
  readonly capacity?: number;
  /** Grace period on SIGTERM, ms. */
  readonly grace?: number;
  readonly logFormat?: LogFormat;
  readonly verbose?: boolean;
  /** Stops the worker like SIGTERM does (tests). */
  readonly signal?: AbortSignal;
}

/** The Redis URL: `--redis`, else `$CRM_SYNC_REDIS_URL`, else the local default. */
export function redisUrlOf(io: CliIo, option: string | undefined): string {
  const fromEnv = io.env.CRM_SYNC_REDIS_URL;
  return option ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : 'redis://127.0.0.1:6379');
}

/**
 * The PostgreSQL database workers share, or why there is none: workers on several machines must
 * see one store (leases, journals, watermarks, run history), which a SQLite file cannot be.
 */
export function sharedDatabase(io: CliIo, option: string | undefined, accounts: string | undefined, command: string): Result<string, CliError> {
  const location = databasePath(io, option, accounts);
  const given = option !== undefined || (io.env.CRM_SYNC_DB ?? '') !== '' || isPostgresLocation(location);
  if (!given) {
    return err(invalidInput(`crm-sync ${command} needs --db postgres://user@host/database (or CRM_SYNC_DB): workers on any number of machines share one PostgreSQL store for leases, journals, watermarks and run history`));
  }
  if (!isPostgresLocation(location)) {
    return err(
      invalidInput(
        `crm-sync ${command}: --db ${shownDatabase(location)} is a SQLite file, but distributed runs need PostgreSQL (--db postgres://user@host/database): ` +
          'a SQLite file lives on one machine, so workers elsewhere could not see its leases or journals, and its locks do not span hosts. Use crm-sync run for single-machine runs.',
      ),
    );
  }
  return ok(location);
}

/** The accounts the worker serves: every account of the accounts file, with its connector and its `maxConcurrentJobs`. */
function accountQueues(io: CliIo, file: string | undefined): Result<AccountQueue[], CliError> {
  const named = file ?? (io.env.CRM_SYNC_ACCOUNTS !== undefined && io.env.CRM_SYNC_ACCOUNTS !== '' ? io.env.CRM_SYNC_ACCOUNTS : DEFAULT_ACCOUNTS_FILE);
  const path = resolve(io.cwd, named);
  if (!existsSync(path)) return err(invalidInput(`${named}: cannot read the accounts file: file not found. A worker serves the accounts listed there; pass --accounts <file> or set CRM_SYNC_ACCOUNTS`));
  const read = readYamlFile(path, 'accounts file');
  if (read.isErr()) return err(read.error);
  const accounts = (read.value.data as { accounts?: unknown } | null)?.accounts;
  if (typeof accounts !== 'object' || accounts === null || Object.keys(accounts).length === 0) {
    return err(invalidInput(`${named}: accounts: no accounts listed; a worker serves the queues of the accounts listed there, e.g.\naccounts:\n  sales-org:\n    connector: salesforce`));
  }
  const queues: AccountQueue[] = [];
  for (const name of Object.keys(accounts)) {
    const account = loadAccount(name, { env: io.env, cwd: io.cwd, file: path });
    if (account.isErr()) return err(account.error);
    const cap = account.value.settings.maxConcurrentJobs;
    queues.push({ name, connector: account.value.settings.connector, ...(typeof cap === 'number' ? { concurrencyCap: cap } : {}) });
  }
  return ok(queues);
}

/** Runs a worker until SIGTERM / SIGINT (or `options.signal`); resolves with the exit code. */
export async function workerCommand(io: CliIo, options: WorkerCommandOptions): Promise<ExitCodeValue> {
  const database = sharedDatabase(io, options.db, options.accounts, 'worker');
  if (database.isErr()) return reportError(io, database.error);
  const accounts = accountQueues(io, options.accounts);
  if (accounts.isErr()) return reportError(io, accounts.error);
  const redis = redisUrlOf(io, options.redis);
  const unreachable = await checkRedis(redis);
  if (unreachable !== undefined) return reportError(io, runFailed(unreachable));
  const store = await openStore(database.value);
  if (store.isErr()) return reportError(io, store.error);
  const logger = createLogger(io.stderr, options.logFormat ?? 'pretty', options.verbose === true);
  const accountsFile = options.accounts;
  const prepareRun: PrepareRun = (payload, signal) => prepareQueuedRun(io, payload, database.value, accountsFile, signal, logger);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  options.signal?.addEventListener('abort', onSignal, { once: true });
  try {
    const worker = await startSyncWorker({
      redis,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      store: store.value,
      accounts: accounts.value,
      prepareRun,
      logger,
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.capacity === undefined ? {} : { capacity: options.capacity }),
    });
    eprintln(io, `crm-sync worker ${worker.id}: serving ${accounts.value.map((account) => account.name).join(', ')} on ${redactRedisUrl(redis)}, store ${shownDatabase(database.value)}. Stop with SIGTERM (Ctrl-C).`);
    await new Promise<void>((done) => (stop.signal.aborted ? done() : stop.signal.addEventListener('abort', () => done(), { once: true })));
    eprintln(io, `crm-sync worker ${worker.id}: stopping; ${worker.running} running job(s) get ${Math.round((options.grace ?? 30_000) / 1000)} s to finish, then stop at a safe point and go back on the queue.`);
    await worker.close(options.grace);
    return ExitCode.ok;
  } catch (thrown) {
    return reportError(io, invalidInput(thrown instanceof Error ? thrown.message : String(thrown)));
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    await store.value.close();
  }
}

/** The CLI's {@link PrepareRun}: the queued job file's text, checked and opened as `crm-sync run` would. */
async function prepareQueuedRun(
  io: CliIo,
  payload: Parameters<PrepareRun>[0],
  dbPath: string,
  accountsFile: string | undefined,
  _signal: AbortSignal,
  logger: ReturnType<typeof createLogger>,
): Promise<Result<PreparedRun, PrepareRunError>> {
  const fail = (error: CliError, retryable = false) => err({ message: error.message, retryable });
  if (typeof payload.definition !== 'string') return fail(invalidInput('the queued job is not a job file (queue it with crm-sync enqueue or crm-sync schedule add)'));
  const loaded = loadJobText(payload.definition, payload.source ?? 'queued job', io.cwd);
  if (loaded.isErr()) return fail(loaded.error);
  const job = loaded.value;
  if (job.job.account !== payload.account) return fail(invalidInput(`the job names account "${job.job.account}" but was queued for "${payload.account}"`));
  const syncJob = toSyncJob(job, new Date());
  if (syncJob.isErr()) return fail(fileError(job.source, syncJob.error));
  const account = loadAccount(job.job.account, { env: io.env, cwd: io.cwd, ...(accountsFile !== undefined ? { file: accountsFile } : {}) });
  if (account.isErr()) return fail(account.error);
  const opened = await openConnector(job.job.connector, { account: account.value, referenceDirectory: job.directory, cwd: io.cwd, logger, databasePath: databaseSidecarBase(io, dbPath) });
  if (opened.isErr()) return fail(opened.error);
  let checkError: CliError | undefined;
  const checked = await checkJob(job, opened.value, (error) => {
    checkError = error;
    return error.exitCode;
  });
  if (checked !== ExitCode.ok) {
    await opened.value.close();
    // A describe the CRM did not answer may work later; a job that does not fit the object will not.
    return fail(checkError ?? runFailed('the job did not pass its checks'), checkError?.exitCode === ExitCode.runFailed);
  }
  // `changedSince: last-export` is resolved by the orchestrator from the journal, under the run's lease.
  const resolved = { job: syncJob.value };
  const rejects = job.job.outputs?.rejects === undefined ? undefined : rejectsFileOutput(resolve(job.directory, job.job.outputs.rejects));
  const errors = job.job.outputs?.errors === undefined ? undefined : errorsFileOutput(resolve(job.directory, job.job.outputs.errors));
  const localKey = job.job.local?.key;
  const runStore = localKey === undefined ? undefined : await openStore(dbPath);
  const sink: RecordSink | undefined = runStore !== undefined && runStore.isOk() && localKey !== undefined ? withCrmIdColumn(runStore.value.records, localKey) : undefined;
  opened.value.persist?.();
  logger.info({ job: exportJobId(resolved.job), account: payload.account }, `[crm-sync] [worker] running ${payload.source ?? exportJobId(resolved.job)}`);
  return ok({
    job: resolved.job,
    connector: opened.value.connector,
    ...(sink === undefined ? {} : { sink }),
    ...(rejects === undefined ? {} : { rejects }),
    ...(errors === undefined ? {} : { errors }),
    close: async () => {
      await opened.value.close();
      if (runStore !== undefined && runStore.isOk()) await runStore.value.close();
    },
  });
}
