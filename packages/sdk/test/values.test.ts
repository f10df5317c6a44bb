import { describe, expect, it } from 'vitest';
import { parseInstant, toInstant } from '../src/index.js';

describe('instants', () => {
  it('normalises any ISO date-time with an offset to a UTC instant with milliseconds', () => {
    expect(parseInstant('2024-03-31T03:30:00+02:00')).toBe('2024-03-31T01:30:00.000Z');
    expect(parseInstant('2024-03-31T01:30:00Z')).toBe('2024-03-31T01:30:00.000Z');
  });
  it('refuses text that is not a date-time with an offset', () => {
    expect(parseInstant('2024-03-31')).toBeUndefined();
    expect(parseInstant('2024-03-31T01:30:00')).toBeUndefined();
    expect(() => toInstant(new Date(Number.NaN))).toThrow(/invalid date/);
  });
});
