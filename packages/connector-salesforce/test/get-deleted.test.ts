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
    harness = await startHarness({ fixedClock: true });
    const crm = harness.emulator.crm;
    const base = Date.parse('2024-01-01T12:30:00.000Z');
    const times = [29_999, 40_000, 45_500, 50_000, 50_001].map((offset) => new Date(base - 3_600_000 + offset).toISOString());
    const ids = times.map((at, n) => {
      const outcome = crm.insert('Contact', contactValues(n));
      if (!outcome.ok) throw new Error(outcome.reject.message);
      crm.delete('Contact', outcome.id, { at });
      return outcome.id;
    });
    if (!(crm.clock instanceof ManualClock)) throw new Error('the emulator was started with fixedClock: true, so its engine has a manual clock');
    crm.clock.set(new Date(base).toISOString());
    const page = (await harness.connector.getDeleted({ object: 'Contact', start: times[1]!, end: times[3]! }))._unsafeUnwrap();
    expect(page.records.map((r) => r.id)).toEqual(ids.slice(1, 4));
    expect(page.records.map((r) => r.deletedAt)).toEqual(times.slice(1, 4));
    expect(page.nextCursor).toBeUndefined();
  });

  it('fails with retention-exceeded for a window older than 15 days', async () => {
    harness = await startHarness({ fixedClock: true });
    const now = harness.emulator.crm.clock.now().getTime();
    const error = (await harness.connector.getDeleted({ object: 'Contact', start: new Date(now - 16 * 86_400_000).toISOString(), end: new Date(now).toISOString() }))._unsafeUnwrapErr();
    expect([error.kind, error.retryable, error.vendorCode]).toEqual(['retention-exceeded', false, 'INVALID_REPLICATION_DATE']);
    expect(error.message).toMatch(/full re-sync/);
  });

  function deleteAt(h: Harness, n: number, at: string): string {
    const outcome = h.emulator.crm.insert('Contact', contactValues(n));
    if (!outcome.ok) throw new Error(outcome.reject.message);
    h.emulator.crm.delete('Contact', outcome.id, { at });
    return outcome.id;
  }

  function clockOf(h: Harness): ManualClock {
    if (!(h.emulator.crm.clock instanceof ManualClock)) throw new Error('the emulator was started with fixedClock: true, so its engine has a manual clock');
    return h.emulator.crm.clock;
  }

  it('does not report the deletions of the current minute: latestDateCovered stays on the last whole minute', async () => {
    harness = await startHarness({ fixedClock: true });
    const clock = clockOf(harness);
    clock.set('2024-01-01T12:30:40.000Z');
    const id = deleteAt(harness, 1, '2024-01-01T12:30:20.000Z');
    const first = (await harness.connector.getDeleted({ object: 'Contact', start: '2024-01-01T12:00:00.000Z', end: '2024-01-01T12:30:40.000Z' }))._unsafeUnwrap();
    expect(first.records).toEqual([]);
    expect(first.latestDateCovered).toBe('2024-01-01T12:30:00.000Z');
    // The next window starts at the covered end and finds the deletion once the minute is over.
    clock.set('2024-01-01T12:31:05.000Z');
    const second = (await harness.connector.getDeleted({ object: 'Contact', start: first.latestDateCovered!, end: '2024-01-01T12:31:05.000Z' }))._unsafeUnwrap();
    expect(second.records.map((record) => record.id)).toEqual([id]);
    expect(second.latestDateCovered).toBe('2024-01-01T12:31:00.000Z');
  });

  it('holds latestDateCovered back by the replication lag the emulator is given', async () => {
    harness = await startHarness({ replicationLagMs: 5 * 60_000, fixedClock: true });
    clockOf(harness).set('2024-01-01T12:30:40.000Z');
    const id = deleteAt(harness, 1, '2024-01-01T12:24:00.000Z');
    deleteAt(harness, 2, '2024-01-01T12:26:00.000Z');
    const page = (await harness.connector.getDeleted({ object: 'Contact', start: '2024-01-01T12:00:00.000Z', end: '2024-01-01T12:30:40.000Z' }))._unsafeUnwrap();
    expect(page.latestDateCovered).toBe('2024-01-01T12:25:00.000Z');
    expect(page.records.map((record) => record.id)).toEqual([id]);
  });

  it("INVALID_REPLICATION_DATE carries Salesforce's own earliestDateAvailable (the delete log was purged early), and a window starting there is accepted", async () => {
    harness = await startHarness({ fixedClock: true });
    clockOf(harness).set('2024-01-20T12:00:00.000Z');
    deleteAt(harness, 1, '2024-01-12T00:00:00.000Z');
    const kept = deleteAt(harness, 2, '2024-01-18T00:00:00.000Z');
    // Well inside 15 days, but the log before 2024-01-15 is gone: now - 15 days is not the answer.
    harness.emulator.crm.purgeDeleted('Contact', '2024-01-15T00:00:00.000Z');
    const error = (await harness.connector.getDeleted({ object: 'Contact', start: '2024-01-10T00:00:00.000Z', end: '2024-01-20T12:00:00.000Z' }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'retention-exceeded', vendorCode: 'INVALID_REPLICATION_DATE', earliestAvailable: '2024-01-15T00:00:00.000Z' });
    expect(error.message).toContain('2024-01-15T00:00:00.000Z');
    const page = (await harness.connector.getDeleted({ object: 'Contact', start: error.kind === 'retention-exceeded' ? error.earliestAvailable! : '', end: '2024-01-20T12:00:00.000Z' }))._unsafeUnwrap();
    expect(page.records.map((record) => record.id)).toEqual([kept]);
  });
});
