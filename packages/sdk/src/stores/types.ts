/**
 * Store interfaces: where crm-sync keeps options (watermarks among them), the export journal, and
 * the application's own records. In-memory implementations live next to these; SQLite ones in
 * `@crm-sync/store-sqlite`. All methods are async so that any database can implement them.
 *
 * Fencing: every write method takes an optional trailing {@link Fence}. When one is given, the
 * store checks, in the same transaction as the write, that `fence.token` is the current unreleased
 * lease token of `fence.key` (see `LeaseStore`), and otherwise rejects with `StaleFenceError` and
 * writes nothing. A store that ignores fences still works, but gives no protection against a run
 * that lost its lease and writes late (a zombie).
 *
 * @module
 */
import type { Reject, RejectCode, WriteAction, WriteMode } from '../contract/requests.js';
import type { FieldValue, Instant } from '../contract/values.js';
import type { Fence } from './lease.js';

/** A named option (the seed's Administration > Options). */
export interface StoredOption {
  readonly name: string;
  /** The option's text, e.g. a watermark in `yyyy/MM/dd HH:mm:ss` (UTC). */
  readonly value: string;
  /**
   * Machine data kept with the text, e.g. the exact watermark instant and tie-break id. Ignored
   * when it no longer agrees with `value` (someone set the option by hand).
   */
  readonly meta?: Readonly<Record<string, unknown>>;
  readonly updatedAt: Instant;
}

/** Named options. Watermarks are options named `LASTIMPORT_<instance>_<activity>` by default. */
export interface OptionStore {
  getOption(name: string): Promise<StoredOption | undefined>;
  /** Creates or replaces an option. */
  setOption(name: string, value: string, meta?: Readonly<Record<string, unknown>>, fence?: Fence): Promise<void>;
  /** Options whose name starts with `prefix` (all when omitted), sorted by name. */
  listOptions(prefix?: string): Promise<readonly StoredOption[]>;
  /** Removes an option; removing a missing option is harmless. */
  deleteOption(name: string, fence?: Fence): Promise<void>;
}

/** A watermark move the sink should commit in the same transaction as the records. */
export interface Checkpoint {
  readonly optionName: string;
  readonly value: string;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** A record on the application side, after conversion, keyed by local field names. */
export interface LocalRecord {
  /** The CRM's primary key. The sink upserts by it: one CRM record is one local row. */
  readonly crmId: string;
  /** The CRM change time, when the import had a change field. */
  readonly changedAt?: Instant;
  readonly values: Readonly<Record<string, FieldValue>>;
}

/** A record deleted in the CRM, to apply locally. */
export interface LocalDeletion {
  readonly crmId: string;
  readonly deletedAt: Instant;
}

/** Where imported records go (the application's database). */
export interface RecordSink {
  /**
   * True when {@link RecordSink.write} commits the checkpoint atomically with the records (same
   * transaction). Otherwise the orchestrator sets the option itself right after `write` resolves.
   */
  readonly atomicCheckpoint: boolean;
  /**
   * Upserts records by `crmId` and, when `checkpoint` is given and `atomicCheckpoint` is true,
   * stores it in the same transaction. Resolves only once the records are durable. Writing the
   * same record twice leaves one row (imports are at-least-once, deduplicated here).
   *
   * A sink may refuse single records (a value its column refuses: wrong type, NOT NULL, too long,
   * a constraint) without failing the page: it writes the others, commits the checkpoint, and
   * resolves with a {@link SinkWriteResult} listing the refused ones. The orchestrator reports
   * each as a reject of the run (rejects output, `rejected` count) and does not count it as
   * written. Resolving `void` means every record was written. A failure of the whole write (the
   * database is gone, a stale fence) still rejects the promise.
   */
  write(table: string, records: readonly LocalRecord[], checkpoint?: Checkpoint, fence?: Fence): Promise<SinkWriteResult | void>;
  /** Applies deletions (O3): marks or removes rows by `crmId`. Unknown ids are ignored. */
  markDeleted(table: string, deletions: readonly LocalDeletion[], checkpoint?: Checkpoint, fence?: Fence): Promise<void>;
}

/** A record a {@link RecordSink} refused, not written; the rest of the page was. */
export interface SinkReject {
  /** The refused record's CRM id (as in {@link LocalRecord.crmId}). */
  readonly crmId: string;
  /** The local key of the row it would have written, when the sink knows it (an existing row). */
  readonly localKey?: string;
  /** The local field (column) whose value was refused, when the sink can tell. */
  readonly field?: string;
  /** What was refused and why, e.g. `column "age" (integer) refused "abc"`. No secrets. */
  readonly message: string;
  /** The canonical code; default `invalid-value`. */
  readonly code?: RejectCode;
}

/** What {@link RecordSink.write} reports besides success. */
export interface SinkWriteResult {
  /** Records not written, each with why. Empty or absent when all were written. */
  readonly rejects?: readonly SinkReject[];
}

/** A local record to export (O2). */
export interface SourceRecord {
  /** The local key: stable, unique in the table. Becomes the sync key when one is configured. */
  readonly key: string;
  /** The CRM primary key, when the record is already linked to a CRM record. */
  readonly crmId?: string;
  readonly values: Readonly<Record<string, FieldValue>>;
  /** When the local row last changed. */
  readonly changedAt?: Instant;
}

/** What to read from a {@link RecordSource}. */
export interface SourceReadOptions {
  /** Only rows changed at or after this instant (incremental export). */
  readonly changedSince?: Instant;
  /** Only these local keys. */
  readonly keys?: readonly string[];
  /** Rows per yielded batch. */
  readonly batchSize?: number;
}

/** Where exported records come from (the application's database). */
export interface RecordSource {
  /** Streams rows in a stable order (by key), in batches. */
  read(table: string, options?: SourceReadOptions): AsyncIterable<readonly SourceRecord[]>;
  /**
   * The local columns (field names) the table is known to have: at least every name some row of
   * it holds a value for, `null` included. `undefined` when the source cannot tell (a missing or
   * empty table). An export refuses, before any CRM call, a mapping whose `local` name is not in
   * this set: it would export nothing for that field (see `checkLocalColumns`). Optional; without
   * it the check is skipped.
   */
  columns?(table: string): Promise<ReadonlySet<string> | undefined>;
  /**
   * Links local rows to the CRM ids an export created, so the next export updates them. Never
   * deletes a row: when another local row already holds a CRM id, both rows stay as they are, the
   * link is not made, and it is returned in `conflicts` (the orchestrator reports it as a reject).
   * Resolving `void` (older stores) means no conflicts.
   */
  linkCrmIds?(table: string, links: readonly CrmIdLink[], fence?: Fence): Promise<LinkCrmIdsResult | void>;
}

/** A local row to link to a CRM id. */
export interface CrmIdLink {
  readonly key: string;
  readonly crmId: string;
}

/** A link {@link RecordSource.linkCrmIds} did not make because another local row holds the CRM id. */
export interface CrmIdConflict extends CrmIdLink {
  /** The local key of the row that already holds `crmId`. */
  readonly heldBy: string;
}

/** What {@link RecordSource.linkCrmIds} did not do. */
export interface LinkCrmIdsResult {
  /** Links refused because the CRM id is already on another local row; both rows were kept. */
  readonly conflicts: readonly CrmIdConflict[];
}

/** States of one journal entry. `sent` means asked, no answer yet; `unknown` means the answer was lost. */
export type JournalState = 'pending' | 'sent' | 'committed' | 'rejected' | 'unknown';

/** One record of an export run, as the journal keeps it. */
export interface JournalEntry {
  readonly runId: string;
  /** Position in the run, from 0. Unique per run. */
  readonly seq: number;
  readonly localKey: string;
  /** The sync key written to the CRM's external-id field, when the job has one. */
  readonly syncKey?: string;
  readonly mode: WriteMode;
  /** The CRM id known before sending (updates) or learned from the outcome (inserts). */
  readonly crmId?: string;
  /** The remote values sent (secrets never belong here). */
  readonly payload: Readonly<Record<string, FieldValue>>;
  readonly state: JournalState;
  readonly action?: WriteAction;
  readonly reject?: Reject;
  /** The batch it was sent in. */
  readonly batchId?: string;
  readonly attempts: number;
  readonly updatedAt: Instant;
}

/** One export run of a job. */
export interface JournalRun {
  readonly runId: string;
  readonly jobId: string;
  readonly status: 'open' | 'finished' | 'failed';
  readonly startedAt: Instant;
  readonly finishedAt?: Instant;
  /** The run's summary and notes, JSON. */
  readonly summary?: Readonly<Record<string, unknown>>;
}

/** An entry as first written, before sending. */
export type NewJournalEntry = Pick<JournalEntry, 'seq' | 'localKey' | 'syncKey' | 'mode' | 'crmId' | 'payload'>;

/** The outcome of one entry. */
export interface JournalOutcome {
  readonly seq: number;
  readonly state: 'committed' | 'rejected' | 'unknown' | 'pending';
  readonly crmId?: string;
  readonly action?: WriteAction;
  readonly reject?: Reject;
}

/**
 * The durable export journal: per run, per record, pending -> sent -> committed | rejected |
 * unknown. Every method resolves only once the change is durable.
 */
export interface ExportJournal {
  /** The job's open run, if one exists (an interrupted export to resume). */
  findOpenRun(jobId: string): Promise<JournalRun | undefined>;
  /** Starts a new run. Fails if the job already has an open run. */
  startRun(jobId: string, fence?: Fence): Promise<JournalRun>;
  getRun(runId: string): Promise<JournalRun | undefined>;
  /** Runs, newest first; all jobs when `jobId` is omitted. */
  listRuns(jobId?: string): Promise<readonly JournalRun[]>;
  /** Adds entries as `pending`. Re-adding an existing `seq` is ignored. */
  addPending(runId: string, entries: readonly NewJournalEntry[], fence?: Fence): Promise<void>;
  /** Marks entries `sent` in `batchId` and counts an attempt, before the batch leaves. */
  markSent(runId: string, seqs: readonly number[], batchId: string, fence?: Fence): Promise<void>;
  /**
   * Records outcomes after the CRM answered (or `unknown` when it did not). An entry recorded
   * `committed` loses its payload in the same write (it reads back as `{}`): it is never sent
   * again, and the values sent are personal data the journal need not keep.
   */
  recordOutcomes(runId: string, outcomes: readonly JournalOutcome[], fence?: Fence): Promise<void>;
  /** Entries in `seq` order, optionally only some states, paged by `afterSeq` + `limit`. */
  listEntries(
    runId: string,
    options?: { readonly states?: readonly JournalState[]; readonly afterSeq?: number; readonly limit?: number },
  ): Promise<readonly JournalEntry[]>;
  /** Counts of entries per state. */
  countByState(runId: string): Promise<Readonly<Record<JournalState, number>>>;
  /**
   * Closes a run; it is kept for inspection until pruned. In the same transaction the payloads of
   * its rejected entries are dropped (committed ones lost theirs when committed, see
   * {@link ExportJournal.recordOutcomes}): a settled entry reads back with an empty `payload` and
   * keeps what recovery and audit need (keys, mode, CRM id, state, action, reject, batch,
   * attempts). Entries still `pending`, `sent` or `unknown` keep their values. A store with a
   * retention (see {@link JournalRetention}) also prunes, in that transaction, the closed runs
   * that finished longer ago than the retention.
   */
  closeRun(runId: string, status: 'finished' | 'failed', summary?: Readonly<Record<string, unknown>>, fence?: Fence): Promise<void>;
  /**
   * Deletes closed runs (with their entries) that finished before `options.finishedBefore`, in one
   * transaction. Never deletes an open run, nor a closed run with an entry in doubt (`sent` or
   * `unknown`: the CRM may hold a record the journal cannot name otherwise). With `dryRun`,
   * counts what would go and deletes nothing.
   */
  pruneRuns(options: JournalPruneOptions): Promise<JournalPruneResult>;
}

/** What {@link ExportJournal.pruneRuns} deletes. */
export interface JournalPruneOptions {
  /** Closed runs whose `finishedAt` is before this instant (ISO-8601 UTC). */
  readonly finishedBefore: Instant;
  /** Count only; delete nothing. */
  readonly dryRun?: boolean;
}

/** What {@link ExportJournal.pruneRuns} deleted (or, on a dry run, would delete). */
export interface JournalPruneResult {
  /** The runs, oldest first. */
  readonly runIds: readonly string[];
  /** Their entries, all runs together. */
  readonly entries: number;
  /** Closed runs old enough but kept because an entry is in doubt (`sent` or `unknown`). */
  readonly keptInDoubt: readonly string[];
}
