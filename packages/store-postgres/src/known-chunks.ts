/**
 * The chunk states a PostgreSQL journal last wrote for one run, so that a batch step can be
 * written without reading its chunks first (see `PostgresExportJournal.writeKnown`).
 *
 * What is kept is only a belief: the write that uses it is guarded by the hash of the `states`
 * text it believes the row holds, and changes nothing unless every row still holds it. So a
 * belief that is wrong (a write that failed after it was noted, another process writing the run)
 * costs a fallback to the reading path, never a wrong write.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { journalChunks } from '@crm-sync/sdk';

type ChunkStates = journalChunks.ChunkStates;
const { parseStates, tupleOf } = journalChunks;

/**
 * At most this many chunks kept per run (about 200 entries each). A chunk is let go as soon as
 * every entry of it is settled, so this bounds only a run whose entries stay unsettled.
 */
export const KNOWN_CHUNKS_PER_RUN = 2_000;

/** What a write made of a chunk: its `states` text and its counts by state (in `JOURNAL_STATES` order). */
export interface WrittenChunk {
  readonly text: string;
  readonly counts: readonly number[];
}

/** A chunk as this journal last wrote it. */
export interface KnownChunk {
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The `states` text the row holds, as written. */
  text: string;
  /** Its MD5 (hex), as PostgreSQL's `md5(states)` gives it; made when first needed. */
  hash?: string;
  /** `text` parsed; made when first needed, changed in place by the steps. */
  states?: ChunkStates;
  /** The row's `marks` text as written (sent marks not yet folded into `text`): empty when none. */
  marks: string;
}

/** The known chunks of one run, looked up by seq. */
export class KnownChunks {
  private readonly byFirst = new Map<number, KnownChunk>();
  /** First seqs, ascending. */
  private readonly firsts: number[] = [];

  /** Notes chunk rows as written (their `states` texts). Past the limit, the rest are not kept. */
  add(chunks: readonly { readonly firstSeq: number; readonly lastSeq: number; readonly states: string }[]): void {
    for (const chunk of chunks) {
      if (this.byFirst.size >= KNOWN_CHUNKS_PER_RUN) return;
      this.set({ firstSeq: chunk.firstSeq, lastSeq: chunk.lastSeq, text: chunk.states, marks: '' });
    }
  }

  /** Notes a chunk as written with `states` (`written`: its text and counts): kept unless every entry is settled. */
  written(firstSeq: number, lastSeq: number, states: ChunkStates, written: WrittenChunk): void {
    const { text, counts } = written;
    // pending, sent or unknown: a later step may still change it.
    if (counts[0]! + counts[1]! + counts[4]! === 0) {
      this.forget(firstSeq);
      return;
    }
    if (!this.byFirst.has(firstSeq) && this.byFirst.size >= KNOWN_CHUNKS_PER_RUN) return;
    this.set({ firstSeq, lastSeq, text, states, marks: '' });
  }

  /** The known chunk holding `seq` (its states parsed), or `undefined` when none is known to. */
  find(seq: number): KnownChunk | undefined {
    // The last chunk starting at or before seq, and a few before it (chunks of entries added out of
    // order can overlap); anything else is not known.
    let low = 0;
    let high = this.firsts.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (this.firsts[middle]! <= seq) low = middle + 1;
      else high = middle - 1;
    }
    for (let index = high; index >= 0 && index > high - 4; index -= 1) {
      const chunk = this.byFirst.get(this.firsts[index]!)!;
      if (chunk.lastSeq < seq) continue;
      chunk.states ??= parseStates(chunk.text);
      if (tupleOf(chunk.states, seq) !== undefined) return chunk;
    }
    return undefined;
  }

  /** The MD5 of the chunk's known text. */
  hashOf(chunk: KnownChunk): string {
    chunk.hash ??= createHash('md5').update(chunk.text).digest('hex');
    return chunk.hash;
  }

  forget(firstSeq: number): void {
    if (!this.byFirst.delete(firstSeq)) return;
    const at = this.position(firstSeq);
    if (this.firsts[at] === firstSeq) this.firsts.splice(at, 1);
  }

  private set(chunk: KnownChunk): void {
    if (!this.byFirst.has(chunk.firstSeq)) {
      const at = this.position(chunk.firstSeq);
      this.firsts.splice(at, 0, chunk.firstSeq);
    }
    this.byFirst.set(chunk.firstSeq, chunk);
  }

  /** Where `firstSeq` is or would go in {@link KnownChunks.firsts}. */
  private position(firstSeq: number): number {
    const last = this.firsts.length - 1;
    if (last < 0 || this.firsts[last]! < firstSeq) return last + 1;
    let low = 0;
    let high = last;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.firsts[middle]! < firstSeq) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
