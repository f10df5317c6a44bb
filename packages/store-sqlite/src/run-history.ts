/**
 * The run history in `crm_sync_runs`, `crm_sync_run_samples` and `crm_sync_run_rejects`. Every
 * write is one SQLite transaction (`recordProgress` appends a whole buffer of samples and rejects
 * in one), checking the run's fence first, like the journal. Counts are columns, so a dashboard
 * can sum and plot them with plain SQL.
 *
 * @module
 */
import type { Database, Statement } from 'better-sqlite3';
import {
  checkHistoryInstant,
  checkNewRunRecord,
  checkRunHistoryEnd,
  checkRunHistoryFilter,
  checkRunRejectQuery,
  RUN_STATUSES,
  type Fence,
  type NewRunRecord,
  type Reject,
  type RunHistoryCalls,
  type RunHistoryCounts,
  type RunHistoryEnd,
  type RunHistoryFilter,
  type RunHistoryProgress,
  type RunHistoryStore,
  type RunJobSummary,
  type RunRecord,
  type RunRejectQuery,
  type RunSample,
  type RunStatus,
  type StoredRunReject,
  type SyncOperation,
} from '@crm-sync/sdk';
import { SqliteStoreError, toStoreError } from './errors.js';
import { fromJsonColumn } from './json-column.js';
import type { SqliteLeaseStore } from './lease-store.js';

interface RunRow {
  readonly run_id: string;
  readonly job_id: string;
  readonly activity: string;
  readonly operation: SyncOperation;
  readonly connector: string | null;
  readonly account: string | null;
  readonly host: string;
  readonly pid: number;
  readonly started_at: string;
  readonly ended_at: string | null;
  readonly status: RunStatus;
  readonly read_count: number;
  readonly written_count: number;
  readonly created_count: number;
  readonly updated_count: number;
  readonly deleted_count: number;
  readonly unchanged_count: number;
  readonly skipped_count: number;
  readonly rejected_count: number;
  readonly error_count: number;
  readonly api_calls: number;
  readonly retries: number;
  readonly rate_limit_wait_ms: number;
  readonly api_calls_by_kind: string;
  readonly window_start: string | null;
  readonly window_end: string | null;
  readonly crm_option_name: string | null;
  readonly crm_start_import: string | null;
  readonly crm_end_date: string | null;
  readonly error_kind: string | null;
  readonly error_message: string | null;
  readonly journal_run_id: string | null;
  readonly notes: string;
}

interface SampleRow {
  readonly at: string;
  readonly elapsed_ms: number;
  readonly phase: string | null;
  readonly read_count: number;
  readonly written_count: number;
  readonly rejected_count: number;
  readonly api_calls: number;
  readonly retries: number;
  readonly rate_limit_wait_ms: number;
}

interface RejectRow {
  readonly seq: number;
  readonly code: Reject['code'];
  readonly symbol: string | null;
  readonly message: string;
  readonly fields: string;
  readonly local_key: string | null;
  readonly crm_id: string | null;
}

/** The named parameters of the end-of-run update. */
interface EndParams {
  readonly status: RunStatus;
  readonly ended_at: string;
  readonly window_start: string | null;
  readonly window_end: string | null;
  readonly has_variables: 0 | 1;
  readonly crm_option_name: string | null;
  readonly crm_start_import: string | null;
  readonly crm_end_date: string | null;
  readonly error_kind: string | null;
  readonly error_message: string | null;
  readonly journal_run_id: string | null;
  readonly notes: string | null;
  readonly run_id: string;
}

/** The text `search` looks in, per reject row: code, symbol, message, keys and field names. */
const REJECT_TEXT = `lower(code || char(10) || coalesce(symbol, '') || char(10) || message || char(10) || coalesce(local_key, '') || char(10) || coalesce(crm_id, '') || char(10) || fields)`;

/** {@link RunHistoryStore} over the history tables of a SQLite store. */
export class SqliteRunHistory implements RunHistoryStore {
  private readonly insertRun: Statement<[string, string, string, string, string | null, string | null, string, number, string, number]>;
  private readonly selectRun: Statement<[string], RunRow>;
  private readonly selectStatus: Statement<[string], { readonly status: RunStatus }>;
  private readonly updateCounts: Statement<[number, number, number, number, number, number, number, number, number, string]>;
  private readonly updateCalls: Statement<[number, number, number, string, string]>;
  private readonly updateEnd: Statement<[EndParams]>;
  private readonly nextSampleSeq: Statement<[string], { readonly next: number }>;
  private readonly nextRejectSeq: Statement<[string], { readonly next: number }>;
  private readonly insertSample: Statement<[string, number, string, number, string | null, number, number, number, number, number, number]>;
  private readonly insertReject: Statement<[string, number, string, string | null, string, string, string | null, string | null]>;
  private readonly selectSamples: Statement<[string], SampleRow>;
  private readonly deleteOld: Statement<[number], { readonly run_id: string }>;
  private readonly deleteSamples: Statement<[string]>;
  private readonly deleteRejects: Statement<[string]>;

  /** Prepares every statement once; `leases` checks the fence of a fenced write inside its transaction. */
  constructor(
    private readonly db: Database,
    private readonly leases: SqliteLeaseStore,
  ) {
    this.insertRun = db.prepare(
      `INSERT INTO crm_sync_runs (run_id, job_id, activity, operation, connector, account, host, pid, started_at, started_ms, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')`,
    );
    this.selectRun = db.prepare('SELECT * FROM crm_sync_runs WHERE run_id = ?');
    this.selectStatus = db.prepare('SELECT status FROM crm_sync_runs WHERE run_id = ?');
    this.updateCounts = db.prepare(
      `UPDATE crm_sync_runs SET read_count = ?, written_count = ?, created_count = ?, updated_count = ?, deleted_count = ?,
       unchanged_count = ?, skipped_count = ?, rejected_count = ?, error_count = ? WHERE run_id = ?`,
    );
    this.updateCalls = db.prepare('UPDATE crm_sync_runs SET api_calls = ?, retries = ?, rate_limit_wait_ms = ?, api_calls_by_kind = ? WHERE run_id = ?');
    // Variables and notes are replaced only when the end gives them (`has_variables`, a NULL notes).
    this.updateEnd = db.prepare(
      `UPDATE crm_sync_runs SET status = @status, ended_at = @ended_at, window_start = @window_start, window_end = @window_end,
       crm_option_name = CASE WHEN @has_variables = 1 THEN @crm_option_name ELSE crm_option_name END,
       crm_start_import = CASE WHEN @has_variables = 1 THEN @crm_start_import ELSE crm_start_import END,
       crm_end_date = CASE WHEN @has_variables = 1 THEN @crm_end_date ELSE crm_end_date END,
       error_kind = @error_kind, error_message = @error_message, journal_run_id = @journal_run_id,
       notes = COALESCE(@notes, notes) WHERE run_id = @run_id`,
    );
    this.nextSampleSeq = db.prepare('SELECT coalesce(max(seq) + 1, 0) AS next FROM crm_sync_run_samples WHERE run_id = ?');
    this.nextRejectSeq = db.prepare('SELECT coalesce(max(seq) + 1, 0) AS next FROM crm_sync_run_rejects WHERE run_id = ?');
    this.insertSample = db.prepare(
      `INSERT INTO crm_sync_run_samples (run_id, seq, at, elapsed_ms, phase, read_count, written_count, rejected_count, api_calls, retries, rate_limit_wait_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertReject = db.prepare(
      'INSERT INTO crm_sync_run_rejects (run_id, seq, code, symbol, message, fields, local_key, crm_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.selectSamples = db.prepare(
      `SELECT at, elapsed_ms, phase, read_count, written_count, rejected_count, api_calls, retries, rate_limit_wait_ms
       FROM crm_sync_run_samples WHERE run_id = ? ORDER BY seq`,
    );
    this.deleteOld = db.prepare('DELETE FROM crm_sync_runs WHERE started_ms < ? RETURNING run_id');
    this.deleteSamples = db.prepare('DELETE FROM crm_sync_run_samples WHERE run_id = ?');
    this.deleteRejects = db.prepare('DELETE FROM crm_sync_run_rejects WHERE run_id = ?');
  }

  /** See {@link RunHistoryStore.startRun}; a recorded run id rejects with code `constraint`. */
  async startRun(run: NewRunRecord, fence?: Fence): Promise<void> {
    try {
      checkNewRunRecord(run);
      const startedMs = Date.parse(run.startedAt);
      this.db.transaction(() => {
        this.leases.check(fence);
        if (this.selectStatus.get(run.runId) !== undefined) {
          throw new SqliteStoreError('constraint', `Run "${run.runId}" is already in the run history; every run needs a new id.`);
        }
        this.insertRun.run(run.runId, run.jobId, run.activity, run.operation, run.connector ?? null, run.account ?? null, run.host, run.pid, run.startedAt, startedMs);
      }).immediate();
    } catch (error) {
      throw historyError(error, `Recording the start of run "${run.runId}"`);
    }
  }

  /** See {@link RunHistoryStore.recordProgress}: one transaction for the whole buffer. */
  async recordProgress(runId: string, progress: RunHistoryProgress, fence?: Fence): Promise<void> {
    try {
      this.db.transaction(() => {
        this.leases.check(fence);
        this.requireRun(runId);
        this.applyProgress(runId, progress);
      }).immediate();
    } catch (error) {
      throw historyError(error, `Recording progress of run "${runId}"`);
    }
  }

  /** See {@link RunHistoryStore.finishRun}; a run that already ended rejects with code `run-conflict`. */
  async finishRun(runId: string, end: RunHistoryEnd, fence?: Fence): Promise<void> {
    try {
      checkRunHistoryEnd(end);
      this.db.transaction(() => {
        this.leases.check(fence);
        const status = this.requireRun(runId);
        if (status !== 'running') {
          throw new SqliteStoreError('run-conflict', `Run "${runId}" already ended (${status}); a run is finished once.`);
        }
        this.applyProgress(runId, end);
        const variables = end.variables;
        this.updateEnd.run({
          status: end.status,
          ended_at: end.endedAt,
          window_start: end.window?.start ?? null,
          window_end: end.window?.end ?? null,
          has_variables: variables === undefined ? 0 : 1,
          crm_option_name: variables?.crmOptionName ?? null,
          crm_start_import: variables?.crmStartImport ?? null,
          crm_end_date: variables?.crmEndDate ?? null,
          error_kind: end.error?.kind ?? null,
          error_message: end.error?.message ?? null,
          journal_run_id: end.journalRunId ?? null,
          notes: end.notes === undefined ? null : JSON.stringify(end.notes),
          run_id: runId,
        });
      }).immediate();
    } catch (error) {
      throw historyError(error, `Recording the end of run "${runId}"`);
    }
  }

  /** See {@link RunHistoryStore.getRun}. */
  async getRun(runId: string): Promise<RunRecord | undefined> {
    try {
      const row = this.selectRun.get(runId);
      return row === undefined ? undefined : toRecord(row);
    } catch (error) {
      throw historyError(error, `Reading run "${runId}" from the run history`);
    }
  }

  /** See {@link RunHistoryStore.listRuns}. */
  async listRuns(filter: RunHistoryFilter = {}): Promise<readonly RunRecord[]> {
    try {
      const matching = runFilterSql(filter);
      if (matching === undefined) return [];
      const params = [...matching.params];
      // rowid breaks ties between runs started in the same millisecond: newest first stays exact.
      let sql = `SELECT * FROM crm_sync_runs${matching.where} ORDER BY started_ms DESC, rowid DESC`;
      if (filter.limit !== undefined || filter.offset !== undefined) {
        sql += ' LIMIT ? OFFSET ?';
        params.push(filter.limit ?? -1, filter.offset ?? 0);
      }
      return this.db.prepare<(string | number)[], RunRow>(sql).all(...params).map(toRecord);
    } catch (error) {
      throw historyError(error, 'Listing the run history');
    }
  }

  /** See {@link RunHistoryStore.countRuns}. */
  async countRuns(filter: RunHistoryFilter = {}): Promise<number> {
    try {
      const matching = runFilterSql(filter);
      if (matching === undefined) return 0;
      return this.db.prepare<(string | number)[], { readonly n: number }>(`SELECT count(*) AS n FROM crm_sync_runs${matching.where}`).get(...matching.params)?.n ?? 0;
    } catch (error) {
      throw historyError(error, 'Counting the run history');
    }
  }

  /** See {@link RunHistoryStore.listRunJobs}: one pass over the `(job_id, started_ms)` index. */
  async listRunJobs(): Promise<readonly RunJobSummary[]> {
    try {
      const rows = this.db
        .prepare<[], { readonly job_id: string; readonly runs: number; readonly last_ms: number }>(
          'SELECT job_id, count(*) AS runs, max(started_ms) AS last_ms FROM crm_sync_runs GROUP BY job_id ORDER BY job_id',
        )
        .all();
      const newest = this.db.prepare<[string, number], { readonly activity: string; readonly started_at: string }>(
        'SELECT activity, started_at FROM crm_sync_runs WHERE job_id = ? AND started_ms = ? ORDER BY rowid DESC LIMIT 1',
      );
      return rows.map((row) => {
        const last = newest.get(row.job_id, row.last_ms);
        return { jobId: row.job_id, activity: last?.activity ?? '', runs: row.runs, lastStartedAt: last?.started_at ?? new Date(row.last_ms).toISOString() };
      });
    } catch (error) {
      throw historyError(error, 'Listing the jobs of the run history');
    }
  }

  /** See {@link RunHistoryStore.countRejects}. */
  async countRejects(runId: string, query: Pick<RunRejectQuery, 'search'> = {}): Promise<number> {
    try {
      const searching = query.search !== undefined && query.search !== '';
      const sql = `SELECT count(*) AS n FROM crm_sync_run_rejects WHERE run_id = ?${searching ? ` AND instr(${REJECT_TEXT}, lower(?)) > 0` : ''}`;
      const params = searching ? [runId, query.search ?? ''] : [runId];
      return this.db.prepare<string[], { readonly n: number }>(sql).get(...params)?.n ?? 0;
    } catch (error) {
      throw historyError(error, `Counting the rejects of run "${runId}"`);
    }
  }

  /** See {@link RunHistoryStore.listSamples}. */
  async listSamples(runId: string): Promise<readonly RunSample[]> {
    try {
      return this.selectSamples.all(runId).map(toSample);
    } catch (error) {
      throw historyError(error, `Reading the samples of run "${runId}"`);
    }
  }

  /** See {@link RunHistoryStore.listRejects}; `search` is literal text (no LIKE patterns). */
  async listRejects(runId: string, query: RunRejectQuery = {}): Promise<readonly StoredRunReject[]> {
    try {
      checkRunRejectQuery(query);
      const where = ['run_id = ?'];
      const params: (string | number)[] = [runId];
      if (query.afterSeq !== undefined) {
        where.push('seq > ?');
        params.push(query.afterSeq);
      }
      if (query.search !== undefined && query.search !== '') {
        where.push(`instr(${REJECT_TEXT}, lower(?)) > 0`);
        params.push(query.search);
      }
      let sql = `SELECT seq, code, symbol, message, fields, local_key, crm_id FROM crm_sync_run_rejects WHERE ${where.join(' AND ')} ORDER BY seq`;
      if (query.limit !== undefined) {
        sql += ' LIMIT ?';
        params.push(query.limit);
      }
      return this.db.prepare<(string | number)[], RejectRow>(sql).all(...params).map((row) => toReject(runId, row));
    } catch (error) {
      throw historyError(error, `Reading the rejects of run "${runId}"`);
    }
  }

  /** See {@link RunHistoryStore.pruneRuns}: one transaction. */
  async pruneRuns(olderThan: string): Promise<number> {
    try {
      const limit = checkHistoryInstant(olderThan, 'pruneRuns olderThan');
      return this.db.transaction((): number => {
        const gone = this.deleteOld.all(limit);
        for (const { run_id } of gone) {
          this.deleteSamples.run(run_id);
          this.deleteRejects.run(run_id);
        }
        return gone.length;
      }).immediate();
    } catch (error) {
      throw historyError(error, `Pruning runs that started before ${olderThan}`);
    }
  }

  /** Inside a transaction: the progress's counts, calls, samples and rejects. */
  private applyProgress(runId: string, progress: RunHistoryProgress): void {
    const counts = progress.counts;
    if (counts !== undefined) {
      this.updateCounts.run(counts.read, counts.written, counts.created, counts.updated, counts.deleted, counts.unchanged, counts.skipped, counts.rejected, counts.errors, runId);
    }
    const calls = progress.apiCalls;
    if (calls !== undefined) this.updateCalls.run(calls.total, calls.retries, calls.rateLimitWaitMs, JSON.stringify(calls.byKind), runId);
    if (progress.samples !== undefined && progress.samples.length > 0) {
      let seq = this.nextSampleSeq.get(runId)?.next ?? 0;
      for (const s of progress.samples) {
        this.insertSample.run(runId, seq++, s.at, s.elapsedMs, s.phase ?? null, s.read, s.written, s.rejected, s.apiCalls, s.retries, s.rateLimitWaitMs);
      }
    }
    if (progress.rejects !== undefined && progress.rejects.length > 0) {
      let seq = this.nextRejectSeq.get(runId)?.next ?? 0;
      for (const r of progress.rejects) {
        this.insertReject.run(runId, seq++, r.code, r.symbol ?? null, r.message, JSON.stringify(r.fields), r.localKey ?? null, r.crmId ?? null);
      }
    }
  }

  /** The run's status; throws `run-not-found` when the run is not recorded. */
  private requireRun(runId: string): RunStatus {
    const row = this.selectStatus.get(runId);
    if (row === undefined) {
      throw new SqliteStoreError('run-not-found', `No run "${runId}" in the run history; record it with startRun first (CLI: crm-sync runs list).`);
    }
    return row.status;
  }
}

/**
 * The WHERE clause (with its leading space, or empty) and parameters of `filter`; `undefined`
 * when it can match nothing (an empty status list). Checks the filter first.
 */
function runFilterSql(filter: RunHistoryFilter): { readonly where: string; readonly params: readonly (string | number)[] } | undefined {
  checkRunHistoryFilter(filter);
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.jobId !== undefined) {
    where.push('job_id = ?');
    params.push(filter.jobId);
  }
  if (filter.activity !== undefined) {
    where.push('activity = ?');
    params.push(filter.activity);
  }
  if (filter.operation !== undefined) {
    where.push('operation = ?');
    params.push(filter.operation);
  }
  if (filter.status !== undefined) {
    const statuses: readonly RunStatus[] = typeof filter.status === 'string' ? [filter.status] : filter.status;
    if (statuses.length === 0) return undefined;
    where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
    params.push(...statuses);
  }
  if (filter.since !== undefined) {
    where.push('started_ms >= ?');
    params.push(Date.parse(filter.since));
  }
  if (filter.until !== undefined) {
    where.push('started_ms < ?');
    params.push(Date.parse(filter.until));
  }
  return { where: where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`, params };
}

/** Input errors become `invalid-argument`; the rest as every SQLite error. */
function historyError(error: unknown, operation: string): Error {
  if (error instanceof TypeError || error instanceof RangeError) {
    if (!/database connection is not open/i.test(error.message)) {
      return new SqliteStoreError('invalid-argument', `${operation} failed: ${error.message.replace(/^\[crm-sync\] \[history\] /, '')}.`);
    }
  }
  return toStoreError(error, operation);
}

function toRecord(row: RunRow): RunRecord {
  const where = `crm_sync_runs of run "${row.run_id}"`;
  const counts: RunHistoryCounts = {
    read: row.read_count,
    written: row.written_count,
    created: row.created_count,
    updated: row.updated_count,
    deleted: row.deleted_count,
    unchanged: row.unchanged_count,
    skipped: row.skipped_count,
    rejected: row.rejected_count,
    errors: row.error_count,
  };
  const apiCalls: RunHistoryCalls = {
    total: row.api_calls,
    retries: row.retries,
    rateLimitWaitMs: row.rate_limit_wait_ms,
    byKind: fromJsonColumn<Record<string, number>>(row.api_calls_by_kind, `${where} (api_calls_by_kind)`) ?? {},
  };
  const hasWindow = row.window_start !== null || row.window_end !== null;
  return {
    runId: row.run_id,
    jobId: row.job_id,
    activity: row.activity,
    operation: row.operation,
    ...(row.connector === null ? {} : { connector: row.connector }),
    ...(row.account === null ? {} : { account: row.account }),
    host: row.host,
    pid: row.pid,
    startedAt: row.started_at,
    ...(row.ended_at === null ? {} : { endedAt: row.ended_at }),
    status: RUN_STATUSES.includes(row.status) ? row.status : 'failed',
    counts,
    apiCalls,
    ...(hasWindow
      ? { window: { ...(row.window_start === null ? {} : { start: row.window_start }), ...(row.window_end === null ? {} : { end: row.window_end }) } }
      : {}),
    variables: {
      ...(row.crm_option_name === null ? {} : { crmOptionName: row.crm_option_name }),
      ...(row.crm_start_import === null ? {} : { crmStartImport: row.crm_start_import }),
      ...(row.crm_end_date === null ? {} : { crmEndDate: row.crm_end_date }),
    },
    ...(row.error_kind === null ? {} : { error: { kind: row.error_kind, message: row.error_message ?? '' } }),
    ...(row.journal_run_id === null ? {} : { journalRunId: row.journal_run_id }),
    notes: fromJsonColumn<string[]>(row.notes, `${where} (notes)`) ?? [],
  };
}

function toSample(row: SampleRow): RunSample {
  return {
    at: row.at,
    elapsedMs: row.elapsed_ms,
    ...(row.phase === null ? {} : { phase: row.phase }),
    read: row.read_count,
    written: row.written_count,
    rejected: row.rejected_count,
    apiCalls: row.api_calls,
    retries: row.retries,
    rateLimitWaitMs: row.rate_limit_wait_ms,
  };
}

function toReject(runId: string, row: RejectRow): StoredRunReject {
  return {
    seq: row.seq,
    code: row.code,
    ...(row.symbol === null ? {} : { symbol: row.symbol }),
    message: row.message,
    fields: fromJsonColumn<string[]>(row.fields, `crm_sync_run_rejects of run "${runId}" seq ${row.seq} (fields)`) ?? [],
    ...(row.local_key === null ? {} : { localKey: row.local_key }),
    ...(row.crm_id === null ? {} : { crmId: row.crm_id }),
  };
}
