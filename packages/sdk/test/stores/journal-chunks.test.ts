import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { journalChunks, type NewJournalEntry } from '../../src/index.js';

const { CHUNK_ENTRIES, newChunks, parseStates } = journalChunks;

/**
 * What the chunk texts must parse to: the objects by seq the layout documents, made the plain way
 * and passed through `JSON.stringify` and `JSON.parse` as the store did before (so `-0` reads back
 * as `0`, as it always has).
 */
function expectedChunks(entries: readonly NewJournalEntry[], updatedAt: string) {
  const chunks = [];
  for (let start = 0; start < entries.length; start += CHUNK_ENTRIES) {
    const part = entries.slice(start, start + CHUNK_ENTRIES);
    const keys: Record<string, unknown> = {};
    const e: Record<string, unknown> = {};
    const payloads: Record<string, unknown> = {};
    for (const entry of part) {
      keys[entry.seq] = entry.syncKey === undefined ? [entry.localKey, entry.mode] : [entry.localKey, entry.mode, entry.syncKey];
      e[entry.seq] = entry.crmId === undefined ? [0, 0, 0] : [0, 0, 0, null, entry.crmId];
      payloads[entry.seq] = entry.payload;
    }
    const seqs = part.map((entry) => entry.seq);
    const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
    chunks.push({ firstSeq: Math.min(...seqs), lastSeq: Math.max(...seqs), count: part.length, keys: roundTrip(keys), states: roundTrip({ U: [updatedAt], B: [], e }), payloads: roundTrip(payloads) });
  }
  return chunks;
}

const text = fc.string({ unit: 'binary', maxLength: 12 });
const entryArbitrary = fc.record(
  {
    localKey: text,
    mode: fc.constantFrom('insert' as const, 'update' as const, 'upsert' as const),
    syncKey: text,
    crmId: text,
    payload: fc.dictionary(text, fc.oneof(text, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)), { maxKeys: 5 }),
  },
  { requiredKeys: ['localKey', 'mode', 'payload'] },
);

describe('journalChunks.newChunks', () => {
  it('makes texts that parse to the entries by seq, for any keys, ids and values, in any seq order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 450 }), fc.array(entryArbitrary, { minLength: 450, maxLength: 450 }), (seqs, shapes) => {
        const entries: NewJournalEntry[] = seqs.map((seq, index) => ({ seq, ...shapes[index]! }));
        const made = newChunks(entries, '2026-12-05T10:00:00.000Z');
        const expected = expectedChunks(entries, '2026-12-05T10:00:00.000Z');
        expect(made).toHaveLength(expected.length);
        made.forEach((chunk, index) => {
          const want = expected[index]!;
          expect([chunk.firstSeq, chunk.lastSeq, chunk.count]).toEqual([want.firstSeq, want.lastSeq, want.count]);
          expect(JSON.parse(chunk.entries)).toEqual(want.keys);
          expect(parseStates(chunk.states)).toEqual(want.states);
          expect(JSON.parse(chunk.payloads)).toEqual(want.payloads);
        });
      }),
      // A fixed seed keeps the run deterministic; the examples cover what random runs once found.
      { numRuns: 60, seed: 20261205, examples: [[[7, 3], [{ localKey: 'a', mode: 'upsert', payload: { '': -0, n: 1.5e300 } }, ...Array.from({ length: 449 }, () => ({ localKey: 'b', mode: 'insert' as const, payload: {} }))]]] },
    );
  });

  it('cuts chunks of 200 in the order given and makes none for no entries', () => {
    const entries: NewJournalEntry[] = Array.from({ length: 401 }, (_, index) => ({ seq: 1000 - index, localKey: `k${index}`, mode: 'upsert', payload: { n: index } }));
    const made = newChunks(entries, '2026-12-05T10:00:00.000Z');
    expect(made.map((chunk) => [chunk.firstSeq, chunk.lastSeq, chunk.count])).toEqual([
      [801, 1000, 200],
      [601, 800, 200],
      [600, 600, 1],
    ]);
    expect(newChunks([], '2026-12-05T10:00:00.000Z')).toEqual([]);
  });
});
