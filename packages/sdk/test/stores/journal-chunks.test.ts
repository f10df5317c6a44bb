import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { journalChunks, type NewJournalEntry } from '../../src/index.js';

const { CHUNK_ENTRIES, newChunks, parsePayloads, parseStates } = journalChunks;

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
const value = fc.oneof(text, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
const entryArbitrary = fc.record(
  {
    localKey: text,
    mode: fc.constantFrom('insert' as const, 'update' as const, 'upsert' as const),
    syncKey: text,
    crmId: text,
    // Random fields, or the same three fields (some left out, some undefined), as an export's records have.
    payload: fc.oneof(
      fc.dictionary(text, value, { maxKeys: 5 }),
      fc.record({ a: value, b: value, c: fc.oneof(value, fc.constant(undefined)) }, { requiredKeys: [] }),
      fc.record({ a: value, b: value, c: value }),
    ),
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
          expect(parsePayloads(chunk.payloads)).toStrictEqual(want.payloads);
        });
      }),
      // A fixed seed keeps the run deterministic; the examples cover what random runs once found.
      { numRuns: 60, seed: 20261205, examples: [[[7, 3], [{ localKey: 'a', mode: 'upsert', payload: { '': -0, n: 1.5e300 } }, ...Array.from({ length: 449 }, () => ({ localKey: 'b', mode: 'insert' as const, payload: {} }))]]] },
    );
  });

  it('writes the field names once per chunk and reads every payload back as it was: other fields, absent ones, undefined ones, "__proto__"', () => {
    const odd = JSON.parse('{"__proto__": 1, "a": 2}') as Record<string, number>;
    const payloads: Record<string, unknown>[] = [
      { a: 'x', b: 1, c: null },
      { b: 2, a: 'y', c: false },
      { a: 'z', b: 3 },
      { a: 'w', b: 4, c: undefined },
      { a: 'v', b: 5, d: 'other' },
      odd,
      { a: 'u', b: 6, c: [1, 'two'] },
      {},
    ];
    const entries: NewJournalEntry[] = payloads.map((payload, index) => ({ seq: 10 + index, localKey: `k${index}`, mode: 'upsert', payload: payload as NewJournalEntry['payload'] }));
    const [chunk] = newChunks(entries, '2026-12-05T10:00:00.000Z');
    const text = chunk!.payloads;
    // The names of the first payload once; each entry of exactly those fields as values only, in that order.
    const raw = JSON.parse(text) as { c: string[]; s: number[]; p: unknown[] };
    expect(raw.c).toEqual(['a', 'b', 'c']);
    expect(raw.s).toEqual([10, 11, 12, 13, 14, 15, 16, 17]);
    expect(raw.p.map((row) => Array.isArray(row))).toEqual([true, true, false, false, false, false, true, false]);
    expect(raw.p[1]).toEqual(['y', 2, false]);
    const read = parsePayloads(text);
    expect(read).toStrictEqual(JSON.parse(JSON.stringify(Object.fromEntries(entries.map((entry) => [entry.seq, entry.payload])))));
    expect(Object.hasOwn(read['15']!, '__proto__')).toBe(true);
    expect(read['13']).toStrictEqual({ a: 'w', b: 4 });
    expect('c' in read['12']!).toBe(false);
    // A first payload with an own "__proto__" field: a later one of as many fields but without it keeps its own.
    const [proto] = newChunks(
      [
        { seq: 1, localKey: 'p1', mode: 'insert', payload: odd },
        { seq: 2, localKey: 'p2', mode: 'insert', payload: { a: 3, b: 4 } },
      ],
      '2026-12-05T10:00:00.000Z',
    );
    expect(parsePayloads(proto!.payloads)).toStrictEqual({ 1: JSON.parse('{"__proto__": 1, "a": 2}'), 2: { a: 3, b: 4 } });
    // What a step writes back (an object by seq) reads the same way.
    expect(parsePayloads(JSON.stringify(read))).toStrictEqual(read);
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
