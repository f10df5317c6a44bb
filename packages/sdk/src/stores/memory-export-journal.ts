/**
 * An in-memory {@link ExportJournal}: the reference behaviour the SQLite journal and the store
 * contract suite agree on.
 *
 * @module
 */
import { DEFAULT_JOURNAL_RETENTION_DAYS, journalPruneCutoff, type JournalRetention } from './journal-retention.js';
import type { Fence, MemoryLeaseStore } from './lease.js';
import type {
  ExportJournal,
  JournalEntry,
  JournalOutcome,
  JournalPruneOptions,
  JournalPruneResult,
  JournalRun,
  JournalState,
  NewJournalEntry,
} from './types.js';

/** The payload of a committed entry (its values are forgotten): one shared, frozen empty object. */
const FORGOTTEN: Readonly<Record<string, never>> = Object.freeze({});

const STATES: readonly JournalState[] = ['pending', 'sent', 'committed', 'rejected', 'unknown'];

/** Options of {@link MemoryExportJournal}. */
export interface MemoryExportJournalOptions {
  /** Closed runs are pruned when a later run closes this long after they finished. Default 30 days. */
  readonly retentionDays?: JournalRetention;
}

/** Export runs and their entries in memory. Lost with the process. */
export class MemoryExportJournal implements ExportJournal {
  private readonly runs = new Map<string, JournalRun>();
  private readonly entries = new Map<string, Map<number, JournalEntry>>();
  /** Each run's seqs in ascending order, so paging by `afterSeq` is a binary search, not a sort. */
  private readonly orders = new Map<string, number[]>();
  private nextRun = 1;

  /**
   * @param now The clock for timestamps (defaults to the system clock).
   * @param leases Checks the fences of fenced writes; without it fences are ignored (no zombie protection).
   * @param options The retention of closed runs.
   */
  constructor(
    private readonly now: () => Date = () => new Date(),
    private readonly leases?: MemoryLeaseStore,
    options: MemoryExportJournalOptions = {},
  ) {
    this.retention = options.retentionDays ?? DEFAULT_JOURNAL_RETENTION_DAYS;
    journalPruneCutoff(new Date(0), this.retention, 'retentionDays');
  }

  private readonly retention: JournalRetention;

  async findOpenRun(jobId: string): Promise<JournalRun | undefined> {
    return [...this.runs.values()].find((run) => run.jobId === jobId && run.status === 'open');
  }

  async startRun(jobId: string, fence?: Fence): Promise<JournalRun> {
    this.fenced(fence);
    const open = await this.findOpenRun(jobId);
    if (open) {
      throw new Error(`[crm-sync] [journal] job "${jobId}" already has an open run ${open.runId}; resume or close it first`);
    }
    const run: JournalRun = { runId: `run-${this.nextRun++}`, jobId, status: 'open', startedAt: this.stamp() };
    this.runs.set(run.runId, run);
    this.entries.set(run.runId, new Map());
    this.orders.set(run.runId, []);
    return run;
  }

  async getRun(runId: string): Promise<JournalRun | undefined> {
    return this.runs.get(runId);
  }

  async listRuns(jobId?: string): Promise<readonly JournalRun[]> {
    return [...this.runs.values()].filter((run) => jobId === undefined || run.jobId === jobId).reverse();
  }

  async addPending(runId: string, entries: readonly NewJournalEntry[], fence?: Fence): Promise<void> {
    this.fenced(fence);
    const table = this.table(runId);
    const order = this.orders.get(runId) ?? [];
    // One step, one time; the entry and its payload (flat primitive values) are copied, so the
    // caller's objects are never shared with the journal.
    const updatedAt = this.stamp();
    for (const entry of entries) {
      if (table.has(entry.seq)) continue;
      const stored: Mutable<JournalEntry> = { runId, seq: entry.seq, localKey: entry.localKey, mode: entry.mode, payload: { ...entry.payload }, state: 'pending', attempts: 0, updatedAt };
      if (entry.syncKey !== undefined) stored.syncKey = entry.syncKey;
      if (entry.crmId !== undefined) stored.crmId = entry.crmId;
      table.set(entry.seq, stored);
      // Seqs almost always arrive in ascending order: append, else insert at the sorted position.
      if (order.length === 0 || order[order.length - 1]! < entry.seq) order.push(entry.seq);
      else order.splice(firstAbove(order, entry.seq), 0, entry.seq);
    }
  }

  async markSent(runId: string, seqs: readonly number[], batchId: string, fence?: Fence): Promise<void> {
    this.fenced(fence);
    const table = this.table(runId);
    const updatedAt = this.stamp();
    for (const seq of seqs) {
      const entry = table.get(seq);
      // A new object, never a change in place: entries handed out by listEntries stay as they were read.
      if (entry) table.set(seq, changedEntry(entry, { state: 'sent', batchId, attempts: entry.attempts + 1, updatedAt }));
    }
  }

  async recordOutcomes(runId: string, outcomes: readonly JournalOutcome[], fence?: Fence): Promise<void> {
    this.fenced(fence);
    const table = this.table(runId);
    const updatedAt = this.stamp();
    for (const outcome of outcomes) {
      const entry = table.get(outcome.seq);
      if (!entry) continue;
      // The outcome's action and reject replace the old ones; a committed entry forgets its payload.
      table.set(
        outcome.seq,
        changedEntry(entry, {
          state: outcome.state,
          payload: outcome.state === 'committed' ? FORGOTTEN : entry.payload,
          crmId: outcome.crmId ?? entry.crmId,
          action: outcome.action,
          reject: outcome.reject,
          updatedAt,
        }),
      );
    }
  }

  async listEntries(
    runId: string,
    options: { readonly states?: readonly JournalState[]; readonly afterSeq?: number; readonly limit?: number } = {},
  ): Promise<readonly JournalEntry[]> {
    const states = options.states === undefined ? undefined : new Set(options.states);
    const table = this.table(runId);
    const order = this.orders.get(runId) ?? [];
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const selected: JournalEntry[] = [];
    for (let index = firstAbove(order, options.afterSeq ?? -1); index < order.length && selected.length < limit; index += 1) {
      const entry = table.get(order[index]!);
      if (entry && (states === undefined || states.has(entry.state))) selected.push(entry);
    }
    return selected;
  }

  async countByState(runId: string): Promise<Readonly<Record<JournalState, number>>> {
    const counts = Object.fromEntries(STATES.map((state) => [state, 0])) as Record<JournalState, number>;
    for (const entry of this.table(runId).values()) counts[entry.state] += 1;
    return counts;
  }

  async closeRun(runId: string, status: 'finished' | 'failed', summary?: Readonly<Record<string, unknown>>, fence?: Fence): Promise<void> {
    this.fenced(fence);
    const run = this.runs.get(runId);
    if (!run) throw new Error(`[crm-sync] [journal] unknown run ${runId}`);
    this.runs.set(runId, {
      ...run,
      status,
      finishedAt: this.stamp(),
      ...(summary === undefined ? {} : { summary: structuredClone(summary) }),
    });
    const table = this.table(runId);
    for (const [seq, entry] of table) {
      if (entry.state === 'rejected') table.set(seq, { ...entry, payload: {} });
    }
    const cutoff = journalPruneCutoff(this.now(), this.retention, 'retentionDays');
    if (cutoff !== undefined) this.prune(cutoff, false);
  }

  async pruneRuns(options: JournalPruneOptions): Promise<JournalPruneResult> {
    return this.prune(options.finishedBefore, options.dryRun === true);
  }

  private prune(finishedBefore: string, dryRun: boolean): JournalPruneResult {
    const cutoff = Date.parse(finishedBefore);
    if (Number.isNaN(cutoff)) throw new Error(`[crm-sync] [journal] pruneRuns: finishedBefore must be an ISO-8601 instant, got ${JSON.stringify(finishedBefore)}`);
    const runIds: string[] = [];
    const keptInDoubt: string[] = [];
    let entries = 0;
    const old = [...this.runs.values()].filter((run) => run.status !== 'open' && run.finishedAt !== undefined && Date.parse(run.finishedAt) < cutoff);
    for (const run of old) {
      const table = this.table(run.runId);
      if ([...table.values()].some((entry) => entry.state === 'sent' || entry.state === 'unknown')) {
        keptInDoubt.push(run.runId);
        continue;
      }
      runIds.push(run.runId);
      entries += table.size;
      if (dryRun) continue;
      this.runs.delete(run.runId);
      this.entries.delete(run.runId);
      this.orders.delete(run.runId);
    }
    return { runIds, entries, keptInDoubt };
  }

  private table(runId: string): Map<number, JournalEntry> {
    const table = this.entries.get(runId);
    if (!table) throw new Error(`[crm-sync] [journal] unknown run ${runId}; start it with startRun first`);
    return table;
  }

  /** Refuses a write whose fence is stale, before anything changes. */
  private fenced(fence: Fence | undefined): void {
    if (fence !== undefined) this.leases?.assertFence(fence);
  }

  private stamp(): string {
    return this.now().toISOString();
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What a journal step changes in an entry. */
type EntryChanges = Pick<JournalEntry, 'state' | 'updatedAt'> & Partial<Pick<JournalEntry, 'payload' | 'attempts' | 'batchId' | 'crmId' | 'action' | 'reject'>>;

/**
 * A copy of `entry` with `changes` applied, built field by field: an object spread of the old
 * entry took most of the in-memory journal's time in a 100,000-record export (bench scenario 3).
 * A key present in `changes` replaces the old value even when it is `undefined` (an outcome
 * without a reject clears the previous one).
 */
function changedEntry(entry: JournalEntry, changes: EntryChanges): JournalEntry {
  const next: Mutable<JournalEntry> = {
    runId: entry.runId,
    seq: entry.seq,
    localKey: entry.localKey,
    mode: entry.mode,
    payload: changes.payload ?? entry.payload,
    state: changes.state,
    attempts: changes.attempts ?? entry.attempts,
    updatedAt: changes.updatedAt,
  };
  if (entry.syncKey !== undefined) next.syncKey = entry.syncKey;
  const crmId = 'crmId' in changes ? changes.crmId : entry.crmId;
  if (crmId !== undefined) next.crmId = crmId;
  const batchId = changes.batchId ?? entry.batchId;
  if (batchId !== undefined) next.batchId = batchId;
  const action = 'action' in changes ? changes.action : entry.action;
  if (action !== undefined) next.action = action;
  const reject = 'reject' in changes ? changes.reject : entry.reject;
  if (reject !== undefined) next.reject = reject;
  return next;
}

/** The index of the first value in ascending `sorted` that is greater than `seq`. */
function firstAbove(sorted: readonly number[], seq: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! <= seq) low = middle + 1;
    else high = middle;
  }
  return low;
}
