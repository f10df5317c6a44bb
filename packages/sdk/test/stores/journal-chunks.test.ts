import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { journalChunks, type JournalEntry, type NewJournalEntry } from '../../src/index.js';

const { applyOutcomes, applySent, CHUNK_ENTRIES, collectEntries, newChunks, parseKeys, parsePayloads, parseStates, stateCounts, stringifyStates, tupleOf } = journalChunks;

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
    const payloads: Record<string, unknown> = {};
    for (const entry of part) {
      keys[entry.seq] = entry.syncKey === undefined ? [entry.localKey, entry.mode] : [entry.localKey, entry.mode, entry.syncKey];
      payloads[entry.seq] = entry.payload;
    }
    // The states: the seqs ascending, each one's tuple at the same index.
    const ascending = [...part].sort((a, b) => a.seq - b.seq);
    const s = ascending.map((entry) => entry.seq);
    const t = ascending.map((entry) => (entry.crmId === undefined ? [0, 0, 0] : [0, 0, 0, null, entry.crmId]));
    const seqs = part.map((entry) => entry.seq);
    const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
    chunks.push({ firstSeq: Math.min(...seqs), lastSeq: Math.max(...seqs), count: part.length, keys: roundTrip(keys), states: roundTrip({ U: [updatedAt], B: [], s, t }), payloads: roundTrip(payloads) });
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
          expect(parseKeys(chunk.entries)).toEqual(want.keys);
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

  it('reads states written as an object by seq (older releases, the schema migrations) as the same entries, and writes them back as seqs and tuples', () => {
    const old = JSON.stringify({ U: ['2026-12-01T00:00:00.000Z'], B: ['b1'], e: { 12: [1, 1, 0, 0], 3: [0, 0, 0], 7: [2, 1, 0, 0, '003A', 'created', null, 1] } });
    const states = parseStates(old);
    expect(states.s).toEqual([3, 7, 12]);
    expect(tupleOf(states, 7)).toEqual([2, 1, 0, 0, '003A', 'created', null, 1]);
    expect(tupleOf(states, 4)).toBeUndefined();
    expect(stateCounts(states)).toEqual([1, 1, 1, 0, 0]);
    const row = { entries: JSON.stringify({ 3: ['k3', 'upsert'], 7: ['k7', 'insert'], 12: ['k12', 'upsert', 's12'] }), states: old, payloads: JSON.stringify({ 3: { a: 1 }, 12: { a: 2 } }) };
    const fromOld: JournalEntry[] = [];
    collectEntries('run', row, -1, undefined, fromOld);
    const written = stringifyStates(states);
    expect(Object.keys(JSON.parse(written) as object)).toEqual(['U', 'B', 's', 't']);
    const fromNew: JournalEntry[] = [];
    collectEntries('run', { ...row, states: written }, -1, undefined, fromNew);
    expect(fromNew).toEqual(fromOld);
    expect(fromOld.map((entry) => [entry.seq, entry.localKey, entry.state, entry.payload])).toEqual([
      [3, 'k3', 'pending', { a: 1 }],
      [7, 'k7', 'committed', {}],
      [12, 'k12', 'sent', { a: 2 }],
    ]);
  });

  it('finds every seq of a chunk whose seqs are not consecutive, and no other', () => {
    const entries: NewJournalEntry[] = [40, 2, 17, 3, 99, 5].map((seq) => ({ seq, localKey: `k${seq}`, mode: 'upsert', payload: {} }));
    const [chunk] = newChunks(entries, '2026-12-05T10:00:00.000Z');
    const states = parseStates(chunk!.states);
    expect(states.s).toEqual([2, 3, 5, 17, 40, 99]);
    for (let seq = 0; seq <= 100; seq += 1) expect(tupleOf(states, seq) !== undefined).toBe([2, 3, 5, 17, 40, 99].includes(seq));
    expect(applySent(states, [17, 99, 4], 'b1', '2026-12-05T10:00:01.000Z')).toBe(true);
    expect(applyOutcomes(states, [{ seq: 99, state: 'committed', crmId: 'x' }], '2026-12-05T10:00:02.000Z')).toEqual({ changed: true, dropped: true });
    expect(stateCounts(states)).toEqual([4, 1, 1, 0, 0]);
    expect(tupleOf(parseStates(stringifyStates(states)), 99)![4]).toBe('x');
  });

  it('writes the keys by position and reads them back: one mode or one per entry; no sync key, the local key, or another ("0" and "1" too)', () => {
    const made = (list: Omit<NewJournalEntry, 'payload'>[]) => newChunks(list.map((entry) => ({ ...entry, payload: {} })), '2026-12-05T10:00:00.000Z')[0]!.entries;
    const usual = made([
      { seq: 5, localKey: 'a', mode: 'upsert', syncKey: 'a' },
      { seq: 6, localKey: 'b', mode: 'upsert', syncKey: 'b' },
    ]);
    expect(JSON.parse(usual)).toEqual({ v: 2, s: [5, 6], k: ['a', 'b'], m: 'upsert', y: 1 });
    expect(parseKeys(usual)).toEqual({ 5: ['a', 'upsert', 'a'], 6: ['b', 'upsert', 'b'] });
    const none = made([{ seq: 1, localKey: 'a', mode: 'insert' }]);
    expect(JSON.parse(none)).toEqual({ v: 2, s: [1], k: ['a'], m: 'insert' });
    expect(parseKeys(none)).toEqual({ 1: ['a', 'insert'] });
    const mixed = made([
      { seq: 9, localKey: 'a', mode: 'insert' },
      { seq: 3, localKey: 'b', mode: 'update', syncKey: 'b' },
      { seq: 4, localKey: 'c', mode: 'upsert', syncKey: 'other' },
      { seq: 7, localKey: 'd', mode: 'upsert', syncKey: '1' },
      { seq: 8, localKey: 'e', mode: 'upsert', syncKey: '0' },
      { seq: 2, localKey: 'v', mode: 'upsert', syncKey: '' },
    ]);
    expect(parseKeys(mixed)).toEqual({
      9: ['a', 'insert'],
      3: ['b', 'update', 'b'],
      4: ['c', 'upsert', 'other'],
      7: ['d', 'upsert', '1'],
      8: ['e', 'upsert', '0'],
      2: ['v', 'upsert', ''],
    });
    // What older releases and the schema migrations wrote reads as it is.
    expect(parseKeys(JSON.stringify({ 4: ['c', 'upsert', 'x'], 2: ['v', 'insert'] }))).toEqual({ 4: ['c', 'upsert', 'x'], 2: ['v', 'insert'] });
  });
});
