import { afterEach, describe, expect, it, vi } from 'vitest';
import { contactValues, startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const readContacts = (h: Harness) => h.connector.query({ object: 'Contact', fields: ['LastName'] });
const insertOne = (h: Harness, n = 1) => h.connector.upsertBatch({ object: 'Contact', mode: 'insert', records: [{ values: contactValues(n) }] });

async function ready(): Promise<Harness> {
  const h = await startHarness();
  await h.connector.describe('Contact');
  return h;
}

describe('faults surface as the right error, with no silent jsforce retry', () => {
  it('a 503 with Retry-After on a query is one request, a transient error, and keeps the delay', async () => {
    harness = await ready();
    harness.emulator.faults.add({ kind: 'unavailable', route: 'query', retryAfter: '3' });
    const error = (await readContacts(harness))._unsafeUnwrapErr();
    expect([error.kind, error.retryable, error.retryAfterMs]).toEqual(['transient', true, 3000]);
    expect(harness.emulator.requestLog.filter((e) => e.route === 'query')).toHaveLength(1);
  });

  it('a 429 whose Retry-After is an HTTP-date becomes rate-limited with the delay until that date', async () => {
    harness = await ready();
    const at = new Date(Date.now() + 60_000).toUTCString();
    harness.emulator.faults.add({ kind: 'rate-limit', route: 'query', retryAfter: at });
    const error = (await readContacts(harness))._unsafeUnwrapErr();
    expect(error.kind).toBe('rate-limited');
    expect(error.retryAfterMs).toBeGreaterThan(50_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('REQUEST_LIMIT_EXCEEDED (daily quota) is a quota stop, not retryable', async () => {
    harness = await ready();
    harness.emulator.faults.add({ kind: 'request-limit', route: 'query' });
    const error = (await readContacts(harness))._unsafeUnwrapErr();
    expect([error.kind, error.retryable, (error as { quotaExhausted?: boolean }).quotaExhausted]).toEqual(['rate-limited', false, true]);
  });

  it('a connection reset after commit on an insert is transient and in doubt, and the record exists', async () => {
    harness = await ready();
    harness.emulator.faults.add({ kind: 'reset-after-commit', route: 'collections' });
    const error = (await insertOne(harness))._unsafeUnwrapErr();
    expect([error.kind, error.inDoubt]).toEqual(['transient', true]);
    expect(harness.emulator.crm.count('Contact')).toBe(1);
  });

  it('a connection reset before commit on an insert is in doubt too, and nothing was written', async () => {
    harness = await ready();
    harness.emulator.faults.add({ kind: 'reset-before-commit', route: 'collections' });
    const error = (await insertOne(harness))._unsafeUnwrapErr();
    expect([error.kind, error.inDoubt]).toEqual(['transient', true]);
    expect(harness.emulator.crm.count('Contact')).toBe(0);
  });

  it('a truncated JSON answer is transient (not a success with garbage)', async () => {
    harness = await ready();
    harness.emulator.faults.add({ kind: 'truncated-json', route: 'query' });
    const error = (await readContacts(harness))._unsafeUnwrapErr();
    expect(error.kind).toBe('transient');
  });

  it('an HTML maintenance page is transient', async () => {
    harness = await ready();
    harness.emulator.faults.add({ kind: 'html-maintenance', route: 'query' });
    const error = (await readContacts(harness))._unsafeUnwrapErr();
    expect([error.kind, error.httpStatus]).toEqual(['transient', 503]);
  });

  it('UNABLE_TO_LOCK_ROW on one collection item is a retryable locked reject, the others are written', async () => {
    harness = await ready();
    harness.emulator.faults.add({ kind: 'lock-row', route: 'collections', itemIndex: 1 });
    const records = [0, 1, 2].map((n) => ({ values: contactValues(n) }));
    const outcomes = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'insert', records }))._unsafeUnwrap();
    expect(outcomes.map((o) => (o.ok ? o.action : `${o.reject.code}/${o.reject.symbol}/${o.reject.retryable}`))).toEqual(['created', 'locked/UNABLE_TO_LOCK_ROW/true', 'created']);
  });

  it('QUERY_TIMEOUT is transient', async () => {
    harness = await ready();
    harness.emulator.faults.add({ kind: 'query-timeout', route: 'query' });
    expect((await readContacts(harness))._unsafeUnwrapErr()).toMatchObject({ kind: 'transient', vendorCode: 'QUERY_TIMEOUT' });
  });

  it('faults can target a request number, and latency delays without failing', async () => {
    harness = await ready();
    const next = harness.emulator.requestLog.length + 1;
    harness.emulator.faults.add({ kind: 'latency', latencyMs: 20, requestNumber: next }, { kind: 'unavailable', requestNumber: next + 1 });
    expect((await readContacts(harness)).isOk()).toBe(true);
    expect((await readContacts(harness)).isErr()).toBe(true);
    expect((await readContacts(harness)).isOk()).toBe(true);
    expect(harness.emulator.requestLog.slice(-3).map((e) => e.fault ?? null)).toEqual(['latency', 'unavailable', null]);
  });
});

describe('Sforce-Limit-Info', () => {
  it('is parsed into apiUsage after each call', async () => {
    harness = await ready();
    await readContacts(harness);
    expect(harness.connector.apiUsage).toEqual({ used: harness.emulator.apiCalls, limit: 15_000_000 });
  });
});

describe('call options', () => {
  it('an abort signal ends a slow call with a transient error, and a write is in doubt', async () => {
    harness = await ready();
    harness.emulator.faults.add({ kind: 'latency', latencyMs: 200, route: 'collections' });
    const controller = new AbortController();
    const pending = harness.connector.upsertBatch({ object: 'Contact', mode: 'insert', records: [{ values: contactValues(1) }] }, { signal: controller.signal });
    const h = harness;
    await vi.waitFor(() => expect(h.emulator.requestLog.some((e) => e.route === 'collections')).toBe(true));
    controller.abort();
    const error = (await pending)._unsafeUnwrapErr();
    expect([error.kind, error.inDoubt]).toEqual(['transient', true]);
    expect(error.message).toMatch(/aborted by the caller/);
  });

  it('an already aborted signal sends nothing', async () => {
    harness = await ready();
    const error = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'insert', records: [{ values: contactValues(1) }] }, { signal: AbortSignal.abort() }))._unsafeUnwrapErr();
    expect([error.kind, error.inDoubt]).toEqual(['transient', undefined]);
    expect(harness.emulator.requestLog.some((e) => e.route === 'collections')).toBe(false);
  });
});

describe('seeded faults', () => {
  it('hit the same requests with the same seed, run after run', async () => {
    const hits = async (): Promise<number[]> => {
      const h = await startHarness({ seed: 42 });
      try {
        await h.connector.describe('Contact');
        h.emulator.faults.add({ kind: 'unavailable', route: 'query', probability: 0.5, times: Number.POSITIVE_INFINITY });
        const out: number[] = [];
        for (let i = 0; i < 12; i += 1) if ((await readContacts(h)).isErr()) out.push(i);
        return out;
      } finally {
        await h.close();
      }
    };
    const first = await hits();
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(12);
    expect(await hits()).toEqual(first);
  });
});
