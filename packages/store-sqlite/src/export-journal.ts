/**
 * The durable export journal in `journal_runs` and `journal_chunks` (entries kept by chunk of up
 * to 200, see `journalChunks` of @crm-sync/sdk: a batch step of 200 records rewrites one row, not 200). Every
 * call is all or nothing across a kill -9: each runs in a transaction, and a batch step
 * (`addPending`, `markSent`, `recordOutcomes`) in a savepoint of a transaction it may share with
 * the other steps issued in the same turn of the event loop (group commit, see
 * {@link SqliteExportJournal.flush}): a step resolves only once that transaction is committed.
 * Inside a step: the chunk rows it touches are read, changed here and written back. A call given a
 * fence checks it first, inside its own savepoint: a stale token rejects with `StaleFenceError` and
 * writes nothing.
 *
 * `markSent` writes no chunk: it inserts the batch's sent mark as a row of
 * `crm_sync_journal_marks`, durable in the same step as before, and the next step that writes one
 * of the chunks the mark touches (the batch's outcomes, as a rule) folds it into all of them and
 * deletes it, in the same transaction. Readers (`listEntries`, `countByState`) fold the marks still
 * there over the chunks they read, so every call sees what it saw when the mark rewrote the chunk;
 * closing a run folds what is left. A mark costs one small insert where the chunk rewrite cost a
 * read, a parse and a write of the whole chunk row (its payloads included).
 *
 * The payloads hold the remote values sent to the CRM. The store cannot tell a credential from a
 * field value, so a job must never map a credential as a field. The values of an entry are deleted
 * once it is settled: in the step that commits it (a committed entry is never sent again; the
 * chunk's payloads are rewritten without them, or emptied without being read when no entry of the
 * chunk keeps any), or when its run closes for a rejected one (an open run may resend it with
 * `resendRejected`). Closed runs go after the retention (`journalRetentionDays`).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import {
  journalPruneCutoff,
  type ExportJournal,
  type Fence,
  type JournalEntry,
  type JournalOutcome,
  type JournalPruneOptions,
  type JournalPruneResult,
  type JournalRetention,
  type JournalRun,
  type JournalState,
  type NewJournalEntry,
  StaleFenceError,
  journalChunks,
} from '@crm-sync/sdk';
import { SqliteStoreError, toStoreError } from './errors.js';
import { fromJsonColumn, toJsonColumn } from './json-column.js';
import type { SqliteLeaseStore } from './lease-store.js';

// The chunk layout is shared with the other database store (see `journalChunks` of @crm-sync/sdk).
const { allPayloadsDropped, applyOutcomes, applySent, CHUNK_ENTRIES, collectEntries, dropSettledPayloads, JOURNAL_STATES, keptPayloads, newChunks, parsePayloads, parseStates, stateCounts, stringifyStates } = journalChunks;
type ChunkStates = journalChunks.ChunkStates;

interface RunRow {
  readonly run_id: string;
  readonly job_id: string;
  readonly status: JournalRun['status'];
  readonly started_at: string;
  readonly finished_at: string | null;
  readonly summary: string | null;
}

/** A chunk row as read for a step or a listing (the JSON columns as text). */
interface ChunkRow {
  readonly first_seq: number;
  readonly last_seq: number;
  readonly entries: string;
  readonly states: string;
  readonly payloads: string;
}

/** A sent mark not yet folded into its chunks (a row of `crm_sync_journal_marks`). */
interface MarkRow {
  readonly id: number;
  readonly first_seq: number;
  readonly last_seq: number;
  readonly batch_id: string;
  readonly updated_at: string;
  readonly seqs: string;
}

/** A mark as folded: its seqs parsed once. */
interface Mark {
  readonly id: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly batchId: string;
  readonly updatedAt: string;
  readonly seqs: readonly number[];
}

/** A chunk read by a step, with what the step did to it. */
interface LoadedChunk {
  readonly firstSeq: number;
  readonly states: ChunkStates;
  changed: boolean;
  dropped: boolean;
}

const RUN_COLUMNS = 'run_id, job_id, status, started_at, finished_at, summary';
/** At most this many chunk rows read per statement by `listEntries`. */
const CHUNKS_PER_READ = 16;

/** {@link ExportJournal} over the journal tables of a SQLite store. */
export class SqliteExportJournal implements ExportJournal {
  private readonly selectOpenRun: Statement<[string], RunRow>;
  private readonly selectRun: Statement<[string], RunRow>;
  private readonly selectRuns: Statement<[], RunRow>;
  private readonly selectRunsOfJob: Statement<[string], RunRow>;
  private readonly insertRun: Statement<[string, string, string]>;
  private readonly updateRunClosed: Statement<[string, string, string | null, string]>;
  private readonly selectChunksInRange: Statement<[string, number, number], Pick<ChunkRow, 'first_seq' | 'last_seq' | 'states'>>;
  private readonly insertMark: Statement<[string, number, number, string, string, string]>;
  private readonly selectMarksInRange: Statement<[string, number, number], MarkRow>;
  private readonly selectMarksOfRun: Statement<[string], MarkRow>;
  private readonly deleteMark: Statement<[number]>;
  private readonly deleteRunMarks: Statement<[string]>;
  private readonly selectChunkPayloads: Statement<[string, number], Pick<ChunkRow, 'payloads'>>;
  private readonly selectChunksAfter: Statement<[string, number, number, number], ChunkRow>;
  private readonly selectSettledChunks: Statement<[string], ChunkRow>;
  private readonly insertChunk: Statement<[string, number, number, string, string, string, number]>;
  private readonly updateChunk: Statement<[string, string | null, number, number, number, number, number, string, number]>;
  private readonly selectPrunable: Statement<[string], { readonly run_id: string; readonly in_doubt: number; readonly entries: number }>;
  private readonly deleteRunChunks: Statement<[string]>;
  private readonly deleteRun: Statement<[string]>;
  private readonly countStates: Statement<[string], Record<JournalState, number | null>>;
  /** Batch steps waiting for the next group commit (see {@link SqliteExportJournal.flush}). */
  private queued: QueuedStep[] = [];
  private flushScheduled = false;

  /**
   * Prepares every statement once; `now` stamps `updated_at`, `started_at` and `finished_at`;
   * `leases` checks the fence of a fenced write inside its transaction; closing a run prunes the
   * closed runs older than `retention`.
   */
  constructor(
    private readonly db: Database,
    private readonly now: () => Date,
    private readonly leases: SqliteLeaseStore,
    private readonly retention: JournalRetention,
    /**
     * Commit the batch steps issued in one turn of the event loop together (see
     * {@link SqliteExportJournal.flush}). Off on a connection shared with the application, whose
     * own open transaction a deferred step must never join.
     */
    private readonly groupCommit = false,
  ) {
    journalPruneCutoff(new Date(0), retention);
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
    this.selectChunksInRange = db.prepare(
      'SELECT first_seq, last_seq, states FROM journal_chunks WHERE run_id = ? AND first_seq <= ? AND last_seq >= ? ORDER BY first_seq',
    );
    this.insertMark = db.prepare('INSERT INTO crm_sync_journal_marks (run_id, first_seq, last_seq, batch_id, updated_at, seqs) VALUES (?, ?, ?, ?, ?, ?)');
    const markColumns = 'id, first_seq, last_seq, batch_id, updated_at, seqs';
    // In id order: the order the marks were made in, which is the order they are folded in.
    this.selectMarksInRange = db.prepare(`SELECT ${markColumns} FROM crm_sync_journal_marks WHERE run_id = ? AND first_seq <= ? AND last_seq >= ? ORDER BY id`);
    this.selectMarksOfRun = db.prepare(`SELECT ${markColumns} FROM crm_sync_journal_marks WHERE run_id = ? ORDER BY id`);
    this.deleteMark = db.prepare('DELETE FROM crm_sync_journal_marks WHERE id = ?');
    this.deleteRunMarks = db.prepare('DELETE FROM crm_sync_journal_marks WHERE run_id = ?');
    this.selectChunkPayloads = db.prepare('SELECT payloads FROM journal_chunks WHERE run_id = ? AND first_seq = ?');
    this.selectChunksAfter = db.prepare(
      'SELECT first_seq, last_seq, entries, states, payloads FROM journal_chunks WHERE run_id = ? AND last_seq > ? AND first_seq > ? ORDER BY first_seq LIMIT ?',
    );
    this.selectSettledChunks = db.prepare(
      `SELECT first_seq, last_seq, entries, states, payloads FROM journal_chunks WHERE run_id = ? AND payloads <> '{}' AND committed + rejected > 0 ORDER BY first_seq`,
    );
    this.insertChunk = db.prepare(
      `INSERT INTO journal_chunks (run_id, first_seq, last_seq, entries, states, payloads, pending, sent, committed, rejected, unknown)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0)`,
    );
    this.updateChunk = db.prepare(
      `UPDATE journal_chunks SET states = ?, payloads = COALESCE(?, payloads), pending = ?, sent = ?, committed = ?, rejected = ?, unknown = ?
       WHERE run_id = ? AND first_seq = ?`,
    );
    this.selectPrunable = db.prepare(
      `SELECT r.run_id,
         (EXISTS (SELECT 1 FROM journal_chunks c WHERE c.run_id = r.run_id AND c.sent + c.unknown > 0)
           OR EXISTS (SELECT 1 FROM crm_sync_journal_marks m WHERE m.run_id = r.run_id)) AS in_doubt,
         (SELECT COALESCE(sum(pending + sent + committed + rejected + unknown), 0) FROM journal_chunks c WHERE c.run_id = r.run_id) AS entries
       FROM journal_runs r WHERE r.status <> 'open' AND r.finished_at < ? ORDER BY r.finished_at, r.rowid`,
    );
    this.deleteRunChunks = db.prepare('DELETE FROM journal_chunks WHERE run_id = ?');
    this.deleteRun = db.prepare(`DELETE FROM journal_runs WHERE run_id = ? AND status <> 'open'`);
    this.countStates = db.prepare(
      `SELECT ${JOURNAL_STATES.map((state) => `sum(${state}) AS ${state}`).join(', ')} FROM journal_chunks WHERE run_id = ?`,
    );
  }

  /** The job's open run, if an interrupted export left one. */
  async findOpenRun(jobId: string): Promise<JournalRun | undefined> {
    try {
      this.flush();
      const row = this.selectOpenRun.get(jobId);
      return row === undefined ? undefined : toRun(row);
    } catch (error) {
      throw toStoreError(error, `Finding the open export run of job "${jobId}"`);
    }
  }

  /** Starts a new run; rejects with code `run-conflict` when the job already has an open one. */
  async startRun(jobId: string, fence?: Fence): Promise<JournalRun> {
    try {
      this.flush();
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
      this.flush();
      const row = this.selectRun.get(runId);
      return row === undefined ? undefined : toRun(row);
    } catch (error) {
      throw toStoreError(error, `Reading export run "${runId}"`);
    }
  }

  /** Runs, newest first; all jobs when `jobId` is omitted. */
  async listRuns(jobId?: string): Promise<readonly JournalRun[]> {
    try {
      this.flush();
      const rows = jobId === undefined ? this.selectRuns.all() : this.selectRunsOfJob.all(jobId);
      return rows.map(toRun);
    } catch (error) {
      throw toStoreError(error, 'Listing export runs');
    }
  }

  /**
   * Adds entries as `pending` in one transaction, as chunk rows of up to 200 entries; a `seq` the
   * run holds is left as it is (of a seq repeated in the call, the first wins).
   */
  async addPending(runId: string, entries: readonly NewJournalEntry[], fence?: Fence): Promise<void> {
    const operation = `Adding ${entries.length} pending entries to export run "${runId}"`;
    let updatedAt: string;
    try {
      updatedAt = this.now().toISOString();
    } catch (error) {
      throw toStoreError(error, operation);
    }
    return this.step(operation, () => {
      this.leases.check(fence);
      this.requireRun(runId);
      if (entries.length === 0) return;
      const [low, high] = seqRange(entries.map((entry) => entry.seq));
      const held = new Set<number>();
      for (const row of this.selectChunksInRange.all(runId, high, low)) {
        for (const seq of parseStates(row.states).s) held.add(seq);
      }
      const fresh = entries.filter((entry) => !held.has(entry.seq) && held.add(entry.seq) !== undefined);
      // A mark made before these seqs were in the run ignored them: it is folded before they come
      // in, so that no reader folds it over them later.
      if (fresh.length > 0) this.foldMarks(runId, [low, high]);
      for (const chunk of newChunks(fresh, updatedAt)) this.insertChunk.run(runId, chunk.firstSeq, chunk.lastSeq, chunk.entries, chunk.states, chunk.payloads, chunk.count);
    });
  }

  /**
   * Marks entries `sent` in `batchId` and counts an attempt, in one transaction: the mark is a row
   * of its own, folded into the chunks by the next step that writes them (see the module's notes).
   */
  async markSent(runId: string, seqs: readonly number[], batchId: string, fence?: Fence): Promise<void> {
    const operation = `Marking ${seqs.length} entries of export run "${runId}" as sent`;
    let updatedAt: string;
    try {
      updatedAt = this.now().toISOString();
    } catch (error) {
      throw toStoreError(error, operation);
    }
    return this.step(operation, () => {
      this.leases.check(fence);
      this.requireRun(runId);
      if (seqs.length === 0) return;
      const [low, high] = seqRange(seqs);
      this.insertMark.run(runId, low, high, batchId, updatedAt, JSON.stringify(seqs));
    });
  }

  /** Records outcomes in one transaction. A `crmId` in an outcome replaces the known one. */
  async recordOutcomes(runId: string, outcomes: readonly JournalOutcome[], fence?: Fence): Promise<void> {
    const operation = `Recording ${outcomes.length} outcomes of export run "${runId}"`;
    let updatedAt: string;
    try {
      updatedAt = this.now().toISOString();
    } catch (error) {
      throw toStoreError(error, operation);
    }
    return this.step(operation, () => {
      this.leases.check(fence);
      this.requireRun(runId);
      this.changeChunks(
        runId,
        outcomes.map((outcome) => outcome.seq),
        (states) => applyOutcomes(states, outcomes, updatedAt),
      );
    });
  }

  /**
   * Inside a step: reads the chunks the seqs fall in, folds into them the sent marks that touch
   * them (see {@link SqliteExportJournal.loadChunks}), applies `change` to each, and writes back
   * those that changed, with their counts; payloads rewritten without those dropped (emptied
   * without being parsed when the chunk keeps none). The folded marks are deleted.
   */
  private changeChunks(runId: string, seqs: readonly number[], change: (states: ChunkStates) => { readonly changed: boolean; readonly dropped: boolean }): void {
    if (seqs.length === 0) return;
    const [low, high] = seqRange(seqs);
    const { chunks, marks } = this.loadChunks(runId, low, high);
    for (const chunk of chunks) {
      const { changed, dropped } = change(chunk.states);
      chunk.changed ||= changed;
      chunk.dropped ||= dropped;
    }
    this.writeLoaded(runId, chunks, marks);
  }

  /**
   * Inside a step: the chunks holding seqs from `low` to `high`, parsed, with every sent mark that
   * touches one of them folded in (in the order the marks were made), and the chunks those marks
   * touch as well, until no mark reaches a chunk not read: a mark is folded whole or not at all.
   */
  private loadChunks(runId: string, low: number, high: number): { readonly chunks: LoadedChunk[]; readonly marks: Mark[] } {
    const chunks = new Map<number, LoadedChunk>();
    const marks = new Map<number, Mark>();
    const ranges: [number, number][] = [[low, high]];
    for (let range = ranges.pop(); range !== undefined; range = ranges.pop()) {
      for (const row of this.selectChunksInRange.all(runId, range[1], range[0])) {
        if (chunks.has(row.first_seq)) continue;
        chunks.set(row.first_seq, { firstSeq: row.first_seq, states: parseStates(row.states), changed: false, dropped: false });
        for (const mark of this.selectMarksInRange.all(runId, row.last_seq, row.first_seq)) {
          if (marks.has(mark.id)) continue;
          marks.set(mark.id, toMark(mark));
          ranges.push([mark.first_seq, mark.last_seq]);
        }
      }
    }
    const ordered = [...marks.values()].sort((a, b) => a.id - b.id);
    const loaded = [...chunks.values()];
    for (const mark of ordered) {
      for (const chunk of loaded) {
        if (applySent(chunk.states, mark.seqs, mark.batchId, mark.updatedAt)) chunk.changed = true;
      }
    }
    return { chunks: loaded, marks: ordered };
  }

  /** Inside a step: writes the loaded chunks that changed and deletes the marks folded into them. */
  private writeLoaded(runId: string, chunks: readonly LoadedChunk[], marks: readonly Mark[]): void {
    for (const chunk of chunks) {
      if (!chunk.changed) continue;
      const { states } = chunk;
      const payloads = !chunk.dropped ? null : allPayloadsDropped(states) ? '{}' : JSON.stringify(keptPayloads(states, parsePayloads(this.selectChunkPayloads.get(runId, chunk.firstSeq)!.payloads)));
      this.writeChunk(runId, chunk.firstSeq, states, payloads);
    }
    for (const mark of marks) this.deleteMark.run(mark.id);
  }

  /**
   * Inside a transaction: folds into their chunks the sent marks of the run whose range meets
   * `low`..`high` (all of them without a range: closing a run leaves none).
   */
  private foldMarks(runId: string, range?: readonly [number, number]): void {
    const next = (): MarkRow | undefined => (range === undefined ? this.selectMarksOfRun.get(runId) : this.selectMarksInRange.get(runId, range[1], range[0]));
    for (let mark = next(); mark !== undefined; mark = next()) {
      const { chunks, marks } = this.loadChunks(runId, mark.first_seq, mark.last_seq);
      this.writeLoaded(runId, chunks, marks);
      // A mark whose seqs the run holds in no chunk folds into nothing: it changes nothing.
      this.deleteMark.run(mark.id);
    }
  }

  private writeChunk(runId: string, firstSeq: number, states: ChunkStates, payloads: string | null): void {
    const [pending, sent, committed, rejected, unknown] = stateCounts(states) as [number, number, number, number, number];
    this.updateChunk.run(stringifyStates(states), payloads, pending, sent, committed, rejected, unknown, runId, firstSeq);
  }

  /**
   * Commits the batch steps waiting for it, all in ONE transaction, each step in a savepoint of
   * its own: a step whose fence is stale (or whose run is gone) is rolled back alone and rejects;
   * the others commit. Each step's promise settles only after that commit, so a step resolves
   * only once it is durable, exactly as with a transaction per step; a kill before the commit
   * leaves none of them, and none had resolved. Batch steps issued in one turn of the event loop
   * (the send loop's concurrent batches marking themselves sent, or recording their outcomes)
   * share one commit and its fsync instead of paying one each. Every other call of the journal
   * flushes first, so it sees every step issued before it. Called by the store before it closes.
   */
  flush(): void {
    this.flushScheduled = false;
    const steps = this.queued;
    if (steps.length === 0) return;
    this.queued = [];
    const failures = new Map<QueuedStep, unknown>();
    try {
      this.db
        .transaction(() => {
          for (const step of steps) {
            try {
              // Nested: better-sqlite3 runs it as a savepoint, rolled back alone when it throws.
              this.db.transaction(step.body)();
            } catch (error) {
              // A refusal of this step only (stale fence, unknown run) spares the others; a
              // database error (I/O, disk full, busy) fails the whole group, none committed.
              if (!isStepRefusal(error)) throw error;
              failures.set(step, error);
            }
          }
        })
        .immediate();
    } catch (error) {
      for (const step of steps) step.reject(toStoreError(error, step.operation));
      return;
    }
    for (const step of steps) {
      const failure = failures.get(step);
      if (failure === undefined) step.resolve();
      else step.reject(toStoreError(failure, step.operation));
    }
  }

  /** Runs a batch step: now, in a transaction of its own, or queued for the next group commit. */
  private step(operation: string, body: () => void): Promise<void> {
    if (!this.groupCommit) {
      try {
        this.db.transaction(body).immediate();
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(toStoreError(error, operation));
      }
    }
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ operation, body, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Entries in `seq` order, optionally only some states, paged by `afterSeq` + `limit`. Reads the
   * chunks after `afterSeq` in `first_seq` order until the page is full and no chunk still to read
   * can hold an entry before its last one (a chunk's seq range may overlap a later chunk's when
   * entries were added out of order).
   */
  async listEntries(
    runId: string,
    options: { readonly states?: readonly JournalState[]; readonly afterSeq?: number; readonly limit?: number } = {},
  ): Promise<readonly JournalEntry[]> {
    try {
      this.flush();
      const states = options.states === undefined ? undefined : new Set(options.states);
      if (states !== undefined && states.size === 0) return [];
      const limit = options.limit;
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
        throw new SqliteStoreError('invalid-argument', `listEntries: limit must be a whole number >= 0, got ${limit}.`);
      }
      if (limit === 0) return [];
      const afterSeq = options.afterSeq ?? -1;
      const marks = this.selectMarksOfRun.all(runId).map(toMark);
      const perRead = limit === undefined ? CHUNKS_PER_READ : Math.min(CHUNKS_PER_READ, Math.ceil(limit / CHUNK_ENTRIES) + 1);
      const found: JournalEntry[] = [];
      for (let afterFirst = Number.MIN_SAFE_INTEGER; ; ) {
        const rows = this.selectChunksAfter.all(runId, afterSeq, afterFirst, perRead);
        for (const row of rows) {
          if (limit !== undefined && found.length >= limit) {
            found.sort((a, b) => a.seq - b.seq);
            found.length = limit;
            if (row.first_seq > found[found.length - 1]!.seq) return found;
          }
          collectEntries(runId, marks.length === 0 ? row : withMarks(row, marks), afterSeq, states, found);
        }
        if (rows.length < perRead) break;
        afterFirst = rows[rows.length - 1]!.first_seq;
      }
      found.sort((a, b) => a.seq - b.seq);
      if (limit !== undefined && found.length > limit) found.length = limit;
      return found;
    } catch (error) {
      throw toStoreError(error, `Listing entries of export run "${runId}"`);
    }
  }

  /** Counts of entries per state (from the chunks' count columns); every state is present, zero when none. */
  async countByState(runId: string): Promise<Readonly<Record<JournalState, number>>> {
    try {
      this.flush();
      const row = this.countStates.get(runId);
      const counts = JOURNAL_STATES.map((state) => row?.[state] ?? 0);
      const marks = this.selectMarksOfRun.all(runId).map(toMark);
      if (marks.length > 0) {
        // The chunks the marks touch are counted again with the marks folded in (not written).
        const touched = new Map<number, ChunkStates>();
        for (const mark of marks) {
          for (const chunk of this.selectChunksInRange.all(runId, mark.lastSeq, mark.firstSeq)) {
            if (!touched.has(chunk.first_seq)) touched.set(chunk.first_seq, parseStates(chunk.states));
          }
        }
        for (const states of touched.values()) {
          const before = stateCounts(states);
          for (const mark of marks) applySent(states, mark.seqs, mark.batchId, mark.updatedAt);
          const after = stateCounts(states);
          for (let index = 0; index < counts.length; index += 1) counts[index]! += after[index]! - before[index]!;
        }
      }
      return Object.fromEntries(JOURNAL_STATES.map((state, index) => [state, counts[index]!])) as Record<JournalState, number>;
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
      this.flush();
      const finishedAt = this.now().toISOString();
      const cutoff = journalPruneCutoff(this.now(), this.retention);
      this.db.transaction(() => {
        this.leases.check(fence);
        this.requireRun(runId);
        this.updateRunClosed.run(status, finishedAt, toJsonColumn(summary), runId);
        this.foldMarks(runId);
        for (const row of this.selectSettledChunks.all(runId)) {
          const states = parseStates(row.states);
          if (!dropSettledPayloads(states)) continue;
          this.writeChunk(runId, row.first_seq, states, JSON.stringify(keptPayloads(states, parsePayloads(row.payloads))));
        }
        if (cutoff !== undefined) this.prune(cutoff, false);
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Closing export run "${runId}"`);
    }
  }

  /** See {@link ExportJournal.pruneRuns}: one transaction. */
  async pruneRuns(options: JournalPruneOptions): Promise<JournalPruneResult> {
    try {
      this.flush();
      if (Number.isNaN(Date.parse(options.finishedBefore))) {
        throw new SqliteStoreError('invalid-argument', `pruneRuns: finishedBefore must be an ISO-8601 instant, got ${JSON.stringify(options.finishedBefore)}.`);
      }
      const finishedBefore = new Date(options.finishedBefore).toISOString();
      return this.db.transaction(() => this.prune(finishedBefore, options.dryRun === true)).immediate();
    } catch (error) {
      throw toStoreError(error, `Pruning export runs that finished before ${options.finishedBefore}`);
    }
  }

  /** Inside a transaction: deletes the closed runs that finished before `finishedBefore`, unless in doubt. */
  private prune(finishedBefore: string, dryRun: boolean): JournalPruneResult {
    const runIds: string[] = [];
    const keptInDoubt: string[] = [];
    let entries = 0;
    for (const row of this.selectPrunable.all(finishedBefore)) {
      if (row.in_doubt !== 0) {
        keptInDoubt.push(row.run_id);
        continue;
      }
      runIds.push(row.run_id);
      entries += row.entries;
      if (dryRun) continue;
      this.deleteRunChunks.run(row.run_id);
      this.deleteRunMarks.run(row.run_id);
      this.deleteRun.run(row.run_id);
    }
    return { runIds, entries, keptInDoubt };
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

/** A batch step waiting for the group commit. */
interface QueuedStep {
  readonly operation: string;
  readonly body: () => void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** True for an error that refuses one step and leaves the transaction usable (thrown before any write of it failed). */
function isStepRefusal(error: unknown): boolean {
  return error instanceof StaleFenceError || (error instanceof SqliteStoreError && error.code === 'run-not-found');
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

/** The lowest and highest of some seqs (not spread into Math.min: a call may hold thousands). */
function seqRange(seqs: readonly number[]): readonly [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (const seq of seqs) {
    low = Math.min(low, seq);
    high = Math.max(high, seq);
  }
  return [low, high];
}

function toMark(row: MarkRow): Mark {
  return { id: row.id, firstSeq: row.first_seq, lastSeq: row.last_seq, batchId: row.batch_id, updatedAt: row.updated_at, seqs: JSON.parse(row.seqs) as number[] };
}

/** A chunk row as a reader sees it: the sent marks that touch its range folded into its states (not written). */
function withMarks(row: ChunkRow, marks: readonly Mark[]): ChunkRow {
  let states: ChunkStates | undefined;
  for (const mark of marks) {
    if (mark.firstSeq > row.last_seq || mark.lastSeq < row.first_seq) continue;
    states ??= parseStates(row.states);
    applySent(states, mark.seqs, mark.batchId, mark.updatedAt);
  }
  return states === undefined ? row : { ...row, states: stringifyStates(states) };
}
