/**
 * `crm-sync runs list|show|prune`: the run history every `crm-sync run` records in the database
 * (one row per run: counts, API calls, window, variables, error; its samples and rejects), and
 * the automatic prune that keeps it to a retention (`--history-retention`, default 90 days).
 *
 * @module
 */
import { hostname } from 'node:os';
import { isProcessAlive, type LeaseStore, type RunHistoryStore, type RunRecord, type RunStatus, type StoredRunReject, type SyncOperation } from '@crm-sync/sdk';
import { invalidInput } from '../cli-error.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { DURATION_HINT, parseDuration } from '../job/duration.js';
import { eprintln, println, type CliIo } from '../io.js';
import { renderTable } from '../report/table.js';
import { databaseExists, openStore, shownDatabase } from '../store.js';
import { reportError } from './report-error.js';

/** The default history retention: runs that started longer ago are pruned after each run. */
export const DEFAULT_HISTORY_RETENTION = '90d';

/** Options of `runs list`. */
export interface RunsListOptions {
  readonly db: string;
  /** A job id (`<instance>/<activity>`) or an activity name. */
  readonly job?: string;
  readonly status?: RunStatus;
  readonly operation?: SyncOperation;
  /** A duration back from now (`24h`, `7d`) or a date (`2024-06-01`, `2024/06/01 08:00:00`, ISO). */
  readonly since?: string;
  readonly limit?: number;
  readonly json?: boolean;
  /** The clock (tests fix it). */
  readonly now?: () => Date;
}

/** Options of `runs show`. */
export interface RunsShowOptions {
  readonly db: string;
  /** Most rejects to print (default 20). */
  readonly rejects?: number;
  /** Only rejects containing this text (code, symbol, message, keys, fields; any case). */
  readonly search?: string;
  readonly json?: boolean;
}

/** Options of `runs prune`. */
export interface RunsPruneOptions {
  readonly db: string;
  /** A duration (`90d`): runs that started longer ago are deleted. */
  readonly olderThan: string;
  readonly json?: boolean;
  readonly now?: () => Date;
}

/**
 * The instant `text` names: a duration back from `now` (`24h`), or a date. `undefined` when it is
 * neither.
 */
export function parseSince(text: string, now: Date): string | undefined {
  const duration = parseDuration(text);
  if (duration !== undefined && /[a-z]$/i.test(text.trim())) return new Date(now.getTime() - duration).toISOString();
  const seed = /^(\d{4})\/(\d{2})\/(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?$/.exec(text.trim());
  if (seed !== null) {
    const [, y, mo, d, h = '00', mi = '00', s = '00'] = seed;
    const at = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
    return Number.isNaN(at) ? undefined : new Date(at).toISOString();
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const iso = text.trim().length === 10 ? `${text.trim()}T00:00:00Z` : text.trim();
  const at = Date.parse(iso);
  return Number.isNaN(at) ? undefined : new Date(at).toISOString();
}

/** A retention text: a duration (`90d`) in ms, `off` as `undefined`; an error message otherwise. */
export function parseRetention(text: string): { readonly ms?: number } | { readonly error: string } {
  if (text.trim().toLowerCase() === 'off') return {};
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0 || !/[a-z]$/i.test(text.trim())) return { error: `expected ${DURATION_HINT} (e.g. 90d), or off` };
  return { ms };
}

/**
 * Prunes the runs that started more than `retentionMs` before `now`. Never fails the caller: a
 * failure is a warning on stderr. Returns how many runs were pruned.
 */
export async function autoPrune(io: CliIo, history: RunHistoryStore, retentionMs: number, now: Date): Promise<number> {
  try {
    return await history.pruneRuns(new Date(now.getTime() - retentionMs).toISOString());
  } catch (thrown) {
    eprintln(io, `warning: pruning the run history failed (the run itself is not affected): ${thrown instanceof Error ? thrown.message : String(thrown)}`);
    return 0;
  }
}

/**
 * For a `running` record: whether its process still holds the job's live lease (the lease owner's
 * run id is the history's run id, the lease has not expired, and on this host its pid is alive). A
 * `running` record without it died without recording its end.
 */
async function liveness(leases: LeaseStore, run: RunRecord, now: Date): Promise<'live' | 'dead' | undefined> {
  if (run.status !== 'running') return undefined;
  const lease = await leases.getLease(run.jobId);
  if (lease === undefined || lease.owner.runId !== run.runId || Date.parse(lease.expiresAt) <= now.getTime()) return 'dead';
  return lease.owner.host === hostname() && !isProcessAlive(lease.owner.pid) ? 'dead' : 'live';
}

const DEAD_RUN_NOTE =
  'its process no longer holds the job\'s lease: it died without recording its end (killed, crashed); the next run of the job records it as interrupted';

function duration(run: RunRecord): string {
  if (run.endedAt === undefined) return '';
  const ms = Date.parse(run.endedAt) - Date.parse(run.startedAt);
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : ms < 3_600_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 3_600_000).toFixed(1)}h`;
}

function done(run: RunRecord): number {
  const c = run.counts;
  return c.written + c.created + c.updated + c.unchanged + c.deleted;
}

/** `runs list`: runs, newest first, filtered. */
export async function runsList(io: CliIo, options: RunsListOptions): Promise<ExitCodeValue> {
  const now = (options.now ?? (() => new Date()))();
  let since: string | undefined;
  if (options.since !== undefined) {
    since = parseSince(options.since, now);
    if (since === undefined) {
      return reportError(io, invalidInput(`--since ${JSON.stringify(options.since)} is not a duration or a date; use e.g. 24h, 7d, 2024-06-01 or "2024/06/01 08:00:00" (UTC)`));
    }
  }
  if (!databaseExists(options.db)) {
    println(io, options.json === true ? '[]' : `No runs recorded yet: ${shownDatabase(options.db)} does not exist.`);
    return ExitCode.ok;
  }
  const store = await openStore(options.db);
  if (store.isErr()) return reportError(io, store.error);
  try {
    const job = options.job;
    const runs = await store.value.history.listRuns({
      ...(job === undefined ? {} : job.includes('/') ? { jobId: job } : { activity: job }),
      ...(options.status === undefined ? {} : { status: options.status }),
      ...(options.operation === undefined ? {} : { operation: options.operation }),
      ...(since === undefined ? {} : { since }),
      limit: options.limit ?? 50,
    });
    if (options.json === true) {
      println(io, JSON.stringify(runs));
    } else if (runs.length === 0) {
      println(io, 'No runs match.');
    } else {
      const dead = new Set<string>();
      for (const run of runs) if ((await liveness(store.value.leases, run, now)) === 'dead') dead.add(run.runId);
      println(
        io,
        renderTable(
          ['Run', 'Job', 'Operation', 'Status', 'Started (UTC)', 'Duration', 'Read', 'Done', 'Rejected', 'API calls'],
          runs.map((run) => [run.runId, run.jobId, run.operation, dead.has(run.runId) ? 'running (dead)' : run.status, run.startedAt, duration(run), run.counts.read, done(run), run.counts.rejected, run.apiCalls.total]),
        ),
      );
      if (dead.size > 0) println(io, `\n"running (dead)": ${DEAD_RUN_NOTE}.`);
      println(io, '\nDetails of a run: crm-sync runs show <run>');
    }
    return ExitCode.ok;
  } finally {
    await store.value.close();
  }
}

/** `runs show <run>`: summary, variables, calls, error, rejects, samples, journal link. */
export async function runsShow(io: CliIo, runId: string, options: RunsShowOptions): Promise<ExitCodeValue> {
  const notFound = invalidInput(`run "${runId}" not found in the run history of ${shownDatabase(options.db)}; list the runs with: crm-sync runs list`);
  if (!databaseExists(options.db)) return reportError(io, notFound);
  const store = await openStore(options.db);
  if (store.isErr()) return reportError(io, store.error);
  try {
    const history = store.value.history;
    const run = await history.getRun(runId);
    if (run === undefined) return reportError(io, notFound);
    const limit = options.rejects ?? 20;
    const rejects = await history.listRejects(runId, { limit, ...(options.search === undefined ? {} : { search: options.search }) });
    const samples = await history.listSamples(runId);
    if (options.json === true) {
      println(io, JSON.stringify({ run, rejects, samples }));
      return ExitCode.ok;
    }
    println(io, renderRun(run, samples.length));
    if ((await liveness(store.value.leases, run, new Date())) === 'dead') println(io, `  note      ${DEAD_RUN_NOTE}`);
    if (rejects.length > 0) {
      println(io, `\nRejects${options.search === undefined ? '' : ` matching ${JSON.stringify(options.search)}`}:`);
      println(io, renderRejects(rejects));
      if (rejects.length === limit) println(io, `(first ${limit}; use --rejects <n> or --search <text> to see others, or --json)`);
    } else if (options.search !== undefined) {
      println(io, `\nNo rejects match ${JSON.stringify(options.search)}.`);
    }
    return ExitCode.ok;
  } finally {
    await store.value.close();
  }
}

function renderRun(run: RunRecord, sampleCount: number): string {
  const lines = [
    `Run ${run.runId}: ${run.operation} of job ${run.jobId}, ${run.status}`,
    `  started   ${run.startedAt}${run.endedAt === undefined ? '' : `, ended ${run.endedAt} (${duration(run)})`}`,
    `  where     host ${run.host}, pid ${run.pid}${run.connector === undefined ? '' : `, connector ${run.connector}`}${run.account === undefined ? '' : `, account ${run.account}`}`,
    `  records   read ${run.counts.read}, written ${run.counts.written}, created ${run.counts.created}, updated ${run.counts.updated}, unchanged ${run.counts.unchanged}, deleted ${run.counts.deleted}, skipped ${run.counts.skipped}, rejected ${run.counts.rejected}, errors ${run.counts.errors}`,
    `  API calls ${run.apiCalls.total}${Object.keys(run.apiCalls.byKind).length === 0 ? '' : ` (${Object.entries(run.apiCalls.byKind).map(([kind, n]) => `${kind} ${n}`).join(', ')})`}, retries ${run.apiCalls.retries}, rate-limit waits ${run.apiCalls.rateLimitWaitMs} ms`,
  ];
  if (run.window !== undefined) lines.push(`  window    ${run.window.start ?? '(first full read)'} .. ${run.window.end ?? ''}`);
  const variables = Object.entries(run.variables);
  if (variables.length > 0) lines.push(`  variables ${variables.map(([name, value]) => `${name}=${value}`).join(', ')}`);
  if (run.error !== undefined) lines.push(`  error     ${run.error.kind}: ${run.error.message}`);
  if (run.journalRunId !== undefined) lines.push(`  journal   ${run.journalRunId} (crm-sync journal show ${run.journalRunId})`);
  lines.push(`  samples   ${sampleCount} (plot them from: crm-sync runs show ${run.runId} --json)`);
  for (const note of run.notes) lines.push(`  note      ${note}`);
  return lines.join('\n');
}

function renderRejects(rejects: readonly StoredRunReject[]): string {
  return renderTable(
    ['Seq', 'Code', 'Local key', 'CRM id', 'Fields', 'Message'],
    rejects.map((r) => [r.seq, `${r.code}${r.symbol === undefined ? '' : ` (${r.symbol})`}`, r.localKey ?? '', r.crmId ?? '', r.fields.join(', '), r.message]),
  );
}

/** `runs prune --older-than 90d`: deletes the runs that started longer ago. */
export async function runsPrune(io: CliIo, options: RunsPruneOptions): Promise<ExitCodeValue> {
  const retention = parseRetention(options.olderThan);
  if ('error' in retention || retention.ms === undefined) {
    return reportError(io, invalidInput(`--older-than ${JSON.stringify(options.olderThan)}: ${'error' in retention ? retention.error : 'expected a duration such as 90d'}`));
  }
  const now = (options.now ?? (() => new Date()))();
  const before = new Date(now.getTime() - retention.ms).toISOString();
  if (!databaseExists(options.db)) {
    println(io, options.json === true ? JSON.stringify({ pruned: 0, before }) : `Nothing to prune: ${shownDatabase(options.db)} does not exist.`);
    return ExitCode.ok;
  }
  const store = await openStore(options.db);
  if (store.isErr()) return reportError(io, store.error);
  try {
    const pruned = await store.value.history.pruneRuns(before);
    println(io, options.json === true ? JSON.stringify({ pruned, before }) : `Pruned ${pruned} run${pruned === 1 ? '' : 's'} that started before ${before}.`);
    return ExitCode.ok;
  } finally {
    await store.value.close();
  }
}
