/**
 * How the PostgreSQL journal keeps its entries: by chunk, one row of `journal_chunks` per up to
 * {@link CHUNK_ENTRIES} entries of one `addPending` step. A batch step (mark sent, record outcomes)
 * then rewrites one row for its 200 records, not 200 rows. The row's `entries` column is the JSON
 * text of an object by seq of {@link StoredEntry} (compact keys, no payload), `payloads` the JSON
 * text of an object by seq of the values still kept, and one count column per state, so counting
 * a run reads no JSON. PostgreSQL stores both JSON columns as text: it never parses them; every
 * change is made here, on rows read `FOR UPDATE` in the writing transaction.
 *
 * Pure functions: no I/O.
 *
 * @module
 */
import type { FieldValue, JournalEntry, JournalOutcome, JournalState, NewJournalEntry, Reject, WriteAction, WriteMode } from '@crm-sync/sdk';

/**
 * Entries per chunk row. The usual batch (200): the send loop reads pending entries in seq order
 * and cuts them into batches of up to 200, so a batch step usually rewrites one chunk; the cost of
 * a step is the rewrite of its chunks' `entries`, which grows with the chunk.
 */
export const CHUNK_ENTRIES = 200;

/**
 * One entry in a chunk's `entries`, without its payload. Short keys: the object is rewritten by
 * every step on its chunk. An absent key is an absent field, never null.
 */
export interface StoredEntry {
  /** local key */
  k: string;
  /** sync key */
  y?: string;
  /** mode */
  m: WriteMode;
  /** CRM id */
  c?: string;
  /** state */
  s: JournalState;
  /** action */
  x?: WriteAction;
  /** reject */
  r?: Reject;
  /** batch id */
  b?: string;
  /** attempts */
  a: number;
  /** updated at */
  u: string;
  /** 1 once its payload is dropped (committed, or settled when its run closed) */
  d?: 1;
}

/** A chunk's entries by seq (the JSON keys are the seqs). */
export type StoredEntries = Record<string, StoredEntry>;

/** A chunk's kept payloads by seq. */
export type StoredPayloads = Record<string, Readonly<Record<string, FieldValue>>>;

/** The state counts kept in a chunk row's count columns, in {@link JOURNAL_STATES} order. */
export const JOURNAL_STATES: readonly JournalState[] = ['pending', 'sent', 'committed', 'rejected', 'unknown'];

/** A chunk row to insert. */
export interface NewChunk {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly entries: string;
  readonly payloads: string;
  readonly count: number;
}

/**
 * Splits new entries (already without the seqs the run holds, and without repeats) into chunks of
 * up to {@link CHUNK_ENTRIES}, in the order given.
 */
export function newChunks(entries: readonly NewJournalEntry[], updatedAt: string): NewChunk[] {
  const chunks: NewChunk[] = [];
  for (let start = 0; start < entries.length; start += CHUNK_ENTRIES) {
    const part = entries.slice(start, start + CHUNK_ENTRIES);
    const stored: StoredEntries = {};
    const payloads: StoredPayloads = {};
    let firstSeq = Infinity;
    let lastSeq = -Infinity;
    for (const entry of part) {
      stored[entry.seq] = {
        k: entry.localKey,
        ...(entry.syncKey === undefined ? {} : { y: entry.syncKey }),
        m: entry.mode,
        ...(entry.crmId === undefined ? {} : { c: entry.crmId }),
        s: 'pending',
        a: 0,
        u: updatedAt,
      };
      payloads[entry.seq] = entry.payload;
      firstSeq = Math.min(firstSeq, entry.seq);
      lastSeq = Math.max(lastSeq, entry.seq);
    }
    chunks.push({ firstSeq, lastSeq, entries: JSON.stringify(stored), payloads: JSON.stringify(payloads), count: part.length });
  }
  return chunks;
}

/** Marks the listed entries sent in `batchId` and counts an attempt per listing; unknown seqs are ignored. */
export function applySent(entries: StoredEntries, seqs: readonly number[], batchId: string, updatedAt: string): boolean {
  let changed = false;
  for (const seq of seqs) {
    const entry = entries[seq];
    if (entry === undefined) continue;
    entry.s = 'sent';
    entry.b = batchId;
    entry.a += 1;
    entry.u = updatedAt;
    changed = true;
  }
  return changed;
}

/**
 * Applies outcomes in order; unknown seqs are ignored. A `crmId` replaces the known one, an absent
 * one keeps it; action and reject are the outcome's (absent when it has none). A committed entry's
 * payload is dropped (`d`), for good. Returns whether an entry changed and whether a payload was dropped.
 */
export function applyOutcomes(entries: StoredEntries, outcomes: readonly JournalOutcome[], updatedAt: string): { readonly changed: boolean; readonly dropped: boolean } {
  let changed = false;
  let dropped = false;
  for (const outcome of outcomes) {
    const entry = entries[outcome.seq];
    if (entry === undefined) continue;
    entry.s = outcome.state;
    if (outcome.crmId !== undefined) entry.c = outcome.crmId;
    if (outcome.action === undefined) delete entry.x;
    else entry.x = outcome.action;
    if (outcome.reject === undefined) delete entry.r;
    else entry.r = outcome.reject;
    entry.u = updatedAt;
    if (outcome.state === 'committed' && entry.d === undefined) {
      entry.d = 1;
      dropped = true;
    }
    changed = true;
  }
  return { changed, dropped };
}

/** Drops the payloads of the settled (committed, rejected) entries, as closing a run does. */
export function dropSettledPayloads(entries: StoredEntries): boolean {
  let dropped = false;
  for (const entry of Object.values(entries)) {
    if ((entry.s === 'committed' || entry.s === 'rejected') && entry.d === undefined) {
      entry.d = 1;
      dropped = true;
    }
  }
  return dropped;
}

/** True when no entry of the chunk holds its payload any more (the payloads can go without reading them). */
export function allPayloadsDropped(entries: StoredEntries): boolean {
  return Object.values(entries).every((entry) => entry.d === 1);
}

/** The kept payloads without those of dropped entries. */
export function keptPayloads(entries: StoredEntries, payloads: StoredPayloads): StoredPayloads {
  const kept: StoredPayloads = {};
  for (const [seq, payload] of Object.entries(payloads)) if (entries[seq] !== undefined && entries[seq].d === undefined) kept[seq] = payload;
  return kept;
}

/** Entries per state, in {@link JOURNAL_STATES} order. */
export function stateCounts(entries: StoredEntries): number[] {
  const counts = [0, 0, 0, 0, 0];
  for (const entry of Object.values(entries)) counts[JOURNAL_STATES.indexOf(entry.s)]! += 1;
  return counts;
}

/** An entry as the journal reads it back: a dropped or missing payload reads as `{}`. */
export function toEntry(runId: string, seq: number, stored: StoredEntry, payloads: StoredPayloads): JournalEntry {
  return {
    runId,
    seq,
    localKey: stored.k,
    ...(stored.y === undefined ? {} : { syncKey: stored.y }),
    mode: stored.m,
    ...(stored.c === undefined ? {} : { crmId: stored.c }),
    payload: stored.d === undefined ? (payloads[seq] ?? {}) : {},
    state: stored.s,
    ...(stored.x === undefined ? {} : { action: stored.x }),
    ...(stored.r === undefined ? {} : { reject: stored.r }),
    ...(stored.b === undefined ? {} : { batchId: stored.b }),
    attempts: stored.a,
    updatedAt: stored.u,
  };
}
