/**
 * `crm-sync run <job.yaml>` (and `crm-sync journal resume <job.yaml>`): checks the job file, the
 * account and the job against the object's description before anything is opened or written,
 * then runs it against the SQLite database and prints the summary.
 *
 * Order matters: every input error (exit 2) is found before the database file is created and
 * before any data call; only `describe` reaches the CRM first.
 *
 * @module
 */
import { resolve } from 'node:path';
import {
  exportJobId,
  MemoryExportJournal,
  MemoryOptionStore,
  MemoryRecordStore,
  type LocalRecord,
  type RecordSink,
  type RunError,
  type RunSummary,
  type SyncJob,
} from '@crm-sync/sdk';
import { loadAccount } from '../accounts/load-accounts.js';
import { invalidInput, runFailed, type CliError } from '../cli-error.js';
import { openConnector, type OpenedConnector } from '../connectors/registry.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { eprintln, println, type CliIo } from '../io.js';
import { capWarnings } from '../job/cap-warnings.js';
import { checkJobAgainstDescription } from '../job/check-against-description.js';
import { checkJobLocalColumns } from '../job/check-local-columns.js';
import { fileError, loadJobFile, type LoadedJob } from '../job/load-job.js';
import { toSyncJob } from '../job/to-sync-job.js';
import { errorsFileOutput, rejectsFileOutput, type FileOutput } from '../report/file-output.js';
import { createLogger, type LogFormat } from '../report/logger.js';
import { createProgressReporter, progressStyle } from '../report/progress.js';
import { renderPlan, renderSummary, runErrorJson } from '../report/summary.js';
import { runJob } from '../run-job.js';
import { databaseExists, databasePath, databaseSidecarBase, openStore, shownDatabase, type CliStore } from '../store.js';
import { reportError } from './report-error.js';
import { autoPrune, DEFAULT_HISTORY_RETENTION, parseRetention } from './runs-command.js';

/** Options of `crm-sync run`. */
interface RunCommandOptions {
  readonly accounts?: string;
  readonly db?: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
  readonly logFormat?: LogFormat;
  readonly failOnRejects?: boolean;
  /** Exports: resume an interrupted run of this job (default true); `false` starts afresh. */
  readonly resume?: boolean;
  /** `journal resume`: only resume; say so and stop when there is nothing to resume. */
  readonly resumeOnly?: boolean;
  /** When the job is already running, wait up to this many ms for it (default: exit 4 at once). */
  readonly wait?: number;
  /**
   * Run history retention: after the run, runs that started longer ago are pruned. A duration
   * (`90d`) or `off`; default `$CRM_SYNC_HISTORY_RETENTION`, else {@link DEFAULT_HISTORY_RETENTION}.
   */
  readonly historyRetention?: string;
  readonly verbose?: boolean;
  /** The clock for expressions (`daysAgo`); tests fix it. */
  readonly now?: () => Date;
  /** Aborts like Ctrl-C does (tests); SIGINT is always listened to. */
  readonly signal?: AbortSignal;
}

/**
 * Runs the job file at `jobPath`. Resolves with the exit code; never throws. Ctrl-C (SIGINT)
 * stops the run at its next safe point (between pages or batches): the command then says what the
 * run left and how to resume it, and exits 130. A second Ctrl-C ends the process at once.
 */
export async function runCommand(io: CliIo, jobPath: string, options: RunCommandOptions): Promise<ExitCodeValue> {
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new Error('interrupted (SIGINT)'));
  process.once('SIGINT', onSigint);
  const signal = options.signal === undefined ? interrupt.signal : AbortSignal.any([interrupt.signal, options.signal]);
  try {
    return await runCommandUntil(io, jobPath, options, signal);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

async function runCommandUntil(io: CliIo, jobPath: string, options: RunCommandOptions, signal: AbortSignal): Promise<ExitCodeValue> {
  // With --json, scripts get a JSON answer on stdout for input errors too; people still read stderr.
  const fail = (error: CliError): ExitCodeValue => {
    if (options.json === true) println(io, JSON.stringify({ ok: false, exitCode: error.exitCode, error: { message: error.message } }));
    return reportError(io, error);
  };
  const retention = checkHistoryRetention(io, options);
  if (retention !== undefined) return fail(retention);
  const loaded = loadJobFile(resolve(io.cwd, jobPath));
  if (loaded.isErr()) return fail({ ...loaded.error, message: loaded.error.message.split(resolve(io.cwd, jobPath)).join(jobPath) });
  const job = { ...loaded.value, source: { ...loaded.value.source, path: jobPath } };
  const machine = options.json === true || options.logFormat === 'json';
  const logger = createLogger(io.stderr, options.logFormat ?? 'pretty', options.verbose === true);
  const syncJob = toSyncJob(job, (options.now ?? (() => new Date()))());
  if (syncJob.isErr()) return fail(fileError(job.source, syncJob.error));
  if (options.resumeOnly === true && syncJob.value.kind !== 'export') {
    return fail(invalidInput(`${jobPath}: operation: journal resume applies to export jobs only; this job is ${syncJob.value.kind}. Run it again with crm-sync run ${jobPath}`));
  }
  const account = loadAccount(job.job.account, { env: io.env, cwd: io.cwd, ...(options.accounts !== undefined ? { file: options.accounts } : {}) });
  if (account.isErr()) return fail(account.error);
  const dbPath = databasePath(io, options.db, options.accounts);
  // Before the connector opens (it may sign in): a mapped local column the table lacks exports nothing.
  const columns = await checkJobLocalColumns(job, syncJob.value, dbPath);
  if (columns.isErr()) return fail(columns.error);
  const opened = await openConnector(job.job.connector, {
    account: account.value,
    referenceDirectory: job.directory,
    cwd: io.cwd,
    logger,
    databasePath: databaseSidecarBase(io, dbPath),
    ...(options.dryRun === true ? { readOnly: true } : {}),
  });
  if (opened.isErr()) return fail(opened.error);
  try {
    const checked = await checkJob(job, opened.value, fail);
    if (checked !== ExitCode.ok) return checked;
    if (signal.aborted) return interruptedBeforeRun(io, jobPath, options);
    for (const warning of capWarnings(job, opened.value.connector.id, opened.value.connector.capabilities)) eprintln(io, `warning: ${warning}`);
    if (options.dryRun === true) return await dryRun(io, job, syncJob.value, opened.value, dbPath, options);
    const store = await openStore(dbPath);
    if (store.isErr()) return fail(store.error);
    // Only once the database opened: a database that cannot be used leaves no mock CRM file behind.
    opened.value.persist?.();
    try {
      if (options.resumeOnly === true) {
        const open = await store.value.journal.findOpenRun(exportJobId(syncJob.value));
        if (open === undefined) {
          println(io, `Nothing to resume: job ${exportJobId(syncJob.value)} has no interrupted export in ${shownDatabase(dbPath)}. To export, run: crm-sync run ${jobPath}`);
          return ExitCode.ok;
        }
        // While another process runs the job, its run is open but not interrupted: the run below says so.
        const lease = await store.value.leases.getLease(exportJobId(syncJob.value));
        const running = lease !== undefined && Date.parse(lease.expiresAt) > Date.now();
        if (!machine && !running) println(io, `Resuming export run ${open.runId} (started ${open.startedAt}).`);
      }
      if (signal.aborted) return interruptedBeforeRun(io, jobPath, options);
      return await execute(io, job, syncJob.value, opened.value, store.value, options, machine, signal);
    } finally {
      await store.value.close();
    }
  } finally {
    await opened.value.close();
  }
}

/** `describe` the object and check the job against it (also the worker's check of a queued job). */
export async function checkJob(job: LoadedJob, opened: OpenedConnector, fail: (error: CliError) => ExitCodeValue): Promise<ExitCodeValue> {
  const described = await opened.connector.describe(job.job.object);
  if (described.isErr()) {
    const error = described.error;
    if (error.kind === 'not-found') {
      return fail(fileError(job.source, [{ path: ['object'], message: `${error.message.replace(/^\[crm-sync\] /, '')}; list the objects with: crm-sync describe --connector ${job.job.connector} --account ${job.job.account}` }]));
    }
    return fail(runFailed(error.message));
  }
  const issues = checkJobAgainstDescription(job, described.value, opened.connector.capabilities);
  if (issues.length > 0) return fail(fileError(job.source, issues));
  return ExitCode.ok;
}

async function dryRun(
  io: CliIo,
  job: LoadedJob,
  syncJob: SyncJob,
  opened: OpenedConnector,
  dbPath: string,
  options: RunCommandOptions,
): Promise<ExitCodeValue> {
  // A dry run changes nothing: it reads the real database when there is one (watermarks, journal,
  // local rows), and never creates it.
  let store: CliStore | undefined;
  if (databaseExists(dbPath)) {
    const opened = await openStore(dbPath);
    if (opened.isErr()) return reportError(io, opened.error);
    store = opened.value;
  }
  try {
    const memoryOptions = new MemoryOptionStore();
    const memoryRecords = new MemoryRecordStore(memoryOptions);
    const result = await runJob(syncJob, {
      connector: opened.connector,
      stores: store
        ? { options: store.options, journal: store.journal, sink: store.records, source: store.records }
        : { options: memoryOptions, journal: new MemoryExportJournal(), sink: memoryRecords, source: memoryRecords },
      logger: createLogger(io.stderr, options.logFormat ?? 'pretty', options.verbose === true),
      dryRun: true,
    });
    if (result.isErr()) return reportRunError(io, job, result.error, options);
    if (options.json === true) println(io, JSON.stringify({ ok: true, dryRun: true, plan: result.value.plan ?? null, summary: result.value }));
    else println(io, renderPlan(result.value));
    return ExitCode.ok;
  } finally {
    await store?.close();
  }
}

async function execute(
  io: CliIo,
  job: LoadedJob,
  syncJob: SyncJob,
  opened: OpenedConnector,
  store: CliStore,
  options: RunCommandOptions,
  machine: boolean,
  signal: AbortSignal,
): Promise<ExitCodeValue> {
  const label = `${syncJob.kind} ${syncJob.object}`;
  const retentionMs = historyRetentionMs(io, options);
  const progress = createProgressReporter(progressStyle(io.stderr, machine), io.stderr, label);
  const rejects = job.job.outputs?.rejects === undefined ? undefined : rejectsFileOutput(resolve(job.directory, job.job.outputs.rejects));
  const errors = job.job.outputs?.errors === undefined ? undefined : errorsFileOutput(resolve(job.directory, job.job.outputs.errors));
  const localKey = job.job.local?.key;
  const sink = localKey === undefined ? store.records : withCrmIdColumn(store.records, localKey);
  if (!machine) for (const note of opened.notes) eprintln(io, `note: ${note}`);
  const runStartedAt = new Date(Date.now() - 1);
  const result = await runJob(syncJob, {
    connector: opened.connector,
    stores: { options: store.options, journal: store.journal, sink, source: store.records, leases: store.leases, history: store.history },
    account: job.job.account,
    logger: createLogger(io.stderr, options.logFormat ?? 'pretty', options.verbose === true),
    onProgress: (event) => progress.update(event),
    resume: options.resume ?? true,
    signal,
    ...(options.wait !== undefined ? { leaseWaitMs: options.wait } : {}),
    ...(rejects !== undefined ? { rejects } : {}),
    ...(errors !== undefined ? { errors } : {}),
  });
  progress.stop(result.isErr());
  if (retentionMs !== undefined) await autoPrune(io, store.history, retentionMs, new Date());
  if (result.isErr() && result.error.kind === 'aborted') return reportInterrupted(io, job, syncJob, store, result.error, options);
  if (result.isErr()) return reportRunError(io, job, result.error, options);
  const summary = result.value;
  const exitCode = summary.rejected > 0 && options.failOnRejects === true ? ExitCode.finishedWithRejects : ExitCode.ok;
  if (options.json === true) {
    // This run's record: the newest of the job since it started (it held the job's lease).
    const recorded = (await store.history.listRuns({ jobId: exportJobId(syncJob), since: runStartedAt.toISOString(), limit: 1 }))[0];
    println(io, JSON.stringify({ ok: true, exitCode, summary, outputs: outputsJson(rejects, errors), database: store.path, ...(recorded === undefined ? {} : { historyRunId: recorded.runId }) }));
  } else {
    println(io, renderSummary(summary, label));
    for (const output of [rejects, errors]) {
      if (output !== undefined && output.written > 0) println(io, `${output.written} written to ${output.path}`);
    }
    if (exitCode === ExitCode.finishedWithRejects) eprintln(io, `[crm-sync] ${summary.rejected} records were rejected (--fail-on-rejects): exit 3`);
  }
  return exitCode;
}

/** The retention in ms (`undefined`: off); already checked by {@link checkHistoryRetention}. */
function historyRetentionMs(io: CliIo, options: RunCommandOptions): number | undefined {
  const parsed = parseRetention(retentionText(io, options));
  return 'ms' in parsed ? parsed.ms : undefined;
}

function retentionText(io: CliIo, options: RunCommandOptions): string {
  const env = io.env.CRM_SYNC_HISTORY_RETENTION;
  return options.historyRetention ?? (env !== undefined && env !== '' ? env : DEFAULT_HISTORY_RETENTION);
}

/** A bad `--history-retention` (or `$CRM_SYNC_HISTORY_RETENTION`) is invalid input, before anything runs. */
function checkHistoryRetention(io: CliIo, options: RunCommandOptions): CliError | undefined {
  const text = retentionText(io, options);
  const parsed = parseRetention(text);
  if (!('error' in parsed)) return undefined;
  const where = options.historyRetention !== undefined ? '--history-retention' : 'CRM_SYNC_HISTORY_RETENTION';
  return invalidInput(`${where} ${JSON.stringify(text)}: ${parsed.error}`);
}

function outputsJson(rejects: FileOutput<unknown> | undefined, errors: FileOutput<unknown> | undefined) {
  return {
    ...(rejects !== undefined ? { rejects: { path: rejects.path, written: rejects.written } } : {}),
    ...(errors !== undefined ? { errors: { path: errors.path, written: errors.written } } : {}),
  };
}

function reportRunError(io: CliIo, job: LoadedJob, error: RunError, options: RunCommandOptions): ExitCodeValue {
  const exitCode = error.kind === 'invalid-job' ? ExitCode.invalidInput : error.kind === 'job-running' ? ExitCode.jobRunning : ExitCode.runFailed;
  if (options.json === true) {
    println(io, JSON.stringify({ ok: false, exitCode, error: runErrorJson(error) }));
    return exitCode;
  }
  if (error.kind === 'invalid-job' && error.issues !== undefined && error.issues.length > 0) {
    return reportError(io, fileError(job.source, error.issues.map((issue) => ({ path: parseJobPath(issue.path), message: issue.message.replace(/^\[crm-sync\] \[[^\]]+\] /, '') }))));
  }
  const partial: RunSummary | undefined = error.summary;
  eprintln(io, error.message);
  if (error.ambiguousKeys !== undefined && error.ambiguousKeys.length > 0) {
    eprintln(io, `records in doubt (local keys): ${error.ambiguousKeys.slice(0, 20).join(', ')}${error.ambiguousKeys.length > 20 ? ' ...' : ''}`);
  }
  if (partial !== undefined) eprintln(io, renderSummary(partial, `${partial.operation} ${job.job.object}`, true));
  return exitCode;
}

/** Ctrl-C before the run started: nothing was read or written. */
function interruptedBeforeRun(io: CliIo, jobPath: string, options: RunCommandOptions): ExitCodeValue {
  const message = `[crm-sync] interrupted (Ctrl-C) before the run started: nothing was read or written. Run it with: crm-sync run ${jobPath}`;
  if (options.json === true) println(io, JSON.stringify({ ok: false, exitCode: ExitCode.interrupted, error: { kind: 'aborted', message } }));
  eprintln(io, message);
  return ExitCode.interrupted;
}

/**
 * Ctrl-C during the run: says what the run left and the command that continues it. An export's
 * journal run stays open (committed entries are not sent again on resume; pending ones are sent;
 * in-doubt ones are settled by the sync key); an import keeps what it committed with its watermark.
 */
async function reportInterrupted(io: CliIo, job: LoadedJob, syncJob: SyncJob, store: CliStore, error: RunError, options: RunCommandOptions): Promise<ExitCodeValue> {
  const jobPath = job.source.path;
  const partial = error.summary;
  let message: string;
  let openRun: { runId: string; counts: Readonly<Record<string, number>> } | undefined;
  if (syncJob.kind === 'export') {
    const open = await store.journal.findOpenRun(exportJobId(syncJob));
    if (open !== undefined) openRun = { runId: open.runId, counts: await store.journal.countByState(open.runId) };
  }
  if (openRun !== undefined) {
    const { committed = 0, pending = 0, sent = 0, unknown = 0, rejected = 0 } = openRun.counts;
    message =
      `[crm-sync] interrupted (Ctrl-C): export run ${openRun.runId} left open with ${pending} pending and ${sent + unknown} in doubt ` +
      `(${committed} committed, ${rejected} rejected); nothing committed is sent again. Resume it with: crm-sync run ${jobPath}`;
  } else if (syncJob.kind === 'export') {
    message = `[crm-sync] interrupted (Ctrl-C): the export stopped before sending anything. Run it again with: crm-sync run ${jobPath}`;
  } else {
    const done = partial === undefined ? '' : ` after reading ${partial.read} records (${partial.written} written locally, ${partial.deleted} deleted)`;
    const kept = syncJob.kind === 'delete' ? 'records deleted so far stay deleted' : 'what was committed stays (the watermark moves only with committed pages)';
    message = `[crm-sync] interrupted (Ctrl-C): ${syncJob.kind} ${syncJob.object} stopped${done}; ${kept}. Continue with: crm-sync run ${jobPath}`;
  }
  if (options.json === true) {
    println(io, JSON.stringify({ ok: false, exitCode: ExitCode.interrupted, error: { ...runErrorJson(error), message }, ...(openRun !== undefined ? { openRun } : {}) }));
  }
  eprintln(io, message);
  if (partial !== undefined && options.json !== true) eprintln(io, renderSummary(partial, `${partial.operation} ${job.job.object}`, true));
  return ExitCode.interrupted;
}

/** `fields[2].remote` to `['fields', 2, 'remote']`. */
function parseJobPath(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (match[2] !== undefined) parts.push(Number(match[2]));
    else if (match[1] !== undefined) parts.push(match[1]);
  }
  return parts;
}

/** A sink that also writes each record's CRM id into the local column `column` (`local.key`). */
export function withCrmIdColumn(sink: RecordSink, column: string): RecordSink {
  return {
    atomicCheckpoint: sink.atomicCheckpoint,
    write: (table, records, checkpoint, fence) =>
      sink.write(table, records.map((record: LocalRecord) => ({ ...record, values: { ...record.values, [column]: record.crmId } })), checkpoint, fence),
    markDeleted: (table, deletions, checkpoint, fence) => sink.markDeleted(table, deletions, checkpoint, fence),
  };
}
