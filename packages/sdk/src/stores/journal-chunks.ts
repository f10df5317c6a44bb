/**
 * A journal layout for stores over a database: entries kept by chunk, one row per up to
 * {@link CHUNK_ENTRIES} entries of one `addPending` step, as the SQLite and PostgreSQL stores keep
 * them in `journal_chunks`. A batch step (mark sent, record outcomes) then rewrites one row for its
 * 200 records, not 200 rows. A row holds three JSON texts: `entries`, what never changes once
 * added (read it with {@link parseKeys}); `states`, what the steps change ({@link ChunkStates},
 * compact, so that a step rewrites little); `payloads`, the values still kept (read them with
 * {@link parsePayloads}: as written by {@link newChunks} the field names are written once per
 * chunk, an object by seq once a step rewrote them). One count column per state lets a run be counted without reading JSON. The store reads the
 * rows a step touches in the step's transaction, changes them with these functions and writes them
 * back; a store author may reuse the layout for another database.
 *
 * Pure functions: no I/O.
 *
 * @module
 */
import type { Reject, WriteAction, WriteMode } from '../contract/requests.js';
import type { FieldValue } from '../contract/values.js';
import type { JournalEntry, JournalOutcome, JournalState, NewJournalEntry } from './types.js';

/**
 * Entries per chunk row. The usual batch (200): the send loop reads pending entries in seq order
 * and cuts them into batches of up to 200, so a batch step usually rewrites one chunk; the cost of
 * a step is the rewrite of its chunks' `states`, which grows with the chunk.
 */
export const CHUNK_ENTRIES = 200;

/** What never changes of an entry once added, by seq: `[localKey, mode]` or `[localKey, mode, syncKey]` ({@link parseKeys} reads it from a chunk's `entries`). */
export type StoredKeys = Record<string, readonly [string, WriteMode] | readonly [string, WriteMode, string]>;

/**
 * A chunk's `entries` as {@link newChunks} writes them: the seqs in the order added (`s`) and, at
 * the same index, each local key (`k`); the mode (`m`) once when every entry has the same one, else
 * one per entry; the sync keys (`y`) left out when no entry has one, `1` when every entry's is its
 * local key (the usual export, keyed by the row's key), else one per entry (the key, `0` for none,
 * `1` for the local key). About a third as long as an object by seq (100,000 entries: 1.6 MB
 * instead of 3.9 MB), which a SQLite step writes again each time it rewrites the row.
 */
interface ColumnarKeys {
  readonly v: 2;
  readonly s: readonly number[];
  readonly k: readonly string[];
  readonly m: WriteMode | readonly WriteMode[];
  readonly y?: 1 | readonly (string | 0 | 1)[];
}

/** Reads a chunk's `entries` column, in either form: as {@link newChunks} writes it, or as an object by seq (older releases, the schema migrations). */
export function parseKeys(text: string): StoredKeys {
  const parsed = JSON.parse(text) as StoredKeys | ColumnarKeys;
  // An object by seq has only seqs as keys: never "v".
  if ((parsed as { v?: unknown }).v !== 2 || !Array.isArray((parsed as { s?: unknown }).s)) return parsed as StoredKeys;
  const { s: seqs, k: localKeys, m: modes, y: syncKeys } = parsed as ColumnarKeys;
  const keys: Record<string, StoredKeys[string]> = {};
  seqs.forEach((seq, index) => {
    const localKey = localKeys[index]!;
    const mode = typeof modes === 'string' ? modes : modes[index]!;
    const syncKey = syncKeys === undefined ? 0 : syncKeys === 1 ? 1 : syncKeys[index]!;
    keys[seq] = syncKey === 0 ? [localKey, mode] : [localKey, mode, syncKey === 1 ? localKey : syncKey];
  });
  return keys;
}

/** The `entries` text of new entries `start`..`end` ({@link ColumnarKeys}). */
function keysText(entries: readonly NewJournalEntry[], start: number, end: number, seqs: readonly number[]): string {
  const localKeys: string[] = [];
  const modes: WriteMode[] = [];
  const syncKeys: (string | 0 | 1)[] = [];
  let sameMode = true;
  let allLocal = true;
  let none = true;
  for (let index = start; index < end; index += 1) {
    const entry = entries[index]!;
    localKeys.push(entry.localKey);
    modes.push(entry.mode);
    if (entry.mode !== entries[start]!.mode) sameMode = false;
    const syncKey = entry.syncKey === undefined ? 0 : entry.syncKey === entry.localKey ? 1 : entry.syncKey;
    if (syncKey !== 1) allLocal = false;
    if (syncKey !== 0) none = false;
    syncKeys.push(syncKey);
  }
  const keys: ColumnarKeys = {
    v: 2,
    s: seqs,
    k: localKeys,
    m: sameMode ? modes[0]! : modes,
    ...(none ? {} : { y: allLocal ? 1 : syncKeys }),
  };
  return JSON.stringify(keys);
}

/** One entry's changing part: `[state, attempts, updatedAt, batchId, crmId, action, reject, dropped]`. */
export type StateTuple = (string | number | Reject | null)[];

/**
 * The changing part of a chunk's entries (its `states` column): the chunk's seqs in ascending
 * order (`s`) and, at the same index of `t`, each one's {@link StateTuple}: state as its index in
 * {@link JOURNAL_STATES}, absent fields null or left out at the end, `dropped` 1 once the payload
 * is dropped (committed, or settled when its run closed). `updatedAt` and `batchId` are indexes
 * into `U` and `B` (a step gives all its entries the same ones), or the text itself (as the schema
 * migration writes them). Steps change the parsed tuples in place and the whole object is written
 * back: no entry is decoded to be changed. Find a seq's tuple with {@link tupleOf}.
 *
 * Two arrays, not an object by seq (which {@link parseStates} still reads, as older releases and
 * the schema migrations wrote it): an object keyed by large seqs is a dictionary to V8, slow to
 * parse, walk and stringify, and every step of every exported record does all three (100,000
 * entries: about 45 ms instead of 115 ms).
 */
export interface ChunkStates {
  U: string[];
  B: string[];
  /** The seqs, ascending, each once. */
  s: number[];
  /** Each seq's tuple, at its index in `s`. */
  t: StateTuple[];
}

/** A chunk's kept payloads by seq. */
export type StoredPayloads = Record<string, Readonly<Record<string, FieldValue>>>;

/**
 * A chunk's payloads as {@link newChunks} writes them: the field names once (`c`), the seqs in the
 * order added (`s`) and, at the same index of `p`, each entry's values in the order of `c`, or the
 * payload object itself when its fields are not exactly those of `c` (an absent field stays absent).
 * Writing the names once per chunk instead of once per entry makes the text about half as long
 * (100,000 entries of 7 fields: 8 MB instead of 15 MB), which is what a store writes for every
 * record exported.
 */
interface ColumnarPayloads {
  readonly v: 2;
  readonly c: readonly string[];
  readonly s: readonly number[];
  readonly p: readonly (readonly FieldValue[] | Readonly<Record<string, FieldValue>>)[];
}

/**
 * Reads a chunk's `payloads` column, in either form: as {@link newChunks} writes it (field names
 * once per chunk) or as an object by seq (what a step writes when it drops some of them, and every
 * older release wrote).
 */
export function parsePayloads(text: string): StoredPayloads {
  const parsed = JSON.parse(text) as StoredPayloads | ColumnarPayloads;
  // An object by seq has only seqs as keys: never "v".
  if ((parsed as { v?: unknown }).v !== 2 || !Array.isArray((parsed as { s?: unknown }).s)) return parsed as StoredPayloads;
  const { c: names, s: seqs, p: rows } = parsed as ColumnarPayloads;
  const payloads: Record<string, Readonly<Record<string, FieldValue>>> = {};
  seqs.forEach((seq, index) => {
    const row = rows[index]!;
    // Object.fromEntries defines each field as its own property (a field named "__proto__" too).
    payloads[seq] = Array.isArray(row) ? Object.fromEntries(names.map((name, at) => [name, (row as readonly FieldValue[])[at]!])) : (row as Readonly<Record<string, FieldValue>>);
  });
  return payloads;
}

/** A payload's values in the order of `names` when its fields are exactly `names`, all defined; the payload itself otherwise. */
function payloadRow(names: readonly string[], payload: Readonly<Record<string, FieldValue>>): readonly FieldValue[] | Readonly<Record<string, FieldValue>> {
  const keys = Object.keys(payload);
  if (keys.length !== names.length) return payload;
  const values: FieldValue[] = [];
  for (let at = 0; at < names.length; at += 1) {
    // The usual case: the fields in the order of the first payload (own properties, as Object.keys gives them).
    if (keys[at] !== names[at]) return sameFields(names, payload);
    const value = payload[keys[at]!];
    if (value === undefined) return payload;
    values.push(value);
  }
  return values;
}

/** {@link payloadRow} for a payload of as many fields in another order. */
function sameFields(names: readonly string[], payload: Readonly<Record<string, FieldValue>>): readonly FieldValue[] | Readonly<Record<string, FieldValue>> {
  const values: FieldValue[] = [];
  for (const name of names) {
    if (!Object.hasOwn(payload, name)) return payload;
    const value = payload[name];
    if (value === undefined) return payload;
    values.push(value);
  }
  return values;
}

/** The state counts kept in a chunk row's count columns, in this order; a tuple's state is its index here. */
export const JOURNAL_STATES: readonly JournalState[] = ['pending', 'sent', 'committed', 'rejected', 'unknown'];

const STATE = 0;
const ATTEMPTS = 1;
const UPDATED_AT = 2;
const BATCH_ID = 3;
const CRM_ID = 4;
const ACTION = 5;
const REJECT = 6;
const DROPPED = 7;
/** Texts in `U` and `B` above which writing a chunk rebuilds them from the entries' own. */
const TABLE_LIMIT = 16;

/** Reads a chunk's `states` column, in either form: seqs and tuples ({@link ChunkStates}), or an object by seq. */
export function parseStates(text: string): ChunkStates {
  const parsed = JSON.parse(text) as Partial<ChunkStates> & { e?: Record<string, StateTuple> };
  const U = parsed.U ?? [];
  const B = parsed.B ?? [];
  if (parsed.e === undefined) return { U, B, s: parsed.s ?? [], t: parsed.t ?? [] };
  // An object by seq: its seqs are integer keys, which every object lists in ascending order.
  const seqs: number[] = [];
  const tuples: StateTuple[] = [];
  for (const [key, tuple] of Object.entries(parsed.e)) {
    seqs.push(Number(key));
    tuples.push(tuple);
  }
  return { U, B, s: seqs, t: tuples };
}

/** The index of `seq` in `states.s`, or -1. */
function indexOfSeq(states: ChunkStates, seq: number): number {
  const { s: seqs } = states;
  const last = seqs.length - 1;
  if (last < 0 || seq < seqs[0]! || seq > seqs[last]!) return -1;
  // The usual chunk holds consecutive seqs: the index is the offset.
  if (seqs[last]! - seqs[0]! === last) return seq - seqs[0]!;
  let low = 0;
  let high = last;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const at = seqs[middle]!;
    if (at === seq) return middle;
    if (at < seq) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

/** The tuple of `seq`, or `undefined` when the chunk does not hold it. */
export function tupleOf(states: ChunkStates, seq: number): StateTuple | undefined {
  const index = indexOfSeq(states, seq);
  return index < 0 ? undefined : states.t[index];
}

/** The `states` column text; `U` and `B` rebuilt first when they hold many texts (steps leave old ones). */
export function stringifyStates(states: ChunkStates): string {
  if (states.U.length + states.B.length <= TABLE_LIMIT) return JSON.stringify({ U: states.U, B: states.B, s: states.s, t: states.t });
  const U: string[] = [];
  const B: string[] = [];
  for (const tuple of states.t) {
    tuple[UPDATED_AT] = indexIn(U, text(states.U, tuple[UPDATED_AT])!);
    const batchId = text(states.B, tuple[BATCH_ID]);
    if (batchId !== undefined) tuple[BATCH_ID] = indexIn(B, batchId);
  }
  return JSON.stringify({ U, B, s: states.s, t: states.t });
}

/** A text from `U` or `B` by index, or the text stored in place; `undefined` for null or absent. */
function text(table: readonly string[], value: StateTuple[number] | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'number' ? table[value] : (value as string);
}

function indexIn(table: string[], value: string): number {
  const last = table.length - 1;
  if (last >= 0 && table[last] === value) return last;
  const at = table.indexOf(value);
  if (at >= 0) return at;
  table.push(value);
  return table.length - 1;
}

/** Fills a tuple to its full length, so that fields are set by index. */
function full(tuple: StateTuple): StateTuple {
  while (tuple.length <= DROPPED) tuple.push(null);
  return tuple;
}

/** A chunk row to insert. */
export interface NewChunk {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly entries: string;
  readonly states: string;
  readonly payloads: string;
  readonly count: number;
}

/**
 * Splits new entries (already without the seqs the run holds, and without repeats) into chunks of
 * up to {@link CHUNK_ENTRIES}, in the order given, all `pending`. Each text is built once per
 * chunk, never per entry: `entries` as local keys, modes and sync keys by position
 * ({@link parseKeys} reads it to the object by seq, {@link StoredKeys}); `states` with the chunk's
 * seqs in ascending order ({@link ChunkStates}); `payloads` with the field names once per chunk
 * ({@link parsePayloads} reads it to what `JSON.stringify` and `JSON.parse` make of the payloads by
 * seq). This runs for every record exported, and an object keyed by large, sparse seqs is slow for
 * V8 to build and to stringify.
 */
export function newChunks(entries: readonly NewJournalEntry[], updatedAt: string): NewChunk[] {
  const chunks: NewChunk[] = [];
  const head = `{"U":${JSON.stringify([updatedAt])},"B":[],"s":[`;
  for (let start = 0; start < entries.length; start += CHUNK_ENTRIES) {
    const end = Math.min(entries.length, start + CHUNK_ENTRIES);
    const names = Object.keys(entries[start]!.payload).filter((name) => entries[start]!.payload[name] !== undefined);
    const seqs: number[] = [];
    const rows: (readonly FieldValue[] | Readonly<Record<string, FieldValue>>)[] = [];
    let firstSeq = Infinity;
    let lastSeq = -Infinity;
    for (let index = start; index < end; index += 1) {
      const entry = entries[index]!;
      seqs.push(entry.seq);
      rows.push(payloadRow(names, entry.payload));
      firstSeq = Math.min(firstSeq, entry.seq);
      lastSeq = Math.max(lastSeq, entry.seq);
    }
    const payloads: ColumnarPayloads = { v: 2, c: names, s: seqs, p: rows };
    chunks.push({ firstSeq, lastSeq, entries: keysText(entries, start, end, seqs), states: pendingStates(head, entries, start, end, seqs), payloads: JSON.stringify(payloads), count: end - start });
  }
  return chunks;
}

/** The `states` text of new pending entries `start`..`end` (seqs `seqs`, in that order): their seqs ascending, tuples at the same index. */
function pendingStates(head: string, entries: readonly NewJournalEntry[], start: number, end: number, seqs: readonly number[]): string {
  let order: number[] | undefined;
  for (let at = 1; at < seqs.length; at += 1) {
    if (seqs[at]! < seqs[at - 1]!) {
      order = seqs.map((_, index) => index).sort((a, b) => seqs[a]! - seqs[b]!);
      break;
    }
  }
  let sorted = '';
  let tuples = '';
  for (let at = 0; at < end - start; at += 1) {
    const index = order === undefined ? at : order[at]!;
    const entry = entries[start + index]!;
    const comma = at === 0 ? '' : ',';
    sorted += comma + String(seqs[index]);
    tuples += comma + (entry.crmId === undefined ? '[0,0,0]' : `[0,0,0,null,${JSON.stringify(entry.crmId)}]`);
  }
  return `${head}${sorted}],"t":[${tuples}]}`;
}

/** Marks the listed entries sent in `batchId` and counts an attempt per listing; unknown seqs are ignored. Returns whether one changed. */
export function applySent(states: ChunkStates, seqs: readonly number[], batchId: string, updatedAt: string): boolean {
  let changed = false;
  let updated = -1;
  let batch = -1;
  for (const seq of seqs) {
    const tuple = tupleOf(states, seq);
    if (tuple === undefined) continue;
    if (!changed) {
      updated = indexIn(states.U, updatedAt);
      batch = indexIn(states.B, batchId);
      changed = true;
    }
    while (tuple.length <= BATCH_ID) tuple.push(null);
    tuple[STATE] = 1;
    tuple[ATTEMPTS] = (tuple[ATTEMPTS] as number) + 1;
    tuple[UPDATED_AT] = updated;
    tuple[BATCH_ID] = batch;
  }
  return changed;
}

/**
 * Applies outcomes in order; unknown seqs are ignored. A `crmId` replaces the known one, an absent
 * one keeps it; action and reject are the outcome's (absent when it has none). A committed entry's
 * payload is dropped, for good. Returns whether an entry changed and whether a payload was dropped.
 */
export function applyOutcomes(states: ChunkStates, outcomes: readonly JournalOutcome[], updatedAt: string): { readonly changed: boolean; readonly dropped: boolean } {
  let changed = false;
  let dropped = false;
  let updated = -1;
  for (const outcome of outcomes) {
    const found = tupleOf(states, outcome.seq);
    if (found === undefined) continue;
    if (!changed) {
      updated = indexIn(states.U, updatedAt);
      changed = true;
    }
    const tuple = full(found);
    tuple[STATE] = JOURNAL_STATES.indexOf(outcome.state);
    tuple[UPDATED_AT] = updated;
    if (outcome.crmId !== undefined) tuple[CRM_ID] = outcome.crmId;
    tuple[ACTION] = outcome.action ?? null;
    tuple[REJECT] = outcome.reject ?? null;
    if (outcome.state === 'committed' && tuple[DROPPED] !== 1) {
      tuple[DROPPED] = 1;
      dropped = true;
    }
  }
  return { changed, dropped };
}

/** Drops the payloads of the settled (committed, rejected) entries, as closing a run does. Returns whether one was dropped. */
export function dropSettledPayloads(states: ChunkStates): boolean {
  let dropped = false;
  for (const found of states.t) {
    const state = JOURNAL_STATES[found[STATE] as number];
    if ((state === 'committed' || state === 'rejected') && found[DROPPED] !== 1) {
      full(found)[DROPPED] = 1;
      dropped = true;
    }
  }
  return dropped;
}

/** True when no entry of the chunk keeps its payload (the payloads can go without reading them). */
export function allPayloadsDropped(states: ChunkStates): boolean {
  return states.t.every((tuple) => tuple[DROPPED] === 1);
}

/** The kept payloads without those of dropped entries. */
export function keptPayloads(states: ChunkStates, payloads: StoredPayloads): StoredPayloads {
  const kept: StoredPayloads = {};
  for (const [seq, payload] of Object.entries(payloads)) {
    const tuple = tupleOf(states, Number(seq));
    if (tuple !== undefined && tuple[DROPPED] !== 1) kept[seq] = payload;
  }
  return kept;
}

/** Entries per state, in {@link JOURNAL_STATES} order. */
export function stateCounts(states: ChunkStates): number[] {
  const counts = [0, 0, 0, 0, 0];
  for (const tuple of states.t) counts[tuple[STATE] as number]! += 1;
  return counts;
}

/** The state of a stored entry. */
export function stateOf(tuple: StateTuple): JournalState {
  return JOURNAL_STATES[tuple[STATE] as number]!;
}

/** An entry as the journal reads it back: a dropped or missing payload reads as `{}`. */
export function toEntry(runId: string, seq: number, keys: StoredKeys[string], states: ChunkStates, tuple: StateTuple, payloads: StoredPayloads): JournalEntry {
  const batchId = text(states.B, tuple[BATCH_ID]);
  const crmId = tuple[CRM_ID];
  const action = tuple[ACTION];
  const reject = tuple[REJECT];
  return {
    runId,
    seq,
    localKey: keys[0],
    ...(keys.length === 3 ? { syncKey: keys[2] } : {}),
    mode: keys[1],
    ...(crmId === undefined || crmId === null ? {} : { crmId: crmId as string }),
    payload: tuple[DROPPED] === 1 ? {} : (payloads[seq] ?? {}),
    state: stateOf(tuple),
    ...(action === undefined || action === null ? {} : { action: action as WriteAction }),
    ...(reject === undefined || reject === null ? {} : { reject: reject as Reject }),
    ...(batchId === undefined ? {} : { batchId }),
    attempts: tuple[ATTEMPTS] as number,
    updatedAt: text(states.U, tuple[UPDATED_AT])!,
  };
}

/** A chunk row's JSON columns as read for a listing. */
export interface ChunkTexts {
  readonly entries: string;
  readonly states: string;
  readonly payloads: string;
}

/**
 * Adds to `found` the entries of one chunk row with a seq after `afterSeq` (and in `states`, when
 * given), in the row's order; its keys and payloads are parsed only once an entry is taken.
 */
export function collectEntries(runId: string, row: ChunkTexts, afterSeq: number, states: ReadonlySet<JournalState> | undefined, found: JournalEntry[]): void {
  const chunk = parseStates(row.states);
  let keys: StoredKeys | undefined;
  let payloads: StoredPayloads | undefined;
  for (let index = 0; index < chunk.s.length; index += 1) {
    const seq = chunk.s[index]!;
    const tuple = chunk.t[index]!;
    if (seq <= afterSeq || (states !== undefined && !states.has(stateOf(tuple)))) continue;
    keys ??= parseKeys(row.entries);
    payloads ??= parsePayloads(row.payloads);
    found.push(toEntry(runId, seq, keys[seq]!, chunk, tuple, payloads));
  }
}

/** An entry as a one-row-per-entry journal (schema 4 and before) held it, for the migration to chunks. */
export interface LegacyEntry {
  readonly seq: number;
  readonly localKey: string;
  readonly syncKey: string | null;
  readonly mode: WriteMode;
  readonly crmId: string | null;
  /** The payload JSON, or null when its values were dropped. */
  readonly payload: string | null;
  readonly state: JournalState;
  readonly action: WriteAction | null;
  readonly reject: Reject | null;
  readonly batchId: string | null;
  readonly attempts: number;
  readonly updatedAt: string;
}

/** One chunk row holding the given entries as they were (an entry without payload reads `{}`, as before). */
export function legacyChunk(entries: readonly LegacyEntry[]): NewChunk & { readonly counts: number[] } {
  const keys: Record<string, StoredKeys[string]> = {};
  const states: ChunkStates = { U: [], B: [], s: [], t: [] };
  const payloads: Record<string, unknown> = {};
  for (const entry of [...entries].sort((a, b) => a.seq - b.seq)) {
    keys[entry.seq] = entry.syncKey === null ? [entry.localKey, entry.mode] : [entry.localKey, entry.mode, entry.syncKey];
    states.s.push(entry.seq);
    states.t.push([
      JOURNAL_STATES.indexOf(entry.state),
      entry.attempts,
      indexIn(states.U, entry.updatedAt),
      entry.batchId === null ? null : indexIn(states.B, entry.batchId),
      entry.crmId,
      entry.action,
      entry.reject,
      entry.payload === null ? 1 : null,
    ]);
    if (entry.payload !== null) payloads[entry.seq] = JSON.parse(entry.payload) as unknown;
  }
  const seqs = entries.map((entry) => entry.seq);
  return {
    firstSeq: Math.min(...seqs),
    lastSeq: Math.max(...seqs),
    entries: JSON.stringify(keys),
    states: stringifyStates(states),
    payloads: JSON.stringify(payloads),
    count: entries.length,
    counts: stateCounts(states),
  };
}
