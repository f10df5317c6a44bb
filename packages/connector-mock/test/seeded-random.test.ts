import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../src/index.js';

describe('createSeededRandom', () => {
  it('gives the same sequence for the same seed, on every machine (mulberry32 reference values)', () => {
    const random = createSeededRandom(20121101);
    expect([random(), random(), random()]).toEqual([0.3552970066666603, 0.810799750732258, 0.8145110448822379]);
  });

  it('gives different sequences for different seeds', () => {
    const first = createSeededRandom(1);
    const second = createSeededRandom(2);
    expect(Array.from({ length: 4 }, first)).not.toEqual(Array.from({ length: 4 }, second));
  });

  it('stays in [0, 1) and each value times 2^32 is a whole 32-bit number', () => {
    const random = createSeededRandom(7);
    for (let draw = 0; draw < 1000; draw += 1) {
      const value = random();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      expect(Number.isInteger(value * 2 ** 32)).toBe(true);
    }
  });
});
