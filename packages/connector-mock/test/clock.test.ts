import { describe, expect, it } from 'vitest';
import { InMemoryCrm, ManualClock, MockConnector, SystemClock } from '../src/index.js';

describe('CRM clocks', () => {
  it('a manual clock stands still until set or advanced, forwards or backwards', () => {
    const clock = new ManualClock('2024-03-31T01:30:00.000Z');
    expect(clock.now().toISOString()).toBe('2024-03-31T01:30:00.000Z');
    clock.advance(1500);
    expect(clock.now().toISOString()).toBe('2024-03-31T01:30:01.500Z');
    clock.advance(-3000);
    expect(clock.now().toISOString()).toBe('2024-03-31T01:29:58.500Z');
    clock.set(new Date('2025-01-01T00:00:00.000Z'));
    expect(clock.now().toISOString()).toBe('2025-01-01T00:00:00.000Z');
  });

  it('a manual clock refuses text that is not a date, saying how to fix it', () => {
    expect(() => new ManualClock('yesterday')).toThrow(/not a valid date; pass a Date or an ISO 8601 string/);
    expect(() => new ManualClock().advance(Number.NaN)).toThrow(/finite number/);
  });

  it('a skewed system clock makes the connector report server time ahead of the client', async () => {
    const connector = new MockConnector(new InMemoryCrm({ clock: new SystemClock(3_600_000) }));
    const before = Date.now();
    const serverTime = Date.parse((await connector.serverTime())._unsafeUnwrap());
    expect(serverTime).toBeGreaterThanOrEqual(before + 3_600_000);
  });
});
