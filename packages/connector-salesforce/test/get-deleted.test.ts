import { ManualClock } from '@crm-sync/connector-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { contactValues, startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('getDeleted', () => {
  it('keeps both bounds inclusive to the millisecond although Salesforce ignores seconds', async () => {
    harness = await startHarness();
    const crm = harness.emulator.crm;
    const base = Date.parse('2024-01-01T12:30:00.000Z');
    const times = [29_999, 40_000, 45_500, 50_000, 50_001].map((offset) => new Date(base - 3_600_000 + offset).toISOString());
    const ids = times.map((at, n) => {
      const outcome = crm.insert('Contact', contactValues(n));
      if (!outcome.ok) throw new Error(outcome.reject.message);
      crm.delete('Contact', outcome.id, { at });
      return outcome.id;
    });
    if (!(crm.clock instanceof ManualClock)) throw new Error('the emulator default engine has a manual clock');
    crm.clock.set(new Date(base).toISOString());
    const page = (await harness.connector.getDeleted({ object: 'Contact', start: times[1]!, end: times[3]! }))._unsafeUnwrap();
    expect(page.records.map((r) => r.id)).toEqual(ids.slice(1, 4));
    expect(page.records.map((r) => r.deletedAt)).toEqual(times.slice(1, 4));
    expect(page.nextCursor).toBeUndefined();
  });

  it('fails with retention-exceeded for a window older than 15 days', async () => {
    harness = await startHarness();
    const now = harness.emulator.crm.clock.now().getTime();
    const error = (await harness.connector.getDeleted({ object: 'Contact', start: new Date(now - 16 * 86_400_000).toISOString(), end: new Date(now).toISOString() }))._unsafeUnwrapErr();
    expect([error.kind, error.retryable, error.vendorCode]).toEqual(['retention-exceeded', false, 'INVALID_REPLICATION_DATE']);
    expect(error.message).toMatch(/full re-sync/);
  });
});
