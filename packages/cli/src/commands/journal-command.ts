/**
 * `crm-sync journal list|show|prune`: inspect export journals (one run per export, one entry per
 * record, kept after the run for inspection until pruned) and prune them. `journal resume` is
 * `run` restricted to resuming; see `run-command.ts`.
 *
 * @module
 */
import { DEFAULT_JOURNAL_RETENTION_DAYS, type JournalState } from '@crm-sync/sdk';
import { invalidInput } from '../cli-error.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { println, type CliIo } from '../io.js';
import { renderTable } from '../report/table.js';
import { databaseExists, openStore, shownDatabase } from '../store.js';
import { reportError } from './report-error.js';
import { parseRetention } from './runs-command.js';

/** Options of the `journal` sub-commands. */
interface JournalCommandOptions {
  readonly db: string;
  readonly json?: boolean;
  /** `show`: only entries in these states. */
  readonly states?: readonly JournalState[];
  /** `show`: most entries to print. */
  readonly limit?: number;
}

const STATES: readonly JournalState[] = ['pending', 'sent', 'committed', 'rejected', 'unknown'];

/** `journal list [job]`: runs, newest first, with their counts per state. */
export async function journalList(io: CliIo, jobId: string | undefined, options: JournalCommandOptions): Promise<ExitCodeValue> {
  if (!databaseExists(options.db)) {
    println(io, options.json === true ? '[]' : `No export journal yet: ${shownDatabase(options.db)} does not exist.`);
    return ExitCode.ok;
  }
  const store = await openStore(options.db);
  if (store.isErr()) return reportError(io, store.error);
  try {
    const runs = await store.value.journal.listRuns(jobId);
    const rows = [];
    for (const run of runs) {
      // An open run whose job lease is live belongs to a running process: it is not interrupted.
      const lease = run.status === 'open' ? await store.value.leases.getLease(run.jobId) : undefined;
      const runningBy = lease !== undefined && Date.parse(lease.expiresAt) > Date.now() ? lease : undefined;
      rows.push({ ...run, counts: await store.value.journal.countByState(run.runId), ...(runningBy === undefined ? {} : { runningBy }) });
    }
    if (options.json === true) {
      println(io, JSON.stringify(rows));
    } else if (rows.length === 0) {
      println(io, jobId === undefined ? 'No export runs yet.' : `No export runs for job "${jobId}".`);
    } else {
      println(
        io,
        renderTable(
          ['Run', 'Job', 'Status', 'Started (UTC)', ...STATES],
          rows.map((run) => [run.runId, run.jobId, 'runningBy' in run ? 'running' : run.status, run.startedAt, ...STATES.map((state) => run.counts[state])]),
        ),
      );
      for (const run of rows) {
        if ('runningBy' in run && run.runningBy !== undefined) {
          const { owner, acquiredAt } = run.runningBy;
          println(io, `\nRun ${run.runId} is running now (host ${owner.host}, pid ${owner.pid}, since ${acquiredAt}); its records in "sent" are in flight, not in doubt.`);
        }
      }
      if (rows.some((run) => run.status === 'open' && !('runningBy' in run))) {
        println(io, '\nAn "open" run was interrupted; resume it with: crm-sync journal resume <job.yaml>');
      }
    }
    return ExitCode.ok;
  } finally {
    await store.value.close();
  }
}

/** `journal show <runId>`: the run, its counts, and its entries (in doubt and rejected first). */
export async function journalShow(io: CliIo, runId: string, options: JournalCommandOptions): Promise<ExitCodeValue> {
  const notFound = invalidInput(`journal run "${runId}" not found in ${shownDatabase(options.db)}; list the runs with: crm-sync journal list`);
  if (!databaseExists(options.db)) return reportError(io, notFound);
  const store = await openStore(options.db);
  if (store.isErr()) return reportError(io, store.error);
  try {
    const journal = store.value.journal;
    const run = await journal.getRun(runId);
    if (run === undefined) return reportError(io, notFound);
    const counts = await journal.countByState(runId);
    const limit = options.limit ?? 50;
    const entries = await journal.listEntries(runId, { ...(options.states !== undefined ? { states: options.states } : {}), limit });
    if (options.json === true) {
      println(io, JSON.stringify({ run, counts, entries }));
      return ExitCode.ok;
    }
    println(io, `Run ${run.runId} of job ${run.jobId}: ${run.status}, started ${run.startedAt}${run.finishedAt !== undefined ? `, finished ${run.finishedAt}` : ''}`);
    println(io, STATES.map((state) => `${state} ${counts[state]}`).join(', '));
    if (entries.length > 0) {
      println(io);
      println(
        io,
        renderTable(
          ['Seq', 'Local key', 'Mode', 'State', 'CRM id', 'Attempts', 'Reject'],
          entries.map((entry) => [
            entry.seq,
            entry.localKey,
            entry.mode,
            entry.state,
            entry.crmId ?? '',
            entry.attempts,
            entry.reject === undefined ? '' : `${entry.reject.code}${entry.reject.symbol !== undefined ? ` (${entry.reject.symbol})` : ''}: ${entry.reject.message}`,
          ]),
        ),
      );
      const total = STATES.reduce((sum, state) => sum + counts[state], 0);
      if (entries.length === limit && total > limit) println(io, `(first ${limit} entries; use --limit or --state to see others)`);
    }
    return ExitCode.ok;
  } finally {
    await store.value.close();
  }
}

/** Options of `journal prune`. */
export interface JournalPruneCommandOptions {
  readonly db: string;
  /** A duration (`30d`): closed runs that finished longer ago are deleted. Default 30 days. */
  readonly olderThan?: string;
  /** Say what would be deleted; delete nothing. */
  readonly dryRun?: boolean;
  readonly json?: boolean;
  /** The clock (tests fix it). */
  readonly now?: () => Date;
}

/**
 * `journal prune [--older-than 30d] [--dry-run]`: deletes closed export runs that finished longer
 * ago, with their entries. Open runs and runs with an entry in doubt are never deleted.
 */
export async function journalPrune(io: CliIo, options: JournalPruneCommandOptions): Promise<ExitCodeValue> {
  const olderThan = options.olderThan ?? `${DEFAULT_JOURNAL_RETENTION_DAYS}d`;
  const retention = parseRetention(olderThan);
  if ('error' in retention || retention.ms === undefined) {
    return reportError(io, invalidInput(`--older-than ${JSON.stringify(olderThan)}: ${'error' in retention ? retention.error : 'expected a duration such as 30d'}`));
  }
  const now = (options.now ?? (() => new Date()))();
  const finishedBefore = new Date(now.getTime() - retention.ms).toISOString();
  const dryRun = options.dryRun === true;
  if (!databaseExists(options.db)) {
    println(io, options.json === true ? JSON.stringify({ finishedBefore, dryRun, runIds: [], entries: 0, keptInDoubt: [] }) : `Nothing to prune: ${shownDatabase(options.db)} does not exist.`);
    return ExitCode.ok;
  }
  const store = await openStore(options.db);
  if (store.isErr()) return reportError(io, store.error);
  try {
    const result = await store.value.journal.pruneRuns({ finishedBefore, dryRun });
    if (options.json === true) {
      println(io, JSON.stringify({ finishedBefore, dryRun, ...result }));
      return ExitCode.ok;
    }
    const runs = `${result.runIds.length} export run${result.runIds.length === 1 ? '' : 's'} (${result.entries} entries)`;
    println(io, dryRun ? `Would prune ${runs} that finished before ${finishedBefore}; nothing was deleted (--dry-run).` : `Pruned ${runs} that finished before ${finishedBefore}.`);
    for (const runId of dryRun ? result.runIds : []) println(io, `  ${runId}`);
    if (result.keptInDoubt.length > 0) {
      println(
        io,
        `Kept ${result.keptInDoubt.length} closed run${result.keptInDoubt.length === 1 ? '' : 's'} with records in doubt (the CRM may hold them): ${result.keptInDoubt.join(', ')}. Check them with: crm-sync journal show <runId> --state sent unknown`,
      );
    }
    return ExitCode.ok;
  } finally {
    await store.value.close();
  }
}
