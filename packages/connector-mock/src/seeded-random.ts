/**
 * One small seeded pseudo-random generator for every place that needs repeatable "random" values:
 * CRM ids, demo sample data and emulator fault draws.
 *
 * @module
 */

/**
 * Creates a seeded generator of numbers in `[0, 1)`, like `Math.random` but repeatable: the same
 * seed gives the same sequence on every machine. The algorithm is mulberry32, hand-written because
 * `Math.random` cannot be seeded and no installed library offers a seeded generator; it is well
 * spread enough for test data and fault draws, and not meant for anything security-related.
 *
 * Every value is a 32-bit integer divided by 2^32, so `Math.floor(random() * 2 ** 32)` gives the
 * integer back exactly.
 *
 * @param seed - Any number; only its low 32 bits are used.
 */
export function createSeededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
