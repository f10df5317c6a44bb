/**
 * The durable export journal in `journal_runs` and `journal_entries`. Every method is one
 * transaction, so a kill -9 or a dropped connection leaves each call either fully applied or not at
 * all; batched calls (`addPending`, `markSent`, `recordOutcomes`) are ONE statement each over the
 * whole batch (`unnest` of arrays), one round trip, not one per entry: the statement
 * itself checks that the run exists and, given a fence, that its token is current (the lease row
 * locked `FOR SHARE`), and writes nothing otherwise; a stale token rejects with `StaleFenceError`.
 *
 * The payload column holds the remote values sent to the CRM. The store cannot tell a credential
 * from a field value, so a job must never map a credential as a field. It is emptied once the
 * entry is settled: in the update that commits it (a committed entry is never sent again; the row
 * is rewritten by that update anyway, so this costs nothing), or when its run closes for a
 * rejected one (an open run may resend it with `resendRejected`). Closed runs go after the
 * retention (`journalRetentionDays`).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { PoolClient } from 'pg';
import {
  journalPruneCutoff,
  type ExportJournal,
  type Fence,
  type FieldValue,
  type JournalEntry,
  type JournalOutcome,
  type JournalPruneOptions,
  type JournalPruneResult,
  type JournalRetention,
  type JournalRun,
  type JournalState,
  type NewJournalEntry,
  type Reject,
  type WriteAction,
  type WriteMode,
} from '@crm-sync/sdk';
import type { Database } from './database.js';
import { PostgresStoreError } from './errors.js';

interface RunRow {
  readonly run_id: string;
  readonly job_id: string;
  readonly status: JournalRun['status'];
  readonly started_at: string;
  readonly finished_at: string | null;
  readonly summary: Record<string, unknown> | null;
}

interface EntryRow {
  readonly run_id: string;
  readonly seq: number;
  readonly local_key: string;
  readonly sync_key: string | null;
  readonly mode: WriteMode;
  readonly crm_id: string | null;
  readonly payload: Record<string, FieldValue>;
  readonly state: JournalState;
  readonly action: WriteAction | null;
  readonly reject: Reject | null;
  readonly batch_id: string | null;
  readonly attempts: number;
  readonly updated_at: string;
}

const JOURNAL_STATES: readonly JournalState[] = ['pending', 'sent', 'committed', 'rejected', 'unknown'];
const RUN_COLUMNS = 'run_id, job_id, status, started_at, finished_at, summary';

/** {@link ExportJournal} over the journal tables of a PostgreSQL store. */
export class PostgresExportJournal implements ExportJournal {
  private readonly runs: string;
  private readonly entries: string;
  /** Batch steps waiting for the next group write, by kind, run and fence. */
  private readonly groups = new Map<string, StepGroup>();
  private flushScheduled = false;

  /** `now` stamps `updated_at`, `started_at` and `finished_at`; closing a run prunes the closed runs older than `retention`. */
  constructor(
    private readonly db: Database,
    private readonly now: () => Date,
    private readonly retention: JournalRetention,
  ) {
    journalPruneCutoff(new Date(0), retention);
    this.runs = db.table('journal_runs');
    this.entries = db.table('journal_entries');
  }

  /** The job's open run, if an interrupted export left one. */
  async findOpenRun(jobId: string): Promise<JournalRun | undefined> {
    const rows = await this.db.query<RunRow>(
      `Finding the open export run of job "${jobId}"`,
      `SELECT ${RUN_COLUMNS} FROM ${this.runs} WHERE job_id = $1 AND status = 'open'`,
      [jobId],
    );
    return rows[0] === undefined ? undefined : toRun(rows[0]);
  }

  /** Starts a new run; rejects with code `run-conflict` when the job already has an open one. */
  async startRun(jobId: string, fence?: Fence): Promise<JournalRun> {
    const startedAt = this.now().toISOString();
    const runId = newRunId(startedAt);
    const operation = `Starting an export run for job "${jobId}"`;
    try {
      await this.db.transaction(
        operation,
        async (client) => {
          const open = (await client.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM ${this.runs} WHERE job_id = $1 AND status = 'open'`, [jobId])).rows[0];
          if (open !== undefined) throw runConflict(jobId, open);
          await client.query(`INSERT INTO ${this.runs} (run_id, job_id, status, started_at) VALUES ($1, $2, 'open', $3)`, [runId, jobId, startedAt]);
        },
        fence,
      );
    } catch (error) {
      // Two processes starting at once: the partial unique index refuses the second.
      if (error instanceof PostgresStoreError && error.code === 'constraint') {
        const open = await this.findOpenRun(jobId);
        if (open !== undefined) throw runConflict(jobId, { run_id: open.runId, started_at: open.startedAt });
      }
      throw error;
    }
    return { runId, jobId, status: 'open', startedAt };
  }

  /** The run, or `undefined` when no run has that id. */
  async getRun(runId: string): Promise<JournalRun | undefined> {
    const rows = await this.db.query<RunRow>(`Reading export run "${runId}"`, `SELECT ${RUN_COLUMNS} FROM ${this.runs} WHERE run_id = $1`, [runId]);
    return rows[0] === undefined ? undefined : toRun(rows[0]);
  }

  /** Runs, newest first; all jobs when `jobId` is omitted. */
  async listRuns(jobId?: string): Promise<readonly JournalRun[]> {
    const rows = await this.db.query<RunRow>(
      'Listing export runs',
      `SELECT ${RUN_COLUMNS} FROM ${this.runs} ${jobId === undefined ? '' : 'WHERE job_id = $1'} ORDER BY started_at DESC, created DESC`,
      jobId === undefined ? [] : [jobId],
    );
    return rows.map(toRun);
  }

  /** Adds entries as `pending` in one statement and transaction; an existing `seq` is left as it is. */
  async addPending(runId: string, entries: readonly NewJournalEntry[], fence?: Fence): Promise<void> {
    const updatedAt = this.now().toISOString();
    const rows = entries.map((entry) => ({
      seq: entry.seq,
      local_key: entry.localKey,
      sync_key: entry.syncKey ?? null,
      mode: entry.mode,
      crm_id: entry.crmId ?? null,
      payload: entry.payload,
    }));
    if (rows.length === 0) return this.touchRun(`Adding 0 pending entries to export run "${runId}"`, runId, fence);
    const found = await this.db.guardedWrite(
      `Adding ${entries.length} pending entries to export run "${runId}"`,
      { runTable: this.runs, runId, fence },
      (guard) =>
        `INSERT INTO ${this.entries} (run_id, seq, local_key, sync_key, mode, crm_id, payload, state, attempts, updated_at)
         SELECT $1, x.seq, x.local_key, x.sync_key, x.mode, x.crm_id, x.payload::jsonb, 'pending', 0, $2
         FROM unnest($3::integer[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS x(seq, local_key, sync_key, mode, crm_id, payload)
         WHERE ${guard}
         ON CONFLICT (run_id, seq) DO NOTHING`,
      [
        runId,
        updatedAt,
        rows.map((row) => row.seq),
        rows.map((row) => row.local_key),
        rows.map((row) => row.sync_key),
        rows.map((row) => row.mode),
        rows.map((row) => row.crm_id),
        rows.map((row) => JSON.stringify(row.payload)),
      ],
    );
    if (!found.runFound) throw runNotFound(runId);
  }

  /** Marks entries `sent` in `batchId` and counts an attempt, in one statement and transaction. */
  async markSent(runId: string, seqs: readonly number[], batchId: string, fence?: Fence): Promise<void> {
    const updatedAt = this.now().toISOString();
    if (seqs.length === 0) return this.touchRun(`Marking 0 entries of export run "${runId}" as sent`, runId, fence);
    return this.coalesced('sent', runId, fence, `Marking ${seqs.length} entries of export run "${runId}" as sent`, { kind: 'sent', seqs, batchId, updatedAt });
  }

  /** Records outcomes in one statement and transaction. A `crmId` in an outcome replaces the known one. */
  async recordOutcomes(runId: string, outcomes: readonly JournalOutcome[], fence?: Fence): Promise<void> {
    const updatedAt = this.now().toISOString();
    if (outcomes.length === 0) return this.touchRun(`Recording 0 outcomes of export run "${runId}"`, runId, fence);
    return this.coalesced('outcomes', runId, fence, `Recording ${outcomes.length} outcomes of export run "${runId}"`, { kind: 'outcomes', outcomes, updatedAt });
  }

  /**
   * Queues a batch step for the next group write: the steps of one kind, run and fence issued in
   * one turn of the event loop (the send loop's concurrent batches) go to the server as ONE
   * statement, applied in the order they were issued, instead of one statement, round trip and
   * commit each. Every step's promise settles with that statement: each resolves only once it is
   * committed, and a failure (stale fence, lost connection) rejects them all with nothing of any
   * written, as it would have rejected each. Only on the store's own pool: on a client shared with
   * the application a deferred step could land inside a transaction the application opened after
   * it was issued, so there each step is written at once.
   */
  private coalesced(kind: StepGroup['kind'], runId: string, fence: Fence | undefined, operation: string, step: QueuedStep): Promise<void> {
    const group = this.takeGroup(kind, runId, fence);
    return new Promise<void>((resolve, reject) => {
      group.steps.push(step);
      group.operations.push(operation);
      group.waiters.push({ resolve, reject });
      if (this.db.connection.kind !== 'pool') this.writeGroup(this.releaseGroup(group));
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flushGroups());
      }
    });
  }

  private takeGroup(kind: StepGroup['kind'], runId: string, fence: Fence | undefined): StepGroup {
    const key = `${kind}\u0000${runId}\u0000${fence === undefined ? '' : `${fence.key}\u0000${fence.token}`}`;
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { key, kind, runId, fence, steps: [], operations: [], waiters: [] };
      this.groups.set(key, group);
    }
    return group;
  }

  private releaseGroup(group: StepGroup): StepGroup {
    this.groups.delete(group.key);
    return group;
  }

  private flushGroups(): void {
    this.flushScheduled = false;
    const groups = [...this.groups.values()];
    this.groups.clear();
    for (const group of groups) this.writeGroup(group);
  }

  /** Writes one group as one statement and settles its steps' promises. */
  private writeGroup(group: StepGroup): void {
    const operation = group.operations.length === 1 ? group.operations[0]! : `${group.operations[0]!} (and ${group.operations.length - 1} more steps written with it)`;
    const written = group.kind === 'sent' ? this.writeSent(group, operation) : this.writeOutcomes(group, operation);
    written.then(
      () => {
        for (const waiter of group.waiters) waiter.resolve();
      },
      (error: unknown) => {
        for (const waiter of group.waiters) waiter.reject(error);
      },
    );
  }

  private async writeSent(group: StepGroup, operation: string): Promise<void> {
    // Per seq: how often it was listed (each listing counts an attempt, as one update per seq
    // would) and the batch and time of the last step that listed it.
    const bySeq = new Map<number, { n: number; batchId: string; updatedAt: string }>();
    for (const step of group.steps) {
      if (step.kind !== 'sent') continue;
      for (const seq of step.seqs) {
        const earlier = bySeq.get(seq);
        bySeq.set(seq, { n: (earlier?.n ?? 0) + 1, batchId: step.batchId, updatedAt: step.updatedAt });
      }
    }
    const rows = [...bySeq];
    const found = await this.db.guardedWrite(
      operation,
      { runTable: this.runs, runId: group.runId, fence: group.fence },
      (guard) =>
        `UPDATE ${this.entries} e SET state = 'sent', batch_id = s.batch_id, attempts = e.attempts + s.n, updated_at = s.updated_at
         FROM unnest($1::integer[], $2::integer[], $3::text[], $4::text[]) AS s(seq, n, batch_id, updated_at)
         WHERE e.run_id = $5 AND e.seq = s.seq AND ${guard}`,
      [rows.map(([seq]) => seq), rows.map(([, row]) => row.n), rows.map(([, row]) => row.batchId), rows.map(([, row]) => row.updatedAt), group.runId],
    );
    if (!found.runFound) throw runNotFound(group.runId);
  }

  private async writeOutcomes(group: StepGroup, operation: string): Promise<void> {
    // One row per seq, the last outcome winning, as sequential updates would leave it... except that
    // COALESCE keeps an earlier crm id when the last outcome carries none.
    // `forget`: some outcome of the group committed it, so its values go even if a later one sent it back.
    const bySeq = new Map<number, { state: string; crm_id: string | null; action: string | null; reject: string | null; updated_at: string; forget: boolean }>();
    for (const step of group.steps) {
      if (step.kind !== 'outcomes') continue;
      for (const outcome of step.outcomes) {
        const earlier = bySeq.get(outcome.seq);
        bySeq.set(outcome.seq, {
          state: outcome.state,
          crm_id: outcome.crmId ?? earlier?.crm_id ?? null,
          action: outcome.action ?? null,
          reject: outcome.reject === undefined ? null : JSON.stringify(outcome.reject),
          updated_at: step.updatedAt,
          forget: outcome.state === 'committed' || earlier?.forget === true,
        });
      }
    }
    const rows = [...bySeq];
    const found = await this.db.guardedWrite(
      operation,
      { runTable: this.runs, runId: group.runId, fence: group.fence },
      (guard) =>
        `UPDATE ${this.entries} e SET state = x.state, crm_id = COALESCE(x.crm_id, e.crm_id), action = x.action, reject = x.reject::jsonb, updated_at = x.updated_at,
           payload = CASE WHEN x.forget THEN '{}'::jsonb ELSE e.payload END
         FROM unnest($1::integer[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[]) AS x(seq, state, crm_id, action, reject, updated_at, forget)
         WHERE e.run_id = $8 AND e.seq = x.seq AND ${guard}`,
      [
        rows.map(([seq]) => seq),
        rows.map(([, row]) => row.state),
        rows.map(([, row]) => row.crm_id),
        rows.map(([, row]) => row.action),
        rows.map(([, row]) => row.reject),
        rows.map(([, row]) => row.updated_at),
        rows.map(([, row]) => row.forget),
        group.runId,
      ],
    );
    if (!found.runFound) throw runNotFound(group.runId);
  }

  /** Entries in `seq` order, optionally only some states, paged by `afterSeq` + `limit`. */
  async listEntries(
    runId: string,
    options: { readonly states?: readonly JournalState[]; readonly afterSeq?: number; readonly limit?: number } = {},
  ): Promise<readonly JournalEntry[]> {
    const states = options.states;
    if (states !== undefined && states.length === 0) return [];
    const where = ['run_id = $1'];
    const params: unknown[] = [runId];
    if (options.afterSeq !== undefined) {
      params.push(options.afterSeq);
      where.push(`seq > $${params.length}`);
    }
    if (states !== undefined) {
      params.push(states);
      where.push(`state = ANY($${params.length}::text[])`);
    }
    let sql = `SELECT run_id, seq, local_key, sync_key, mode, crm_id, payload, state, action, reject, batch_id, attempts, updated_at FROM ${this.entries} WHERE ${where.join(' AND ')} ORDER BY seq`;
    if (options.limit !== undefined) {
      if (!Number.isInteger(options.limit) || options.limit < 0) {
        throw new PostgresStoreError('invalid-argument', `listEntries: limit must be a whole number >= 0, got ${options.limit}.`);
      }
      params.push(options.limit);
      sql += ` LIMIT $${params.length}`;
    }
    const rows = await this.db.query<EntryRow>(`Listing entries of export run "${runId}"`, sql, params, { prepared: true });
    return rows.map(toEntry);
  }

  /** Counts of entries per state; every state is present, zero when none. */
  async countByState(runId: string): Promise<Readonly<Record<JournalState, number>>> {
    const counts = Object.fromEntries(JOURNAL_STATES.map((state) => [state, 0])) as Record<JournalState, number>;
    const rows = await this.db.query<{ state: JournalState; n: number }>(
      `Counting entries of export run "${runId}"`,
      `SELECT state, count(*)::integer AS n FROM ${this.entries} WHERE run_id = $1 GROUP BY state`,
      [runId],
    );
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  /** Closes a run as `finished` or `failed`; it is kept for inspection. */
  async closeRun(runId: string, status: 'finished' | 'failed', summary?: Readonly<Record<string, unknown>>, fence?: Fence): Promise<void> {
    const finishedAt = this.now().toISOString();
    const cutoff = journalPruneCutoff(this.now(), this.retention);
    await this.db.transaction(
      `Closing export run "${runId}"`,
      async (client) => {
        await this.requireRun(client, runId);
        await client.query(`UPDATE ${this.runs} SET status = $1, finished_at = $2, summary = $3 WHERE run_id = $4`, [
          status,
          finishedAt,
          summary === undefined ? null : JSON.stringify(summary),
          runId,
        ]);
        await client.query(`UPDATE ${this.entries} SET payload = '{}'::jsonb WHERE run_id = $1 AND state IN ('committed', 'rejected') AND payload <> '{}'::jsonb`, [runId]);
        if (cutoff !== undefined) await this.prune(client, cutoff, false);
      },
      fence,
    );
  }

  /** See {@link ExportJournal.pruneRuns}: one transaction. */
  async pruneRuns(options: JournalPruneOptions): Promise<JournalPruneResult> {
    if (Number.isNaN(Date.parse(options.finishedBefore))) {
      throw new PostgresStoreError('invalid-argument', `pruneRuns: finishedBefore must be an ISO-8601 instant, got ${JSON.stringify(options.finishedBefore)}.`);
    }
    const finishedBefore = new Date(options.finishedBefore).toISOString();
    return this.db.transaction(`Pruning export runs that finished before ${finishedBefore}`, (client) => this.prune(client, finishedBefore, options.dryRun === true));
  }

  /** Inside a transaction: deletes the closed runs that finished before `finishedBefore`, unless in doubt. */
  private async prune(client: PoolClient, finishedBefore: string, dryRun: boolean): Promise<JournalPruneResult> {
    // finished_at is ISO-8601 UTC text from toISOString: text order is time order. FOR UPDATE:
    // a concurrent prune waits instead of counting runs this one deletes.
    const rows = (
      await client.query<{ run_id: string; in_doubt: boolean; entries: number }>(
        `SELECT r.run_id,
           EXISTS (SELECT 1 FROM ${this.entries} e WHERE e.run_id = r.run_id AND e.state IN ('sent', 'unknown')) AS in_doubt,
           (SELECT count(*)::integer FROM ${this.entries} e WHERE e.run_id = r.run_id) AS entries
         FROM ${this.runs} r WHERE r.status <> 'open' AND r.finished_at < $1 ORDER BY r.finished_at, r.created FOR UPDATE OF r`,
        [finishedBefore],
      )
    ).rows;
    const runIds = rows.filter((row) => !row.in_doubt).map((row) => row.run_id);
    const keptInDoubt = rows.filter((row) => row.in_doubt).map((row) => row.run_id);
    const entries = rows.filter((row) => !row.in_doubt).reduce((sum, row) => sum + row.entries, 0);
    if (!dryRun && runIds.length > 0) {
      await client.query(`DELETE FROM ${this.entries} WHERE run_id = ANY($1::text[])`, [runIds]);
      await client.query(`DELETE FROM ${this.runs} WHERE run_id = ANY($1::text[]) AND status <> 'open'`, [runIds]);
    }
    return { runIds, entries, keptInDoubt };
  }

  private async requireRun(client: PoolClient, runId: string): Promise<void> {
    const found = await client.query(`SELECT 1 FROM ${this.runs} WHERE run_id = $1`, [runId]);
    if (found.rowCount === 0) throw runNotFound(runId);
  }

  /** An empty batch: writes nothing, but still refuses an unknown run and a stale fence. */
  private async touchRun(operation: string, runId: string, fence: Fence | undefined): Promise<void> {
    await this.db.transaction(operation, (client) => this.requireRun(client, runId), fence);
  }
}

/** A batch step waiting for its group write. */
type QueuedStep =
  | { readonly kind: 'sent'; readonly seqs: readonly number[]; readonly batchId: string; readonly updatedAt: string }
  | { readonly kind: 'outcomes'; readonly outcomes: readonly JournalOutcome[]; readonly updatedAt: string };

/** The steps of one kind, run and fence written together. */
interface StepGroup {
  readonly key: string;
  readonly kind: QueuedStep['kind'];
  readonly runId: string;
  readonly fence: Fence | undefined;
  readonly steps: QueuedStep[];
  readonly operations: string[];
  readonly waiters: { readonly resolve: () => void; readonly reject: (error: unknown) => void }[];
}

function runNotFound(runId: string): PostgresStoreError {
  return new PostgresStoreError('run-not-found', `No export run "${runId}" in this store. List runs with journal.listRuns() (CLI: crm-sync journal list).`);
}

function runConflict(jobId: string, open: { readonly run_id: string; readonly started_at: string }): PostgresStoreError {
  return new PostgresStoreError(
    'run-conflict',
    `Job "${jobId}" already has an open export run "${open.run_id}" (started ${open.started_at}). ` +
      'Resume it, or close it as failed before starting a new one.',
  );
}

/** A run id that sorts by start time and reads well in the CLI, e.g. `20261125T202600123Z-9f3a1c`. */
function newRunId(startedAt: string): string {
  return `${startedAt.replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}

function toRun(row: RunRow): JournalRun {
  return {
    runId: row.run_id,
    jobId: row.job_id,
    status: row.status,
    startedAt: row.started_at,
    ...(row.finished_at === null ? {} : { finishedAt: row.finished_at }),
    ...(row.summary === null ? {} : { summary: row.summary }),
  };
}

function toEntry(row: EntryRow): JournalEntry {
  return {
    runId: row.run_id,
    seq: row.seq,
    localKey: row.local_key,
    ...(row.sync_key === null ? {} : { syncKey: row.sync_key }),
    mode: row.mode,
    ...(row.crm_id === null ? {} : { crmId: row.crm_id }),
    payload: row.payload,
    state: row.state,
    ...(row.action === null ? {} : { action: row.action }),
    ...(row.reject === null ? {} : { reject: row.reject }),
    ...(row.batch_id === null ? {} : { batchId: row.batch_id }),
    attempts: row.attempts,
    updatedAt: row.updated_at,
  };
}
