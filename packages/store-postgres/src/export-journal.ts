/**
 * The durable export journal in `journal_runs` and `journal_chunks` (entries stored by chunk, see
 * `journalChunks` of @crm-sync/sdk: a batch step of 200 records rewrites one row, not 200). Every method is one
 * transaction, so a kill -9 or a dropped connection leaves each call either fully applied or not
 * at all. The batch steps (`markSent`, `recordOutcomes`) read their chunks `FOR UPDATE`, change
 * them here and write them back in one statement; given a fence, the transaction first checks
 * that its token is current (the lease row locked `FOR SHARE` until the commit) and writes nothing
 * otherwise; a stale token rejects with `StaleFenceError`.
 *
 * A sent mark that is the only step of its group on a chunk the journal knows (see
 * {@link PostgresExportJournal.writeKnown}) is not folded into the chunk's states: it is appended to
 * the row's `marks` column (schema 4), one line per step, which leaves the states, entries and
 * payloads of the row as they are (PostgreSQL keeps the unchanged large values of a new row
 * version where they are). The next step that rewrites the states folds the marks in first, in
 * order, and empties the column; readers (`listEntries`, `countByState`) fold them over what they
 * read, and closing a run folds what is left. A mark is durable before its batch leaves, as before.
 *
 * The payloads hold the remote values sent to the CRM. The store cannot tell a credential from a
 * field value, so a job must never map a credential as a field. An entry's payload is dropped once
 * it is settled: by the step that commits it (a committed entry is never sent again; when that
 * leaves no payload in its chunk, as when a batch is one chunk, the chunk's payloads are emptied
 * without being read), or when its run closes for a rejected one (an open run may resend it with
 * `resendRejected`). Closed runs go after the retention (`journalRetentionDays`).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { PoolClient } from 'pg';
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
  journalChunks,
} from '@crm-sync/sdk';
import { copyFrom, copyJson, copyText, isPipelined } from './copy.js';
import { prepared, type Database } from './database.js';
import { PostgresStoreError } from './errors.js';
import { type KnownChunk, KnownChunks, type WrittenChunk } from './known-chunks.js';

// The chunk layout is shared with the other database store (see `journalChunks` of @crm-sync/sdk).
const { allPayloadsDropped, applyOutcomes, applySent, CHUNK_ENTRIES, collectEntries, dropSettledPayloads, JOURNAL_STATES, keptPayloads, newChunks, parsePayloads, parseStates, stateCounts, stringifyStates } = journalChunks;
type ChunkStates = journalChunks.ChunkStates;

interface RunRow {
  readonly run_id: string;
  readonly job_id: string;
  readonly status: JournalRun['status'];
  readonly started_at: string;
  readonly finished_at: string | null;
  readonly summary: Record<string, unknown> | null;
}

/**
 * One entry inside a chunk's `entries` object, without its payload. Short keys: the object is
 * rewritten by every step on its chunk. Absent keys are absent fields (never null).
 */

/** A chunk row as read for a step or a listing (the JSON columns as text). */
interface ChunkRow {
  readonly first_seq: number;
  readonly last_seq: number;
  readonly entries?: string;
  readonly states: string;
  readonly payloads?: string;
  /** Sent marks not yet folded into `states` (see the module's notes). */
  readonly marks?: string;
}

/** At most this many chunk rows read per query by `listEntries`. */
const CHUNKS_PER_READ = 16;
const RUN_COLUMNS = 'run_id, job_id, status, started_at, finished_at, summary';
const COUNT_COLUMNS = JOURNAL_STATES.join(', ');
/** Chunk rows per INSERT or UPDATE statement (8 parameters each, well under PostgreSQL's 65,535). */
const ROWS_PER_STATEMENT = 1_000;
/** Chunk updates of up to this many rows run as named prepared statements. */
const PREPARED_ROWS = 16;
/** Runs whose chunks a journal keeps (see {@link KnownChunks}): the runs of the jobs one process runs at once. */
const KNOWN_RUNS = 64;
/** The SQLSTATE of the guard of {@link PostgresExportJournal.writeKnown} (division by zero). */
const GUARD_FAILED = '22012';

/** {@link ExportJournal} over the journal tables of a PostgreSQL store. */
export class PostgresExportJournal implements ExportJournal {
  private readonly runs: string;
  private readonly chunks: string;
  /** Batch steps waiting for the next group write, by run and fence. */
  private readonly groups = new Map<string, StepGroup>();
  /** Keys (run and fence) of the groups being written now. */
  private readonly writing = new Set<string>();
  /** The chunk states this journal last wrote, by run (see {@link PostgresExportJournal.writeKnown}). */
  private readonly known = new Map<string, KnownChunks>();
  /** Runs with a group being written from {@link PostgresExportJournal.known}. */
  private readonly writingKnown = new Set<string>();
  private flushScheduled = false;

  /** `now` stamps `updated_at`, `started_at` and `finished_at`; closing a run prunes the closed runs older than `retention`. */
  constructor(
    private readonly db: Database,
    private readonly now: () => Date,
    private readonly retention: JournalRetention,
  ) {
    journalPruneCutoff(new Date(0), retention);
    this.runs = db.table('journal_runs');
    this.chunks = db.table('journal_chunks');
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

  /**
   * Adds entries as `pending` in one transaction, as chunk rows of up to {@link CHUNK_ENTRIES}
   * entries written in one statement; a `seq` the run holds is left as it is (of a seq repeated
   * in the call, the first wins). The run row is locked, so two calls on one run do not both add a seq.
   */
  async addPending(runId: string, entries: readonly NewJournalEntry[], fence?: Fence): Promise<void> {
    const updatedAt = this.now().toISOString();
    const operation = `Adding ${entries.length} pending entries to export run "${runId}"`;
    let created: readonly journalChunks.NewChunk[];
    try {
      created = await this.db.transaction(
        operation,
        async (client): Promise<readonly journalChunks.NewChunk[]> => {
          const run = await client.query(`SELECT 1 FROM ${this.runs} WHERE run_id = $1 FOR UPDATE`, [runId]);
          if (run.rowCount === 0) throw runNotFound(runId);
          if (entries.length === 0) return [];
          const seqs = entries.map((entry) => entry.seq);
          const held = new Set<number>();
          const overlapping = await client.query<ChunkRow>(
            prepared(`SELECT first_seq, last_seq, states FROM ${this.chunks} WHERE run_id = $1 AND first_seq <= $2 AND last_seq >= $3`, [runId, Math.max(...seqs), Math.min(...seqs)]),
          );
          for (const row of overlapping.rows) for (const seq of parseStates(row.states).s) held.add(seq);
          const fresh = entries.filter((entry) => !held.has(entry.seq) && held.add(entry.seq) !== undefined);
          if (fresh.length === 0) return [];
          const made = newChunks(fresh, updatedAt);
          if (!isPipelined(client)) {
            // COPY: the chunk texts go to the server as written, where a parameterised INSERT has the
            // driver copy each (about 1 MB for 5,000 entries) into a message buffer it grows as it goes.
            const lines = made.map(
              (chunk) =>
                `${copyText(runId)}\t${chunk.firstSeq}\t${chunk.lastSeq}\t${copyJson(chunk.entries)}\t${copyJson(chunk.states)}\t${copyJson(chunk.payloads)}\t${chunk.count}\t0\t0\t0\t0\n`,
            );
            await copyFrom(client, `COPY ${this.chunks} (run_id, first_seq, last_seq, entries, states, payloads, ${COUNT_COLUMNS}) FROM STDIN`, Buffer.from(lines.join('')));
            return made;
          }
          // One parameter per JSON text (not text arrays, whose every quote the driver would escape).
          for (const chunks of slices(made, ROWS_PER_STATEMENT)) {
            const params: unknown[] = [runId];
            const rows = chunks.map((chunk) => {
              params.push(chunk.firstSeq, chunk.lastSeq, chunk.entries, chunk.states, chunk.payloads, chunk.count);
              const at = params.length - 6;
              return `($${at + 1}::integer, $${at + 2}::integer, $${at + 3}::text, $${at + 4}::text, $${at + 5}::text, $${at + 6}::integer)`;
            });
            await client.query(
              `INSERT INTO ${this.chunks} (run_id, first_seq, last_seq, entries, states, payloads, ${COUNT_COLUMNS})
               SELECT $1, x.first_seq, x.last_seq, x.entries, x.states, x.payloads, x.n, 0, 0, 0, 0 FROM (VALUES ${rows.join(', ')}) AS x(first_seq, last_seq, entries, states, payloads, n)`,
              params,
            );
          }
          return made;
        },
        fence,
      );
    } catch (error) {
      // Whether it was written is not known: what this journal believed of the run goes.
      this.known.delete(runId);
      throw error;
    }
    this.knownOf(runId)?.add(created);
  }

  /** Marks entries `sent` in `batchId` and counts an attempt, in one transaction. */
  async markSent(runId: string, seqs: readonly number[], batchId: string, fence?: Fence): Promise<void> {
    const updatedAt = this.now().toISOString();
    if (seqs.length === 0) return this.touchRun(`Marking 0 entries of export run "${runId}" as sent`, runId, fence);
    return this.coalesced(runId, fence, `Marking ${seqs.length} entries of export run "${runId}" as sent`, { kind: 'sent', seqs, batchId, updatedAt });
  }

  /** Records outcomes in one transaction. A `crmId` in an outcome replaces the known one. */
  async recordOutcomes(runId: string, outcomes: readonly JournalOutcome[], fence?: Fence): Promise<void> {
    const updatedAt = this.now().toISOString();
    if (outcomes.length === 0) return this.touchRun(`Recording 0 outcomes of export run "${runId}"`, runId, fence);
    return this.coalesced(runId, fence, `Recording ${outcomes.length} outcomes of export run "${runId}"`, { kind: 'outcomes', outcomes, updatedAt });
  }

  /**
   * Queues a batch step for the next group write: the steps (of both kinds) of one run and fence issued in
   * one turn of the event loop (the send loop's concurrent batches) go to the server as ONE
   * transaction, applied in the order they were issued, instead of one transaction and commit
   * each. Every step's promise settles with that transaction: each resolves only once it is
   * committed, and a failure (stale fence, lost connection) rejects them all with nothing of any
   * written, as it would have rejected each. Only on the store's own pool: on a client shared with
   * the application a deferred step could land inside a transaction the application opened after
   * it was issued, so there each step is written at once.
   */
  private coalesced(runId: string, fence: Fence | undefined, operation: string, step: QueuedStep): Promise<void> {
    const group = this.takeGroup(runId, fence);
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

  private takeGroup(runId: string, fence: Fence | undefined): StepGroup {
    const key = `${runId}\u0000${fence === undefined ? '' : `${fence.key}\u0000${fence.token}`}`;
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { key, runId, fence, steps: [], operations: [], waiters: [] };
      this.groups.set(key, group);
    }
    return group;
  }

  private releaseGroup(group: StepGroup): StepGroup {
    this.groups.delete(group.key);
    return group;
  }

  /**
   * Writes the groups waiting, each unless a group of its run and fence is still being written:
   * that one is written as soon as the one before it is done, with every step issued meanwhile
   * (one transaction in flight per run, the steps that arrive during it wait for it and go
   * together: fewer, larger transactions, in the order issued).
   */
  private flushGroups(): void {
    this.flushScheduled = false;
    for (const group of [...this.groups.values()]) {
      if (this.writing.has(group.key)) continue;
      this.groups.delete(group.key);
      this.writeGroup(group, true);
    }
  }

  /** Writes one group in one transaction and settles its steps' promises; `chained`: the next group of its key waits for it. */
  private writeGroup(group: StepGroup, chained = false): void {
    const operation = group.operations.length === 1 ? group.operations[0]! : `${group.operations[0]!} (and ${group.operations.length - 1} more steps written with it)`;
    if (chained) this.writing.add(group.key);
    const written = this.writeKnown(group, operation).then((done) => (done ? undefined : this.db.transaction(operation, (client) => this.writeSteps(client, group), group.fence)));
    const next = (): void => {
      if (!chained) return;
      this.writing.delete(group.key);
      const waiting = this.groups.get(group.key);
      if (waiting === undefined) return;
      this.groups.delete(group.key);
      this.writeGroup(waiting, true);
    };
    written.then(
      () => {
        next();
        for (const waiter of group.waiters) waiter.resolve();
      },
      (error: unknown) => {
        next();
        for (const waiter of group.waiters) waiter.reject(error);
      },
    );
  }

  /**
   * Inside the group's transaction: reads the chunks its seqs fall in `FOR UPDATE` (in `first_seq`
   * order, so two groups lock shared chunks in one order), applies the steps in the order issued,
   * and writes back the changed chunks in one statement. Payloads are read only for a chunk that
   * drops some but not all of those it keeps.
   */
  private async writeSteps(client: PoolClient, group: StepGroup): Promise<void> {
    let low = Infinity;
    let high = -Infinity;
    for (const step of group.steps) {
      for (const seq of step.kind === 'sent' ? step.seqs : step.outcomes.map((outcome) => outcome.seq)) {
        low = Math.min(low, seq);
        high = Math.max(high, seq);
      }
    }
    const rows = (
      await client.query<ChunkRow>(
        prepared(`SELECT first_seq, last_seq, states, marks FROM ${this.chunks} WHERE run_id = $1 AND first_seq <= $2 AND last_seq >= $3 ORDER BY first_seq FOR UPDATE`, [
          group.runId,
          high,
          low,
        ]),
      )
    ).rows;
    if (rows.length === 0) return this.requireRun(client, group.runId);
    const changed: { firstSeq: number; entries: ChunkStates; payloads: string | null }[] = [];
    const rereadPayloads: number[] = [];
    const ranges = group.steps.map(stepRange);
    for (const row of rows) {
      const entries = parseStates(row.states);
      // The marks appended since the states were written come first: a rewrite empties them.
      let touched = foldMarks(entries, row.marks);
      let dropped = false;
      for (const [index, step] of group.steps.entries()) {
        // A step none of whose seqs is in the chunk's range changes nothing in it.
        if (!meets(ranges[index]!, row.first_seq, row.last_seq)) continue;
        if (step.kind === 'sent') touched = applySent(entries, step.seqs, step.batchId, step.updatedAt) || touched;
        else {
          const applied = applyOutcomes(entries, step.outcomes, step.updatedAt);
          touched = applied.changed || touched;
          dropped = applied.dropped || dropped;
        }
      }
      if (!touched) continue;
      const payloads = !dropped ? null : allPayloadsDropped(entries) ? '{}' : undefined;
      if (payloads === undefined) rereadPayloads.push(row.first_seq);
      changed.push({ firstSeq: row.first_seq, entries, payloads: payloads ?? null });
    }
    if (rereadPayloads.length > 0) {
      const read = await client.query<{ first_seq: number; payloads: string }>(`SELECT first_seq, payloads FROM ${this.chunks} WHERE run_id = $1 AND first_seq = ANY($2::integer[])`, [
        group.runId,
        rereadPayloads,
      ]);
      for (const row of read.rows) {
        const chunk = changed.find((candidate) => candidate.firstSeq === row.first_seq)!;
        chunk.payloads = JSON.stringify(keptPayloads(chunk.entries, parsePayloads(row.payloads)));
      }
    }
    const written = await this.writeChunks(client, group.runId, changed);
    // Noted before the commit: a commit that fails leaves a belief the next guarded write refutes.
    const known = this.knownOf(group.runId);
    if (known === undefined) return;
    const lastSeqs = new Map(rows.map((row) => [row.first_seq, row.last_seq]));
    changed.forEach((chunk, index) => known.written(chunk.firstSeq, lastSeqs.get(chunk.firstSeq)!, chunk.entries, written[index]!));
  }

  /** The known chunks of a run, made on first use (only on the store's own pool, see {@link PostgresExportJournal.writeKnown}). */
  private knownOf(runId: string): KnownChunks | undefined {
    if (this.db.connection.kind !== 'pool') return undefined;
    let known = this.known.get(runId);
    if (known === undefined) {
      // A run left open (its export failed) is not closed here: keep only the latest runs.
      if (this.known.size >= KNOWN_RUNS) this.known.delete(this.known.keys().next().value!);
      known = new KnownChunks();
      this.known.set(runId, known);
    }
    return known;
  }

  /**
   * Writes a group in ONE statement, without reading its chunks, when this journal knows the
   * states of every chunk the group touches (it wrote them last: see {@link KnownChunks}). A
   * group written the reading way costs four round trips (BEGIN, the read `FOR UPDATE`, the
   * write, COMMIT), each waiting for a turn of the event loop of a process busy exporting; this
   * costs one. The statement is guarded: it updates the chunks only if each still holds the
   * `states` text this journal wrote (its MD5), the run's fence is current (its lease row locked
   * `FOR SHARE` for the statement, as the reading way does) and every row is found; otherwise it
   * fails with a division by zero, changes nothing (one statement is atomic), and the group is
   * written the reading way, which also says why (a stale fence, a missing run). Resolves `false`
   * when the group is left to that way. A group that drops some but not all payloads of a chunk
   * needs them read: left to that way too.
   */
  private async writeKnown(group: StepGroup, operation: string): Promise<boolean> {
    const known = this.db.connection.kind === 'pool' ? this.known.get(group.runId) : undefined;
    if (known === undefined || this.writingKnown.has(group.runId)) return false;
    const touched = new Map<number, KnownChunk>();
    for (const step of group.steps) {
      for (const seq of step.kind === 'sent' ? step.seqs : step.outcomes.map((outcome) => outcome.seq)) {
        const chunk = known.find(seq);
        if (chunk === undefined) return false;
        touched.set(chunk.firstSeq, chunk);
      }
    }
    // One statement, so that the guard holds for the whole group.
    if (touched.size > ROWS_PER_STATEMENT) return false;
    const chunks = [...touched.values()].sort((a, b) => a.firstSeq - b.firstSeq);
    const changed: { firstSeq: number; entries: ChunkStates; payloads: string | null }[] = [];
    const rewritten: KnownChunk[] = [];
    const appended: { readonly chunk: KnownChunk; readonly lines: string }[] = [];
    const ranges = group.steps.map(stepRange);
    for (const chunk of chunks) {
      // A step none of whose seqs is in the chunk's range changes nothing in it.
      const steps = group.steps.filter((_, index) => meets(ranges[index]!, chunk.firstSeq, chunk.lastSeq));
      if (steps.every((step) => step.kind === 'sent')) {
        // Only sent marks: appended to the row's marks, its states left as they are.
        appended.push({ chunk, lines: steps.map((step) => markLine(step as SentStep, chunk.firstSeq, chunk.lastSeq)).join('') });
        continue;
      }
      const states = chunk.states!;
      foldMarks(states, chunk.marks);
      let dropped = false;
      for (const step of steps) {
        if (step.kind === 'sent') applySent(states, step.seqs, step.batchId, step.updatedAt);
        else dropped = applyOutcomes(states, step.outcomes, step.updatedAt).dropped || dropped;
      }
      if (dropped && !allPayloadsDropped(states)) {
        // The states were changed in place: they no longer match the text.
        for (const other of chunks) known.forget(other.firstSeq);
        return false;
      }
      rewritten.push(chunk);
      changed.push({ firstSeq: chunk.firstSeq, entries: states, payloads: dropped ? '{}' : null });
    }
    this.writingKnown.add(group.runId);
    try {
      const written = await this.writeGuarded(group, operation, rewritten, changed, appended);
      rewritten.forEach((chunk, index) => known.written(chunk.firstSeq, chunk.lastSeq, chunk.states!, written[index]!));
      for (const { chunk, lines } of appended) chunk.marks += lines;
      return true;
    } catch (error) {
      for (const chunk of chunks) known.forget(chunk.firstSeq);
      // Refused by the guard, or a serialization failure or deadlock (the reading way retries
      // those): nothing was written, one statement being atomic.
      if (error instanceof PostgresStoreError && (error.sqlState === GUARD_FAILED || error.sqlState === '40001' || error.sqlState === '40P01')) return false;
      throw error;
    } finally {
      this.writingKnown.delete(group.runId);
    }
  }

  /**
   * The guarded statement of {@link PostgresExportJournal.writeKnown}, on the pool (its own
   * transaction): rewrites the `rewritten` chunks (`changed`: their new states and payloads, marks
   * emptied) where each row still holds the states text (by MD5) and the marks the journal knows,
   * and appends `lines` to the marks of the `appended` chunks where each row still holds the marks
   * it knows; all only while the fence is current, and every row found, or it fails with a
   * division by zero and changes nothing. Resolves with what was written of each rewritten chunk.
   */
  private async writeGuarded(
    group: StepGroup,
    operation: string,
    rewritten: readonly KnownChunk[],
    changed: readonly { readonly firstSeq: number; readonly entries: ChunkStates; readonly payloads: string | null }[],
    appended: readonly { readonly chunk: KnownChunk; readonly lines: string }[],
  ): Promise<WrittenChunk[]> {
    const known = this.known.get(group.runId)!;
    const params: unknown[] = [group.runId];
    const written: WrittenChunk[] = [];
    const rewriteRows = changed.map((chunk, index) => {
      const text = stringifyStates(chunk.entries);
      const counts = stateCounts(chunk.entries);
      written.push({ text, counts });
      params.push(chunk.firstSeq, text, chunk.payloads, ...counts, known.hashOf(rewritten[index]!), rewritten[index]!.marks);
      const at = params.length - 10;
      return `($${at + 1}::integer, $${at + 2}::text, $${at + 3}::text, ${JOURNAL_STATES.map((_, state) => `$${at + 4 + state}::integer`).join(', ')}, $${at + 9}::text, $${at + 10}::text)`;
    });
    const appendRows = appended.map(({ chunk, lines }) => {
      params.push(chunk.firstSeq, lines, chunk.marks);
      const at = params.length - 3;
      return `($${at + 1}::integer, $${at + 2}::text, $${at + 3}::text)`;
    });
    const fenced = group.fence !== undefined;
    if (fenced) params.push(group.fence!.key, group.fence!.token);
    const lease = fenced ? ` AND EXISTS (SELECT 1 FROM lease)` : '';
    const parts: string[] = [];
    const checks: string[] = [];
    if (fenced) parts.push(`lease AS (SELECT 1 FROM ${this.db.table('crm_sync_leases')} WHERE key = $${params.length - 1} AND token = $${params.length}::bigint AND NOT released FOR SHARE)`);
    if (rewriteRows.length > 0) {
      parts.push(`written AS (UPDATE ${this.chunks} c SET states = x.states, payloads = COALESCE(x.payloads, c.payloads), marks = '',
           pending = x.pending, sent = x.sent, committed = x.committed, rejected = x.rejected, unknown = x.unknown
         FROM (VALUES ${rewriteRows.join(', ')}) AS x(first_seq, states, payloads, ${COUNT_COLUMNS}, known, known_marks)
         WHERE c.run_id = $1 AND c.first_seq = x.first_seq AND md5(c.states) = x.known AND c.marks = x.known_marks${lease}
         RETURNING 1)`);
      checks.push(`(SELECT count(*) FROM written) = ${rewriteRows.length}`);
    }
    if (appendRows.length > 0) {
      parts.push(`appended AS (UPDATE ${this.chunks} c SET marks = c.marks || x.lines
         FROM (VALUES ${appendRows.join(', ')}) AS x(first_seq, lines, known_marks)
         WHERE c.run_id = $1 AND c.first_seq = x.first_seq AND c.marks = x.known_marks${lease}
         RETURNING 1)`);
      checks.push(`(SELECT count(*) FROM appended) = ${appendRows.length}`);
    }
    const sql = `WITH ${parts.join(',\n')} SELECT 1 / (CASE WHEN ${checks.join(' AND ')} THEN 1 ELSE 0 END) AS written`;
    await this.db.query(operation, sql, params, { prepared: rewriteRows.length + appendRows.length <= PREPARED_ROWS });
    return written;
  }

  /**
   * Inside a transaction: writes back changed chunks in one statement: their states (with every
   * mark folded in: the marks are emptied) and counts, and their payloads when not null. Resolves
   * with what was written of each, in order.
   */
  private async writeChunks(
    client: PoolClient,
    runId: string,
    chunks: readonly { readonly firstSeq: number; readonly entries: ChunkStates; readonly payloads: string | null }[],
  ): Promise<WrittenChunk[]> {
    const written: WrittenChunk[] = [];
    if (chunks.length === 0) return written;
    for (const part of slices(chunks, ROWS_PER_STATEMENT)) {
      // One parameter per JSON text (not text arrays, whose every quote the driver would escape).
      const params: unknown[] = [runId];
      const rows = part.map((chunk) => {
        const text = stringifyStates(chunk.entries);
        const counts = stateCounts(chunk.entries);
        written.push({ text, counts });
        params.push(chunk.firstSeq, text, chunk.payloads, ...counts);
        const at = params.length - 8;
        return `($${at + 1}::integer, $${at + 2}::text, $${at + 3}::text, ${JOURNAL_STATES.map((_, state) => `$${at + 4 + state}::integer`).join(', ')})`;
      });
      const sql = `UPDATE ${this.chunks} c SET states = x.states, payloads = COALESCE(x.payloads, c.payloads), marks = '',
           pending = x.pending, sent = x.sent, committed = x.committed, rejected = x.rejected, unknown = x.unknown
         FROM (VALUES ${rows.join(', ')}) AS x(first_seq, states, payloads, ${COUNT_COLUMNS})
         WHERE c.run_id = $1 AND c.first_seq = x.first_seq`;
      // A step's usual few chunks: prepared, one statement per count of rows (a bounded few per connection).
      await client.query(part.length <= PREPARED_ROWS ? prepared(sql, params) : { text: sql, values: params });
    }
    return written;
  }

  /**
   * Entries in `seq` order, optionally only some states, paged by `afterSeq` + `limit`. Reads the
   * chunks after `afterSeq` in `first_seq` order, {@link CHUNKS_PER_READ} at a time at most, until
   * the page is full and no chunk still to read can hold an entry before its last one.
   */
  async listEntries(
    runId: string,
    options: { readonly states?: readonly JournalState[]; readonly afterSeq?: number; readonly limit?: number } = {},
  ): Promise<readonly JournalEntry[]> {
    const states = options.states === undefined ? undefined : new Set(options.states);
    if (states !== undefined && states.size === 0) return [];
    const limit = options.limit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      throw new PostgresStoreError('invalid-argument', `listEntries: limit must be a whole number >= 0, got ${limit}.`);
    }
    if (limit === 0) return [];
    const afterSeq = options.afterSeq ?? -1;
    const found: JournalEntry[] = [];
    const operation = `Listing entries of export run "${runId}"`;
    // Enough chunks for a full page in the usual case, and one more to show that it is full.
    const perRead = limit === undefined ? CHUNKS_PER_READ : Math.min(CHUNKS_PER_READ, Math.ceil(limit / CHUNK_ENTRIES) + 1);
    // A chunk's seq range may overlap a later chunk's (entries added out of order), so the page is
    // complete only once the next chunk starts after its last seq.
    for (let afterFirst: number | null = null; ; ) {
      const rows: ChunkRow[] = await this.db.query<ChunkRow>(
        operation,
        `SELECT first_seq, last_seq, entries, states, payloads, marks FROM ${this.chunks}
         WHERE run_id = $1 AND last_seq > $2 AND ($3::integer IS NULL OR first_seq > $3) ORDER BY first_seq LIMIT $4`,
        [runId, afterSeq, afterFirst, perRead],
        { prepared: true },
      );
      for (const row of rows) {
        if (limit !== undefined && found.length >= limit) {
          found.sort((a, b) => a.seq - b.seq);
          found.length = limit;
          if (row.first_seq > found[found.length - 1]!.seq) return found;
        }
        collectEntries(runId, { entries: row.entries!, states: withMarks(row), payloads: row.payloads! }, afterSeq, states, found);
      }
      if (rows.length < perRead) break;
      afterFirst = rows[rows.length - 1]!.first_seq;
    }
    found.sort((a, b) => a.seq - b.seq);
    if (limit !== undefined && found.length > limit) found.length = limit;
    return found;
  }

  /** Counts of entries per state (from the chunks' count columns); every state is present, zero when none. */
  async countByState(runId: string): Promise<Readonly<Record<JournalState, number>>> {
    // One statement (one snapshot): the count columns of the chunks without marks, and the chunks
    // with marks to count with their marks folded in.
    const rows = await this.db.query<Record<JournalState, number | null> & { states: string | null; marks: string | null }>(
      `Counting entries of export run "${runId}"`,
      `SELECT NULL AS states, NULL AS marks, ${JOURNAL_STATES.map((state) => `sum(${state})::integer AS ${state}`).join(', ')} FROM ${this.chunks} WHERE run_id = $1 AND marks = ''
       UNION ALL
       SELECT states, marks, ${JOURNAL_STATES.map((state) => `0 AS ${state}`).join(', ')} FROM ${this.chunks} WHERE run_id = $1 AND marks <> ''`,
      [runId],
    );
    const counts = JOURNAL_STATES.map(() => 0);
    for (const row of rows) {
      if (row.states === null) {
        // The sums of the chunks without marks (null when there is none).
        JOURNAL_STATES.forEach((state, index) => (counts[index]! += row[state] ?? 0));
        continue;
      }
      const folded = parseStates(row.states);
      foldMarks(folded, row.marks!);
      stateCounts(folded).forEach((count, index) => (counts[index]! += count));
    }
    return Object.fromEntries(JOURNAL_STATES.map((state, index) => [state, counts[index]!])) as Record<JournalState, number>;
  }

  /** Closes a run as `finished` or `failed`; it is kept for inspection. */
  async closeRun(runId: string, status: 'finished' | 'failed', summary?: Readonly<Record<string, unknown>>, fence?: Fence): Promise<void> {
    const finishedAt = this.now().toISOString();
    const cutoff = journalPruneCutoff(this.now(), this.retention);
    // A closed run takes no more batch steps: what was known of its chunks can go.
    this.known.delete(runId);
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
        // Marks left (batches whose outcomes never came): folded in, so a closed run has none.
        const marked = await client.query<ChunkRow>(`SELECT first_seq, last_seq, states, marks FROM ${this.chunks} WHERE run_id = $1 AND marks <> '' ORDER BY first_seq FOR UPDATE`, [runId]);
        const folded = marked.rows.map((row) => {
          const entries = parseStates(row.states);
          foldMarks(entries, row.marks);
          return { firstSeq: row.first_seq, entries, payloads: null };
        });
        await this.writeChunks(client, runId, folded);
        // Only chunks that still keep payloads and hold a settled entry (none, when every entry committed).
        const settled = await client.query<ChunkRow>(
          `SELECT first_seq, last_seq, states, payloads FROM ${this.chunks} WHERE run_id = $1 AND payloads <> '{}' AND committed + rejected > 0 ORDER BY first_seq FOR UPDATE`,
          [runId],
        );
        const changed = [];
        for (const row of settled.rows) {
          const entries = parseStates(row.states);
          if (!dropSettledPayloads(entries)) continue;
          changed.push({ firstSeq: row.first_seq, entries, payloads: JSON.stringify(keptPayloads(entries, parsePayloads(row.payloads!))) });
        }
        await this.writeChunks(client, runId, changed);
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
           EXISTS (SELECT 1 FROM ${this.chunks} c WHERE c.run_id = r.run_id AND (c.sent + c.unknown > 0 OR c.marks <> '')) AS in_doubt,
           (SELECT COALESCE(sum(${JOURNAL_STATES.join(' + ')}), 0)::integer FROM ${this.chunks} c WHERE c.run_id = r.run_id) AS entries
         FROM ${this.runs} r WHERE r.status <> 'open' AND r.finished_at < $1 ORDER BY r.finished_at, r.created FOR UPDATE OF r`,
        [finishedBefore],
      )
    ).rows;
    const runIds = rows.filter((row) => !row.in_doubt).map((row) => row.run_id);
    const keptInDoubt = rows.filter((row) => row.in_doubt).map((row) => row.run_id);
    const entries = rows.filter((row) => !row.in_doubt).reduce((sum, row) => sum + row.entries, 0);
    if (!dryRun && runIds.length > 0) {
      await client.query(`DELETE FROM ${this.chunks} WHERE run_id = ANY($1::text[])`, [runIds]);
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
type SentStep = { readonly kind: 'sent'; readonly seqs: readonly number[]; readonly batchId: string; readonly updatedAt: string };
type QueuedStep = SentStep | { readonly kind: 'outcomes'; readonly outcomes: readonly JournalOutcome[]; readonly updatedAt: string };

/** A sent step as a line of a chunk's `marks`: `[batchId, updatedAt, seqs]`, only the seqs in the chunk's range. */
function markLine(step: SentStep, firstSeq: number, lastSeq: number): string {
  return `${JSON.stringify([step.batchId, step.updatedAt, step.seqs.filter((seq) => seq >= firstSeq && seq <= lastSeq)])}\n`;
}

/** Folds a chunk's marks (its `marks` text) into its states, in the order made; true when an entry changed. */
function foldMarks(states: ChunkStates, marks: string | undefined): boolean {
  if (marks === undefined || marks === '') return false;
  let changed = false;
  for (const line of marks.split('\n')) {
    if (line === '') continue;
    const [batchId, updatedAt, seqs] = JSON.parse(line) as [string, string, number[]];
    changed = applySent(states, seqs, batchId, updatedAt) || changed;
  }
  return changed;
}

/** A chunk row's states as a reader sees them: its marks folded in (not written). */
function withMarks(row: ChunkRow): string {
  if (row.marks === undefined || row.marks === '') return row.states;
  const states = parseStates(row.states);
  foldMarks(states, row.marks);
  return stringifyStates(states);
}

/** The lowest and highest seq a step names. */
function stepRange(step: QueuedStep): readonly [number, number] {
  let low = Infinity;
  let high = -Infinity;
  if (step.kind === 'sent') {
    for (const seq of step.seqs) {
      low = Math.min(low, seq);
      high = Math.max(high, seq);
    }
  } else {
    for (const outcome of step.outcomes) {
      low = Math.min(low, outcome.seq);
      high = Math.max(high, outcome.seq);
    }
  }
  return [low, high];
}

/** True when a step's seq range meets a chunk's `firstSeq`..`lastSeq` (every seq of a chunk lies in it). */
function meets(range: readonly [number, number], firstSeq: number, lastSeq: number): boolean {
  return range[0] <= lastSeq && range[1] >= firstSeq;
}

/** The steps of one run and fence written together, in the order issued. */
interface StepGroup {
  readonly key: string;
  readonly runId: string;
  readonly fence: Fence | undefined;
  readonly steps: QueuedStep[];
  readonly operations: string[];
  readonly waiters: { readonly resolve: () => void; readonly reject: (error: unknown) => void }[];
}

function slices<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let start = 0; start < items.length; start += size) parts.push(items.slice(start, start + size));
  return parts;
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

