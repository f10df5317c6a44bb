/**
 * A journal layout for stores over a database: entries kept by chunk, one row per up to
 * {@link CHUNK_ENTRIES} entries of one `addPending` step, as the SQLite and PostgreSQL stores keep
 * them in `journal_chunks`. A batch step (mark sent, record outcomes) then rewrites one row for its
 * 200 records, not 200 rows. A row holds three JSON texts: `entries`, what never changes once
 * added ({@link StoredKeys}, an object by seq); `states`, what the steps change ({@link ChunkStates},
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

/** What never changes of an entry once added: `[localKey, mode]` or `[localKey, mode, syncKey]`. */
export type StoredKeys = Record<string, readonly [string, WriteMode] | readonly [string, WriteMode, string]>;

/** One entry's changing part: `[state, attempts, updatedAt, batchId, crmId, action, reject, dropped]`. */
export type StateTuple = (string | number | Reject | null)[];

/**
 * The changing part of a chunk's entries (its `states` column): per seq a {@link StateTuple}, state
 * as its index in {@link JOURNAL_STATES}, absent fields null or left out at the end, `dropped` 1
 * once the payload is dropped (committed, or settled when its run closed). `updatedAt` and
 * `batchId` are indexes into `U` and `B` (a step gives all its entries the same ones), or the text
 * itself (as the schema migration writes them). Steps change the parsed tuples in place and the
 * whole object is written back: no entry is decoded to be changed.
 */
export interface ChunkStates {
  U: string[];
  B: string[];
  e: Record<string, StateTuple>;
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

/** Reads a chunk's `states` column. */
export function parseStates(text: string): ChunkStates {
  const parsed = JSON.parse(text) as Partial<ChunkStates> & Pick<ChunkStates, 'e'>;
  return { U: parsed.U ?? [], B: parsed.B ?? [], e: parsed.e };
}

/** The `states` column text; `U` and `B` rebuilt first when they hold many texts (steps leave old ones). */
export function stringifyStates(states: ChunkStates): string {
  if (states.U.length + states.B.length <= TABLE_LIMIT) return JSON.stringify(states);
  const U: string[] = [];
  const B: string[] = [];
  for (const tuple of Object.values(states.e)) {
    tuple[UPDATED_AT] = indexIn(U, text(states.U, tuple[UPDATED_AT])!);
    const batchId = text(states.B, tuple[BATCH_ID]);
    if (batchId !== undefined) tuple[BATCH_ID] = indexIn(B, batchId);
  }
  return JSON.stringify({ U, B, e: states.e });
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
 * up to {@link CHUNK_ENTRIES}, in the order given, all `pending`. `entries` and `states` are what
 * `JSON.stringify` makes of the objects by seq ({@link StoredKeys}, {@link ChunkStates}), with the
 * entries in the order given: they parse to the same objects. They are built entry by entry, not
 * by building those objects and stringifying them: objects keyed by large, sparse seqs are slow for
 * V8 to build and to stringify, and this runs for every record exported (100,000 entries: 84 ms
 * instead of 182 ms). `payloads` names the fields once per chunk ({@link parsePayloads} reads it to
 * what `JSON.stringify` and `JSON.parse` make of the payloads by seq).
 */
export function newChunks(entries: readonly NewJournalEntry[], updatedAt: string): NewChunk[] {
  const chunks: NewChunk[] = [];
  const head = `{"U":${JSON.stringify([updatedAt])},"B":[],"e":{`;
  for (let start = 0; start < entries.length; start += CHUNK_ENTRIES) {
    const end = Math.min(entries.length, start + CHUNK_ENTRIES);
    let keys = '{';
    let states = head;
    const names = Object.keys(entries[start]!.payload).filter((name) => entries[start]!.payload[name] !== undefined);
    const seqs: number[] = [];
    const rows: (readonly FieldValue[] | Readonly<Record<string, FieldValue>>)[] = [];
    let firstSeq = Infinity;
    let lastSeq = -Infinity;
    for (let index = start; index < end; index += 1) {
      const entry = entries[index]!;
      const key = `${index === start ? '' : ','}${JSON.stringify(String(entry.seq))}:`;
      keys += key + JSON.stringify(entry.syncKey === undefined ? [entry.localKey, entry.mode] : [entry.localKey, entry.mode, entry.syncKey]);
      states += key + (entry.crmId === undefined ? '[0,0,0]' : `[0,0,0,null,${JSON.stringify(entry.crmId)}]`);
      seqs.push(entry.seq);
      rows.push(payloadRow(names, entry.payload));
      firstSeq = Math.min(firstSeq, entry.seq);
      lastSeq = Math.max(lastSeq, entry.seq);
    }
    const payloads: ColumnarPayloads = { v: 2, c: names, s: seqs, p: rows };
    chunks.push({ firstSeq, lastSeq, entries: `${keys}}`, states: `${states}}}`, payloads: JSON.stringify(payloads), count: end - start });
  }
  return chunks;
}

/** Marks the listed entries sent in `batchId` and counts an attempt per listing; unknown seqs are ignored. Returns whether one changed. */
export function applySent(states: ChunkStates, seqs: readonly number[], batchId: string, updatedAt: string): boolean {
  let changed = false;
  let updated = -1;
  let batch = -1;
  for (const seq of seqs) {
    const tuple = states.e[seq];
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
    const found = states.e[outcome.seq];
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
  for (const found of Object.values(states.e)) {
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
  return Object.values(states.e).every((tuple) => tuple[DROPPED] === 1);
}

/** The kept payloads without those of dropped entries. */
export function keptPayloads(states: ChunkStates, payloads: StoredPayloads): StoredPayloads {
  const kept: StoredPayloads = {};
  for (const [seq, payload] of Object.entries(payloads)) {
    const tuple = states.e[seq];
    if (tuple !== undefined && tuple[DROPPED] !== 1) kept[seq] = payload;
  }
  return kept;
}

/** Entries per state, in {@link JOURNAL_STATES} order. */
export function stateCounts(states: ChunkStates): number[] {
  const counts = [0, 0, 0, 0, 0];
  for (const tuple of Object.values(states.e)) counts[tuple[STATE] as number]! += 1;
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
  for (const [key, tuple] of Object.entries(chunk.e)) {
    const seq = Number(key);
    if (seq <= afterSeq || (states !== undefined && !states.has(stateOf(tuple)))) continue;
    keys ??= JSON.parse(row.entries) as StoredKeys;
    payloads ??= parsePayloads(row.payloads);
    found.push(toEntry(runId, seq, keys[key]!, chunk, tuple, payloads));
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
  const states: ChunkStates = { U: [], B: [], e: {} };
  const payloads: Record<string, unknown> = {};
  for (const entry of entries) {
    keys[entry.seq] = entry.syncKey === null ? [entry.localKey, entry.mode] : [entry.localKey, entry.mode, entry.syncKey];
    states.e[entry.seq] = [
      JOURNAL_STATES.indexOf(entry.state),
      entry.attempts,
      indexIn(states.U, entry.updatedAt),
      entry.batchId === null ? null : indexIn(states.B, entry.batchId),
      entry.crmId,
      entry.action,
      entry.reject,
      entry.payload === null ? 1 : null,
    ];
    if (entry.payload !== null) payloads[entry.seq] = JSON.parse(entry.payload) as unknown;
  }
  const seqs = entries.map((entry) => entry.seq);
  return {
    firstSeq: Math.min(...seqs),
    lastSeq: Math.max(...seqs),
    entries: JSON.stringify(keys),
    states: JSON.stringify(states),
    payloads: JSON.stringify(payloads),
    count: entries.length,
    counts: stateCounts(states),
  };
}
