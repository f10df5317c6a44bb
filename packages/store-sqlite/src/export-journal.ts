/**
 * The durable export journal in `journal_runs` and `journal_entries`. Every method is one SQLite
 * transaction, so a kill -9 leaves each call either fully applied or not at all; batched calls
 * (`addPending`, `markSent`, `recordOutcomes`) reuse prepared statements inside that one
 * transaction, which is what makes 100,000-entry exports fast. A call given a fence checks it
 * first, inside that same transaction: a stale token rejects with `StaleFenceError` and writes
 * nothing.
 *
 * The payload column holds the remote values sent to the CRM. The store cannot tell a credential
 * from a field value, so a job must never map a credential as a field.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type {
  ExportJournal,
  Fence,
  FieldValue,
  JournalEntry,
  JournalOutcome,
  JournalRun,
  JournalState,
  NewJournalEntry,
  Reject,
  WriteAction,
  WriteMode,
} from '@crm-sync/sdk';
import { SqliteStoreError, toStoreError } from './errors.js';
import { fromJsonColumn, toJsonColumn } from './json-column.js';
import type { SqliteLeaseStore } from './lease-store.js';

interface RunRow {
  readonly run_id: string;
  readonly job_id: string;
  readonly status: JournalRun['status'];
  readonly started_at: string;
  readonly finished_at: string | null;
  readonly summary: string | null;
}

interface EntryRow {
  readonly run_id: string;
  readonly seq: number;
  readonly local_key: string;
  readonly sync_key: string | null;
  readonly mode: WriteMode;
  readonly crm_id: string | null;
  readonly payload: string;
  readonly state: JournalState;
  readonly action: WriteAction | null;
  readonly reject: string | null;
  readonly batch_id: string | null;
  readonly attempts: number;
  readonly updated_at: string;
}

const JOURNAL_STATES: readonly JournalState[] = ['pending', 'sent', 'committed', 'rejected', 'unknown'];
const RUN_COLUMNS = 'run_id, job_id, status, started_at, finished_at, summary';

/** {@link ExportJournal} over the journal tables of a SQLite store. */
export class SqliteExportJournal implements ExportJournal {
  private readonly selectOpenRun: Statement<[string], RunRow>;
  private readonly selectRun: Statement<[string], RunRow>;
  private readonly selectRuns: Statement<[], RunRow>;
  private readonly selectRunsOfJob: Statement<[string], RunRow>;
  private readonly insertRun: Statement<[string, string, string]>;
  private readonly updateRunClosed: Statement<[string, string, string | null, string]>;
  private readonly insertEntry: Statement<
    [string, number, string, string | null, WriteMode, string | null, string, string]
  >;
  private readonly updateSent: Statement<[string, string, string, number]>;
  private readonly updateOutcome: Statement<
    [string, string | null, string | null, string | null, string, string, number]
  >;
  private readonly countStates: Statement<[string], { readonly state: JournalState; readonly n: number }>;

  /**
   * Prepares every statement once; `now` stamps `updated_at`, `started_at` and `finished_at`;
   * `leases` checks the fence of a fenced write inside its transaction.
   */
  constructor(
    private readonly db: Database,
    private readonly now: () => Date,
    private readonly leases: SqliteLeaseStore,
  ) {
    this.selectOpenRun = db.prepare(`SELECT ${RUN_COLUMNS} FROM journal_runs WHERE job_id = ? AND status = 'open'`);
    this.selectRun = db.prepare(`SELECT ${RUN_COLUMNS} FROM journal_runs WHERE run_id = ?`);
    // rowid breaks ties between runs started in the same millisecond: newest first stays exact.
    this.selectRuns = db.prepare(`SELECT ${RUN_COLUMNS} FROM journal_runs ORDER BY started_at DESC, rowid DESC`);
    this.selectRunsOfJob = db.prepare(
      `SELECT ${RUN_COLUMNS} FROM journal_runs WHERE job_id = ? ORDER BY started_at DESC, rowid DESC`,
    );
    this.insertRun = db.prepare(`INSERT INTO journal_runs (run_id, job_id, status, started_at) VALUES (?, ?, 'open', ?)`);
    this.updateRunClosed = db.prepare(
      'UPDATE journal_runs SET status = ?, finished_at = ?, summary = ? WHERE run_id = ?',
    );
    this.insertEntry = db.prepare(
      `INSERT INTO journal_entries (run_id, seq, local_key, sync_key, mode, crm_id, payload, state, attempts, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)
       ON CONFLICT (run_id, seq) DO NOTHING`,
    );
    this.updateSent = db.prepare(
      `UPDATE journal_entries SET state = 'sent', batch_id = ?, attempts = attempts + 1, updated_at = ?
       WHERE run_id = ? AND seq = ?`,
    );
    // COALESCE keeps a crm id known before sending (updates) when the outcome carries none.
    this.updateOutcome = db.prepare(
      `UPDATE journal_entries SET state = ?, crm_id = COALESCE(?, crm_id), action = ?, reject = ?, updated_at = ?
       WHERE run_id = ? AND seq = ?`,
    );
    this.countStates = db.prepare('SELECT state, count(*) AS n FROM journal_entries WHERE run_id = ? GROUP BY state');
  }

  /** The job's open run, if an interrupted export left one. */
  async findOpenRun(jobId: string): Promise<JournalRun | undefined> {
    try {
      const row = this.selectOpenRun.get(jobId);
      return row === undefined ? undefined : toRun(row);
    } catch (error) {
      throw toStoreError(error, `Finding the open export run of job "${jobId}"`);
    }
  }

  /** Starts a new run; rejects with code `run-conflict` when the job already has an open one. */
  async startRun(jobId: string, fence?: Fence): Promise<JournalRun> {
    try {
      const startedAt = this.now().toISOString();
      const runId = newRunId(startedAt);
      this.db.transaction(() => {
        this.leases.check(fence);
        const open = this.selectOpenRun.get(jobId);
        if (open !== undefined) {
          throw new SqliteStoreError(
            'run-conflict',
            `Job "${jobId}" already has an open export run "${open.run_id}" (started ${open.started_at}). ` +
              'Resume it, or close it as failed before starting a new one.',
          );
        }
        this.insertRun.run(runId, jobId, startedAt);
      }).immediate();
      return { runId, jobId, status: 'open', startedAt };
    } catch (error) {
      throw toStoreError(error, `Starting an export run for job "${jobId}"`);
    }
  }

  /** The run, or `undefined` when no run has that id. */
  async getRun(runId: string): Promise<JournalRun | undefined> {
    try {
      const row = this.selectRun.get(runId);
      return row === undefined ? undefined : toRun(row);
    } catch (error) {
      throw toStoreError(error, `Reading export run "${runId}"`);
    }
  }

  /** Runs, newest first; all jobs when `jobId` is omitted. */
  async listRuns(jobId?: string): Promise<readonly JournalRun[]> {
    try {
      const rows = jobId === undefined ? this.selectRuns.all() : this.selectRunsOfJob.all(jobId);
      return rows.map(toRun);
    } catch (error) {
      throw toStoreError(error, 'Listing export runs');
    }
  }

  /** Adds entries as `pending` in one transaction; an existing `seq` is left as it is. */
  async addPending(runId: string, entries: readonly NewJournalEntry[], fence?: Fence): Promise<void> {
    try {
      const updatedAt = this.now().toISOString();
      this.db.transaction(() => {
        this.leases.check(fence);
        this.requireRun(runId);
        for (const entry of entries) {
          this.insertEntry.run(
            runId,
            entry.seq,
            entry.localKey,
            entry.syncKey ?? null,
            entry.mode,
            entry.crmId ?? null,
            JSON.stringify(entry.payload),
            updatedAt,
          );
        }
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Adding ${entries.length} pending entries to export run "${runId}"`);
    }
  }

  /** Marks entries `sent` in `batchId` and counts an attempt, in one transaction. */
  async markSent(runId: string, seqs: readonly number[], batchId: string, fence?: Fence): Promise<void> {
    try {
      const updatedAt = this.now().toISOString();
      this.db.transaction(() => {
        this.leases.check(fence);
        this.requireRun(runId);
        for (const seq of seqs) this.updateSent.run(batchId, updatedAt, runId, seq);
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Marking ${seqs.length} entries of export run "${runId}" as sent`);
    }
  }

  /** Records outcomes in one transaction. A `crmId` in an outcome replaces the known one. */
  async recordOutcomes(runId: string, outcomes: readonly JournalOutcome[], fence?: Fence): Promise<void> {
    try {
      const updatedAt = this.now().toISOString();
      this.db.transaction(() => {
        this.leases.check(fence);
        this.requireRun(runId);
        for (const outcome of outcomes) {
          this.updateOutcome.run(
            outcome.state,
            outcome.crmId ?? null,
            outcome.action ?? null,
            toJsonColumn(outcome.reject),
            updatedAt,
            runId,
            outcome.seq,
          );
        }
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Recording ${outcomes.length} outcomes of export run "${runId}"`);
    }
  }

  /** Entries in `seq` order, optionally only some states, paged by `afterSeq` + `limit`. */
  async listEntries(
    runId: string,
    options: { readonly states?: readonly JournalState[]; readonly afterSeq?: number; readonly limit?: number } = {},
  ): Promise<readonly JournalEntry[]> {
    try {
      const states = options.states;
      if (states !== undefined && states.length === 0) return [];
      const where = ['run_id = ?'];
      const params: (string | number)[] = [runId];
      if (options.afterSeq !== undefined) {
        where.push('seq > ?');
        params.push(options.afterSeq);
      }
      if (states !== undefined) {
        where.push(`state IN (${states.map(() => '?').join(', ')})`);
        params.push(...states);
      }
      let sql = `SELECT * FROM journal_entries WHERE ${where.join(' AND ')} ORDER BY seq`;
      if (options.limit !== undefined) {
        if (!Number.isInteger(options.limit) || options.limit < 0) {
          throw new SqliteStoreError('invalid-argument', `listEntries: limit must be a whole number >= 0, got ${options.limit}.`);
        }
        sql += ' LIMIT ?';
        params.push(options.limit);
      }
      // Few distinct shapes (states subsets); SQLite's own statement cache keeps this cheap.
      const rows = this.db.prepare<(string | number)[], EntryRow>(sql).all(...params);
      return rows.map(toEntry);
    } catch (error) {
      throw toStoreError(error, `Listing entries of export run "${runId}"`);
    }
  }

  /** Counts of entries per state; every state is present, zero when none. */
  async countByState(runId: string): Promise<Readonly<Record<JournalState, number>>> {
    try {
      const counts = Object.fromEntries(JOURNAL_STATES.map((state) => [state, 0])) as Record<JournalState, number>;
      for (const row of this.countStates.all(runId)) counts[row.state] = row.n;
      return counts;
    } catch (error) {
      throw toStoreError(error, `Counting entries of export run "${runId}"`);
    }
  }

  /** Closes a run as `finished` or `failed`; it is kept for inspection. */
  async closeRun(
    runId: string,
    status: 'finished' | 'failed',
    summary?: Readonly<Record<string, unknown>>,
    fence?: Fence,
  ): Promise<void> {
    try {
      const finishedAt = this.now().toISOString();
      this.db.transaction(() => {
        this.leases.check(fence);
        this.requireRun(runId);
        this.updateRunClosed.run(status, finishedAt, toJsonColumn(summary), runId);
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Closing export run "${runId}"`);
    }
  }

  private requireRun(runId: string): void {
    if (this.selectRun.get(runId) === undefined) {
      throw new SqliteStoreError(
        'run-not-found',
        `No export run "${runId}" in this store. List runs with journal.listRuns() (CLI: crm-sync journal list).`,
      );
    }
  }
}

/** A run id that sorts by start time and reads well in the CLI, e.g. `20261125T202600123Z-9f3a1c`. */
function newRunId(startedAt: string): string {
  return `${startedAt.replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}

function toRun(row: RunRow): JournalRun {
  const summary = fromJsonColumn<Record<string, unknown>>(row.summary, `journal_runs.summary of run "${row.run_id}"`);
  return {
    runId: row.run_id,
    jobId: row.job_id,
    status: row.status,
    startedAt: row.started_at,
    ...(row.finished_at === null ? {} : { finishedAt: row.finished_at }),
    ...(summary === undefined ? {} : { summary }),
  };
}

function toEntry(row: EntryRow): JournalEntry {
  const where = `journal_entries of run "${row.run_id}" seq ${row.seq}`;
  const payload = fromJsonColumn<Record<string, FieldValue>>(row.payload, `${where} (payload)`) ?? {};
  const reject = fromJsonColumn<Reject>(row.reject, `${where} (reject)`);
  return {
    runId: row.run_id,
    seq: row.seq,
    localKey: row.local_key,
    ...(row.sync_key === null ? {} : { syncKey: row.sync_key }),
    mode: row.mode,
    ...(row.crm_id === null ? {} : { crmId: row.crm_id }),
    payload,
    state: row.state,
    ...(row.action === null ? {} : { action: row.action }),
    ...(reject === undefined ? {} : { reject }),
    ...(row.batch_id === null ? {} : { batchId: row.batch_id }),
    attempts: row.attempts,
    updatedAt: row.updated_at,
  };
}
