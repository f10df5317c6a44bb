/**
 * The run history in `crm_sync_runs`, `crm_sync_run_samples` and `crm_sync_run_rejects`: one row
 * per run, its progress samples and its rejects. Every write is one transaction (fence checked
 * first); samples and rejects of one call are appended with one statement each
 * (`jsonb_array_elements ... WITH ORDINALITY`), numbered from the run row's counters, which the
 * call locks `FOR UPDATE`. Instants are `timestamptz`, so applications can query them directly.
 *
 * @module
 */
import type { PoolClient } from 'pg';
import {
  ZERO_RUN_CALLS,
  ZERO_RUN_COUNTS,
  type Fence,
  type Instant,
  type NewRunRecord,
  type RunHistoryCalls,
  type RunHistoryCounts,
  type RunHistoryEnd,
  type RunHistoryError,
  type RunHistoryFilter,
  type RunHistoryProgress,
  type RunHistoryStore,
  type RunJobSummary,
  type RunHistoryVariables,
  type RunHistoryWindow,
  type RunRecord,
  type RunRejectQuery,
  type RunSample,
  type RunStatus,
  type StoredRunReject,
  type SyncOperation,
} from '@crm-sync/sdk';
import type { Database } from './database.js';
import { PostgresStoreError } from './errors.js';

interface RunRow {
  readonly run_id: string;
  readonly job_id: string;
  readonly activity: string;
  readonly operation: SyncOperation;
  readonly connector: string | null;
  readonly account: string | null;
  readonly host: string;
  readonly pid: number;
  readonly started_at: Date;
  readonly status: RunStatus;
  readonly ended_at: Date | null;
  readonly counts: RunHistoryCounts;
  readonly api_calls: RunHistoryCalls;
  readonly run_window: RunHistoryWindow | null;
  readonly variables: RunHistoryVariables;
  readonly error: RunHistoryError | null;
  readonly journal_run_id: string | null;
  readonly notes: string[];
}

interface RejectRow {
  readonly seq: number;
  readonly code: StoredRunReject['code'];
  readonly symbol: string | null;
  readonly message: string;
  readonly fields: string[];
  readonly local_key: string | null;
  readonly crm_id: string | null;
}

const RUN_COLUMNS =
  'run_id, job_id, activity, operation, connector, account, host, pid, started_at, status, ended_at, counts, api_calls, run_window, variables, error, journal_run_id, notes';

/** The start of the reject search test: `strpos(<the reject's text, lower case>, ` + the needle. */
const REJECT_MATCH = `strpos(lower(concat_ws(E'\\n', code, symbol, message, local_key, crm_id, (SELECT string_agg(f, E'\\n') FROM jsonb_array_elements_text(fields) AS f))), `;

/** The WHERE clause (with its leading space, or empty) and parameters of `filter`, checked first. */
function runFilterSql(filter: RunHistoryFilter): { readonly where: string; readonly params: unknown[] } {
  if (filter.since !== undefined) checkInstant(filter.since, 'listRuns since');
  if (filter.until !== undefined) checkInstant(filter.until, 'listRuns until');
  if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit < 0)) {
    invalid(`listRuns limit must be an integer >= 0, got ${filter.limit}`);
  }
  if (filter.offset !== undefined && (!Number.isInteger(filter.offset) || filter.offset < 0)) {
    invalid(`listRuns offset must be an integer >= 0, got ${filter.offset}`);
  }
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown): void => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (filter.jobId !== undefined) add('job_id = ?', filter.jobId);
  if (filter.activity !== undefined) add('activity = ?', filter.activity);
  if (filter.operation !== undefined) add('operation = ?', filter.operation);
  if (filter.status !== undefined) add('status = ANY(?::text[])', typeof filter.status === 'string' ? [filter.status] : filter.status);
  if (filter.since !== undefined) add('started_at >= ?::timestamptz', filter.since);
  if (filter.until !== undefined) add('started_at < ?::timestamptz', filter.until);
  return { where: where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`, params };
}

/** {@link RunHistoryStore} over the run tables of a PostgreSQL store. */
export class PostgresRunHistory implements RunHistoryStore {
  private readonly runs: string;
  private readonly samples: string;
  private readonly rejects: string;

  /** @param db - the store's database */
  constructor(private readonly db: Database) {
    this.runs = db.table('crm_sync_runs');
    this.samples = db.table('crm_sync_run_samples');
    this.rejects = db.table('crm_sync_run_rejects');
  }

  /** See {@link RunHistoryStore.startRun}: a run id recorded twice is refused with code `constraint`. */
  async startRun(run: NewRunRecord, fence?: Fence): Promise<void> {
    for (const key of ['runId', 'jobId', 'activity', 'operation', 'host'] as const) {
      if (typeof run[key] !== 'string' || run[key] === '') invalid(`startRun: ${key} must be a non-empty string, got ${JSON.stringify(run[key])}`);
    }
    if (!Number.isInteger(run.pid)) invalid(`startRun: pid must be an integer, got ${JSON.stringify(run.pid)}`);
    checkInstant(run.startedAt, 'startRun startedAt');
    try {
      await this.db.transaction(
        `Recording the start of run "${run.runId}"`,
        async (client) => {
          await client.query(
            `INSERT INTO ${this.runs} (run_id, job_id, activity, operation, connector, account, host, pid, started_at, status, counts, api_calls)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'running', $10, $11)`,
            [
              run.runId,
              run.jobId,
              run.activity,
              run.operation,
              run.connector ?? null,
              run.account ?? null,
              run.host,
              run.pid,
              run.startedAt,
              JSON.stringify(ZERO_RUN_COUNTS),
              JSON.stringify(ZERO_RUN_CALLS),
            ],
          );
        },
        fence,
      );
    } catch (error) {
      if (error instanceof PostgresStoreError && error.code === 'constraint') {
        throw new PostgresStoreError('constraint', `Run "${run.runId}" is already recorded; every run needs a new id.`, error);
      }
      throw error;
    }
  }

  /** See {@link RunHistoryStore.recordProgress}. */
  async recordProgress(runId: string, progress: RunHistoryProgress, fence?: Fence): Promise<void> {
    await this.db.transaction(
      `Recording progress of run "${runId}"`,
      async (client) => {
        await this.lockRun(client, runId, 'recordProgress');
        await this.applyProgress(client, runId, progress);
      },
      fence,
    );
  }

  /** See {@link RunHistoryStore.finishRun}. */
  async finishRun(runId: string, end: RunHistoryEnd, fence?: Fence): Promise<void> {
    if (!['succeeded', 'failed', 'interrupted'].includes(end.status)) {
      invalid(`finishRun: status must be succeeded, failed or interrupted, got ${JSON.stringify(end.status)}`);
    }
    checkInstant(end.endedAt, 'finishRun endedAt');
    await this.db.transaction(
      `Recording the end of run "${runId}"`,
      async (client) => {
        const status = await this.lockRun(client, runId, 'finishRun');
        if (status !== 'running') {
          throw new PostgresStoreError('invalid-argument', `finishRun: run "${runId}" already ended (${status}); a run is finished once.`);
        }
        await this.applyProgress(client, runId, end);
        await client.query(
          `UPDATE ${this.runs} SET status = $2, ended_at = $3, run_window = COALESCE($4, run_window), variables = COALESCE($5, variables),
             error = COALESCE($6, error), journal_run_id = COALESCE($7, journal_run_id), notes = COALESCE($8, notes)
           WHERE run_id = $1`,
          [
            runId,
            end.status,
            end.endedAt,
            json(end.window),
            json(end.variables),
            json(end.error),
            end.journalRunId ?? null,
            json(end.notes),
          ],
        );
      },
      fence,
    );
  }

  /** See {@link RunHistoryStore.getRun}. */
  async getRun(runId: string): Promise<RunRecord | undefined> {
    const rows = await this.db.query<RunRow>(`Reading run "${runId}"`, `SELECT ${RUN_COLUMNS} FROM ${this.runs} WHERE run_id = $1`, [runId]);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  /** See {@link RunHistoryStore.listRuns}. */
  async listRuns(filter: RunHistoryFilter = {}): Promise<readonly RunRecord[]> {
    const { where, params } = runFilterSql(filter);
    let sql = `SELECT ${RUN_COLUMNS} FROM ${this.runs}${where} ORDER BY started_at DESC, recorded DESC`;
    if (filter.limit !== undefined) {
      params.push(filter.limit);
      sql += ` LIMIT $${params.length}`;
    }
    if (filter.offset !== undefined) {
      params.push(filter.offset);
      sql += ` OFFSET $${params.length}`;
    }
    const rows = await this.db.query<RunRow>('Listing runs', sql, params);
    return rows.map(toRecord);
  }

  /** See {@link RunHistoryStore.countRuns}. */
  async countRuns(filter: RunHistoryFilter = {}): Promise<number> {
    const { where, params } = runFilterSql(filter);
    const rows = await this.db.query<{ n: string }>('Counting runs', `SELECT count(*) AS n FROM ${this.runs}${where}`, params);
    return Number(rows[0]?.n ?? 0);
  }

  /** See {@link RunHistoryStore.listRunJobs}. */
  async listRunJobs(): Promise<readonly RunJobSummary[]> {
    const rows = await this.db.query<{ job_id: string; activity: string; runs: string; last_started_at: Date }>(
      'Listing the jobs of the run history',
      `SELECT j.job_id, j.runs, newest.activity, newest.started_at AS last_started_at
       FROM (SELECT job_id, count(*) AS runs FROM ${this.runs} GROUP BY job_id) AS j
       CROSS JOIN LATERAL (SELECT activity, started_at FROM ${this.runs} AS r WHERE r.job_id = j.job_id ORDER BY started_at DESC, recorded DESC LIMIT 1) AS newest
       ORDER BY j.job_id COLLATE "C"`,
      [],
    );
    return rows.map((row) => ({ jobId: row.job_id, activity: row.activity, runs: Number(row.runs), lastStartedAt: row.last_started_at.toISOString() }));
  }

  /** See {@link RunHistoryStore.countRejects}. */
  async countRejects(runId: string, query: Pick<RunRejectQuery, 'search'> = {}): Promise<number> {
    const params: unknown[] = [runId];
    let sql = `SELECT count(*) AS n FROM ${this.rejects} WHERE run_id = $1`;
    if (query.search !== undefined) {
      params.push(query.search.toLowerCase());
      sql += ` AND ${REJECT_MATCH}$${params.length}) > 0`;
    }
    const rows = await this.db.query<{ n: string }>(`Counting the rejects of run "${runId}"`, sql, params);
    return Number(rows[0]?.n ?? 0);
  }

  /** See {@link RunHistoryStore.listSamples}. */
  async listSamples(runId: string): Promise<readonly RunSample[]> {
    const rows = await this.db.query<{ sample: RunSample }>(
      `Reading the samples of run "${runId}"`,
      `SELECT sample FROM ${this.samples} WHERE run_id = $1 ORDER BY seq`,
      [runId],
    );
    return rows.map((row) => row.sample);
  }

  /** See {@link RunHistoryStore.listRejects}. */
  async listRejects(runId: string, query: RunRejectQuery = {}): Promise<readonly StoredRunReject[]> {
    if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 0)) {
      invalid(`listRejects limit must be an integer >= 0, got ${query.limit}`);
    }
    const params: unknown[] = [runId];
    let sql = `SELECT seq, code, symbol, message, fields, local_key, crm_id FROM ${this.rejects} WHERE run_id = $1`;
    if (query.afterSeq !== undefined) {
      params.push(query.afterSeq);
      sql += ` AND seq > $${params.length}`;
    }
    if (query.search !== undefined) {
      params.push(query.search.toLowerCase());
      sql += ` AND ${REJECT_MATCH}$${params.length}) > 0`;
    }
    sql += ' ORDER BY seq';
    if (query.limit !== undefined) {
      params.push(query.limit);
      sql += ` LIMIT $${params.length}`;
    }
    const rows = await this.db.query<RejectRow>(`Reading the rejects of run "${runId}"`, sql, params);
    return rows.map(toReject);
  }

  /** See {@link RunHistoryStore.pruneRuns}: samples and rejects go with their run (`ON DELETE CASCADE`). */
  async pruneRuns(olderThan: Instant): Promise<number> {
    checkInstant(olderThan, 'pruneRuns olderThan');
    return this.db.transaction(`Pruning runs that started before ${olderThan}`, async (client) => {
      const result = await client.query(`DELETE FROM ${this.runs} WHERE started_at < $1::timestamptz`, [olderThan]);
      return result.rowCount ?? 0;
    });
  }

  /** Locks the run row for this transaction and returns its status; refuses an unknown run. */
  private async lockRun(client: PoolClient, runId: string, what: string): Promise<RunStatus> {
    const row = (await client.query<{ status: RunStatus }>(`SELECT status FROM ${this.runs} WHERE run_id = $1 FOR UPDATE`, [runId])).rows[0];
    if (row === undefined) throw new PostgresStoreError('run-not-found', `${what}: run "${runId}" is not recorded; call startRun first.`);
    return row.status;
  }

  private async applyProgress(client: PoolClient, runId: string, progress: RunHistoryProgress): Promise<void> {
    const samples = progress.samples ?? [];
    const rejects = progress.rejects ?? [];
    const counters = (
      await client.query<{ next_sample: number; next_reject: number }>(
        `UPDATE ${this.runs} SET counts = COALESCE($2, counts), api_calls = COALESCE($3, api_calls),
           next_sample = next_sample + $4, next_reject = next_reject + $5
         WHERE run_id = $1 RETURNING next_sample - $4 AS next_sample, next_reject - $5 AS next_reject`,
        [runId, json(progress.counts), json(progress.apiCalls), samples.length, rejects.length],
      )
    ).rows[0]!;
    if (samples.length > 0) {
      await client.query(
        `INSERT INTO ${this.samples} (run_id, seq, sample)
         SELECT $1, $2 + s.ord - 1, s.value FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS s(value, ord)`,
        [runId, counters.next_sample, JSON.stringify(samples)],
      );
    }
    if (rejects.length > 0) {
      const rows = rejects.map((reject) => ({
        code: reject.code,
        symbol: reject.symbol ?? null,
        message: reject.message,
        fields: reject.fields,
        local_key: reject.localKey ?? null,
        crm_id: reject.crmId ?? null,
      }));
      await client.query(
        `INSERT INTO ${this.rejects} (run_id, seq, code, symbol, message, fields, local_key, crm_id)
         SELECT $1, $2 + r.ord - 1, r.value->>'code', r.value->>'symbol', r.value->>'message', r.value->'fields', r.value->>'local_key', r.value->>'crm_id'
         FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS r(value, ord)`,
        [runId, counters.next_reject, JSON.stringify(rows)],
      );
    }
  }
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function invalid(message: string): never {
  throw new PostgresStoreError('invalid-argument', `${message}.`);
}

function checkInstant(value: unknown, what: string): void {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
    invalid(`${what} must be an ISO instant such as 2024-01-31T00:00:00.000Z, got ${JSON.stringify(value)}`);
  }
}

function toRecord(row: RunRow): RunRecord {
  return {
    runId: row.run_id,
    jobId: row.job_id,
    activity: row.activity,
    operation: row.operation,
    ...(row.connector === null ? {} : { connector: row.connector }),
    ...(row.account === null ? {} : { account: row.account }),
    host: row.host,
    pid: row.pid,
    startedAt: row.started_at.toISOString(),
    status: row.status,
    ...(row.ended_at === null ? {} : { endedAt: row.ended_at.toISOString() }),
    counts: row.counts,
    apiCalls: row.api_calls,
    ...(row.run_window === null ? {} : { window: row.run_window }),
    variables: row.variables,
    ...(row.error === null ? {} : { error: row.error }),
    ...(row.journal_run_id === null ? {} : { journalRunId: row.journal_run_id }),
    notes: row.notes,
  };
}

function toReject(row: RejectRow): StoredRunReject {
  return {
    seq: row.seq,
    code: row.code,
    ...(row.symbol === null ? {} : { symbol: row.symbol }),
    message: row.message,
    fields: row.fields,
    ...(row.local_key === null ? {} : { localKey: row.local_key }),
    ...(row.crm_id === null ? {} : { crmId: row.crm_id }),
  };
}
