import { err, errAsync, ok, okAsync, ResultAsync, type Result } from 'neverthrow';
import { describe, expect, it } from 'vitest';
import {
  clearRegisteredSecrets,
  ConnectorBase,
  crmError,
  registerSecret,
  RuntimeConnector,
  type CallOptions,
  type CrmError,
  type ObjectDescription,
  type ObjectSummary,
  type QueryRequest,
  type RecordPage,
  type RuntimeEvents,
  type RuntimeOptions,
  type UpsertBatchRequest,
  type WriteOutcome,
} from '../../src/index.js';

type Handler<T> = (call: number, options?: CallOptions) => ResultAsync<T, CrmError>;

/** A connector whose answers each test scripts; it records when (fake time) each request arrived. */
class ScriptedConnector extends ConnectorBase {
  readonly id = 'scripted';
  readonly requests: { operation: string; at: number }[] = [];
  closed = 0;
  queryHandler: Handler<RecordPage> = () => okAsync({ records: [] });
  upsertHandler: (request: UpsertBatchRequest, call: number) => ResultAsync<readonly WriteOutcome[], CrmError> = (request) =>
    okAsync(request.records.map((_, index) => ({ ok: true as const, id: `id${index}`, action: 'created' as const })));
  constructor(
    private readonly clock: { now: number },
    concurrency = 4,
  ) {
    super({ concurrency });
  }
  listObjects(): ResultAsync<readonly ObjectSummary[], CrmError> {
    return okAsync([]);
  }
  describe(object: string): ResultAsync<ObjectDescription, CrmError> {
    return errAsync(crmError('not-found', this.id, `no ${object}`));
  }
  query(_request: QueryRequest, _cursor?: string, options?: CallOptions): ResultAsync<RecordPage, CrmError> {
    this.requests.push({ operation: 'query', at: this.clock.now });
    return this.queryHandler(this.requests.filter((r) => r.operation === 'query').length, options);
  }
  override upsertBatch(request: UpsertBatchRequest): ResultAsync<readonly WriteOutcome[], CrmError> {
    this.requests.push({ operation: 'upsertBatch', at: this.clock.now });
    return this.upsertHandler(request, this.requests.filter((r) => r.operation === 'upsertBatch').length);
  }
  override async close(): Promise<void> {
    this.closed += 1;
  }
}

function setup(options: RuntimeOptions = {}, concurrency = 4) {
  const clock = { now: 0 };
  const sleeps: number[] = [];
  const inner = new ScriptedConnector(clock, concurrency);
  const runtime = new RuntimeConnector(inner, {
    now: () => clock.now,
    // Fake time: a sleep advances the clock at once, so tests are instant and deterministic.
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
    random: () => 0,
    ...options,
  });
  return { clock, sleeps, inner, runtime };
}

const request: QueryRequest = { object: 'Contact', fields: ['Id'] };
const insert = (n: number): UpsertBatchRequest => ({ object: 'Contact', mode: 'insert', records: Array.from({ length: n }, () => ({ values: {} })) });
const transient = (details = {}) => crmError('transient', 'scripted', 'HTTP 503', details);

describe('RuntimeConnector', () => {
  it('never runs more calls at once than the concurrency cap', async () => {
    const { inner, runtime } = setup({ concurrency: 2 }, 8);
    let running = 0;
    let peak = 0;
    inner.queryHandler = () =>
      new ResultAsync(
        (async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setImmediate(resolve));
          running -= 1;
          return okAsync<RecordPage, CrmError>({ records: [] });
        })().then((r) => r),
      );
    const results = await Promise.all(Array.from({ length: 10 }, () => runtime.query(request)));
    expect(results.every((r) => r.isOk())).toBe(true);
    expect(peak).toBe(2);
    expect(runtime.capabilities.concurrency).toBe(2);
    expect(inner.capabilities.concurrency).toBe(8);
  });

  it('retries retryable errors with exponential backoff and counts the retries', async () => {
    const { inner, runtime, sleeps } = setup();
    inner.queryHandler = (call) => (call < 3 ? errAsync(transient()) : okAsync({ records: [] }));
    const result = await runtime.query(request);
    expect(result.isOk()).toBe(true);
    // random() = 0 takes the low end of the jitter: half of 250 ms, then half of 500 ms.
    expect(sleeps).toEqual([125, 250]);
    expect(runtime.stats).toMatchObject({ calls: 3, retries: 2, failures: 0 });
  });

  it('gives up after the configured retries and returns the last error', async () => {
    const { inner, runtime } = setup({ retry: { retries: 2 } });
    inner.queryHandler = () => errAsync(transient());
    const error = (await runtime.query(request))._unsafeUnwrapErr();
    expect(error.kind).toBe('transient');
    expect(inner.requests).toHaveLength(3);
    expect(runtime.stats).toMatchObject({ calls: 3, retries: 2, failures: 1 });
  });

  it('does not retry errors that are not retryable', async () => {
    const { inner, runtime } = setup();
    inner.queryHandler = () => errAsync(crmError('auth', 'scripted', 'expired'));
    expect((await runtime.query(request))._unsafeUnwrapErr().kind).toBe('auth');
    expect(inner.requests).toHaveLength(1);
  });

  it('waits exactly the Retry-After time and sends nothing inside the window', async () => {
    const { inner, runtime, sleeps } = setup();
    inner.queryHandler = (call) =>
      call === 1 ? errAsync(crmError('rate-limited', 'scripted', '429', { retryAfterMs: 5_000 })) : okAsync({ records: [] });
    expect((await runtime.query(request)).isOk()).toBe(true);
    expect(sleeps).toEqual([5_000]);
    expect(inner.requests.map((r) => r.at)).toEqual([0, 5_000]);
  });

  it('pauses every call of the instance during a rate-limit window', async () => {
    // A sleep that only ends when the test moves the clock, to observe who waits for what.
    const clock = { now: 0 };
    const sleeping: { until: number; resolve: () => void }[] = [];
    const inner = new ScriptedConnector(clock);
    const runtime = new RuntimeConnector(inner, {
      now: () => clock.now,
      sleep: (ms) => new Promise((resolve) => sleeping.push({ until: clock.now + ms, resolve })),
    });
    const advanceTo = (time: number) => {
      clock.now = time;
      for (const sleeper of sleeping.splice(0)) sleeper.until <= time ? sleeper.resolve() : sleeping.push(sleeper);
    };
    // A call leaves one turn of the event loop after its slot is free: two turns settle a step.
    const tick = async () => {
      for (let turn = 0; turn < 2; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    };
    const windows: RuntimeEvents['rate-limit'][] = [];
    runtime.on('rate-limit', (event) => windows.push(event));
    inner.queryHandler = (call) =>
      call === 1 ? errAsync(crmError('rate-limited', 'scripted', '429', { retryAfterMs: 1_000 })) : okAsync({ records: [] });
    const first = runtime.query(request);
    await tick();
    expect(windows).toEqual([{ until: 1_000 }]);
    advanceTo(400);
    const second = runtime.query(request);
    await tick();
    expect(inner.requests).toHaveLength(1);
    advanceTo(999);
    await tick();
    expect(inner.requests).toHaveLength(1);
    advanceTo(1_000);
    expect((await second).isOk()).toBe(true);
    expect((await first).isOk()).toBe(true);
    expect(inner.requests.map((r) => r.at)).toEqual([0, 1_000, 1_000]);
    // The first call waited its Retry-After (1 000 ms); the second the rest of the window (600 ms).
    expect(runtime.stats.rateLimitWaitMs).toBe(1_600);
  });

  it('starts no queued call in the turn a slot frees while a 429 answer is waiting to be read', async () => {
    // Two answers reach the process in one turn of the event loop, a success first and the 429
    // second, as two sockets' data in one poll. The success frees a slot; the call waiting for it
    // must not leave before the 429 is read, or it lands inside the Retry-After window.
    const { inner, runtime, clock } = setup({ concurrency: 2 }, 8);
    // Each answer settles in a callback of its own, both in one phase of the event loop (two
    // immediates queued together; two timers of 5 ms set a moment apart may fire in two turns on a
    // loaded machine, which is not the case under test).
    const answers: { resolve: (result: Result<RecordPage, CrmError>) => void; result: Result<RecordPage, CrmError> }[] = [];
    inner.queryHandler = (call) => {
      if (call === 1 || call === 2) {
        const result = call === 1 ? ok<RecordPage, CrmError>({ records: [] }) : err<RecordPage, CrmError>(crmError('rate-limited', 'scripted', '429', { retryAfterMs: 1_000 }));
        return new ResultAsync(
          new Promise<Result<RecordPage, CrmError>>((resolve) => {
            answers.push({ resolve, result });
            if (answers.length === 2) setTimeout(() => answers.forEach((answer) => setImmediate(() => answer.resolve(answer.result))), 5);
          }),
        );
      }
      return okAsync({ records: [] });
    };
    const results = await Promise.all([runtime.query(request), runtime.query(request), runtime.query(request)]);
    expect(results.every((result) => result.isOk())).toBe(true);
    expect(inner.requests.map((r) => r.at), 'the third call waited for the window to end').toEqual([0, 0, 1_000, 1_000]);
    expect(clock.now).toBe(1_000);
  });

  it('fails at once when Retry-After is longer than allowed, or the quota is exhausted', async () => {
    const { inner, runtime } = setup({ retry: { maxRetryAfterMs: 60_000 } });
    inner.queryHandler = () => errAsync(crmError('rate-limited', 'scripted', '429', { retryAfterMs: 3_600_000 }));
    expect((await runtime.query(request))._unsafeUnwrapErr().retryAfterMs).toBe(3_600_000);
    expect(inner.requests).toHaveLength(1);
    inner.queryHandler = () => errAsync(crmError('rate-limited', 'scripted', 'REQUEST_LIMIT_EXCEEDED', { quotaExhausted: true, retryable: true, retryAfterMs: 10 }));
    expect((await runtime.query(request)).isErr()).toBe(true);
    expect(inner.requests).toHaveLength(2);
  });

  it('returns an in-doubt insert without retrying, but retries an in-doubt upsert', async () => {
    const { inner, runtime } = setup();
    inner.upsertHandler = () => errAsync(transient({ inDoubt: true }));
    const error = (await runtime.upsertBatch(insert(2)))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'transient', inDoubt: true });
    expect(inner.requests).toHaveLength(1);
    inner.upsertHandler = (req, call) =>
      call < 3 ? errAsync(transient({ inDoubt: true })) : okAsync(req.records.map(() => ({ ok: true as const, id: 'x', action: 'updated' as const })));
    expect((await runtime.upsertBatch({ ...insert(1), mode: 'upsert', externalIdField: 'Key__c' })).isOk()).toBe(true);
    expect(inner.requests).toHaveLength(3);
  });

  it('retries an insert whose failure is certainly not applied', async () => {
    const { inner, runtime } = setup();
    inner.upsertHandler = (req, call) => (call === 1 ? errAsync(transient({ inDoubt: false })) : okAsync(req.records.map(() => ({ ok: true as const, id: 'x', action: 'created' as const }))));
    expect((await runtime.upsertBatch(insert(1))).isOk()).toBe(true);
    expect(inner.requests).toHaveLength(2);
  });

  it('retries an insert that threw a connect-phase failure (fetch failed, nested cause): nothing was sent, never in doubt', async () => {
    const { inner, runtime } = setup();
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', syscall: 'connect' }) });
    inner.upsertHandler = (req, call) => {
      if (call === 1) throw refused;
      return okAsync(req.records.map(() => ({ ok: true as const, id: 'x', action: 'created' as const })));
    };
    expect((await runtime.upsertBatch(insert(1))).isOk()).toBe(true);
    expect(inner.requests).toHaveLength(2);
    const { inner: always, runtime: failing } = setup({ retry: { retries: 0 } });
    always.upsertHandler = () => {
      throw refused;
    };
    const error = (await failing.upsertBatch(insert(1)))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'transient', retryable: true, vendorCode: 'ECONNREFUSED' });
    expect(error.inDoubt).toBeUndefined();
  });

  it("clears a connector's in-doubt mark when its own cause shows a connect-phase failure, but keeps it after a reset", async () => {
    const { inner, runtime } = setup({ retry: { retries: 0 } });
    const refused = Object.assign(new Error('getaddrinfo ENOTFOUND crm.invalid'), { code: 'ENOTFOUND', syscall: 'getaddrinfo' });
    inner.upsertHandler = () => errAsync(transient({ inDoubt: true, cause: refused }));
    const cleared = (await runtime.upsertBatch(insert(1)))._unsafeUnwrapErr();
    expect(cleared).toMatchObject({ kind: 'transient', retryable: true });
    expect(cleared.inDoubt).toBeUndefined();
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
    inner.upsertHandler = () => errAsync(transient({ inDoubt: true, cause: reset }));
    expect((await runtime.upsertBatch(insert(1)))._unsafeUnwrapErr()).toMatchObject({ inDoubt: true });
  });

  it('turns stray throws, rejected promises and non-Results into unknown errors with the cause', async () => {
    const { inner, runtime } = setup();
    const boom = new Error('boom');
    inner.queryHandler = () => {
      throw boom;
    };
    const thrown = (await runtime.query(request))._unsafeUnwrapErr();
    expect(thrown).toMatchObject({ kind: 'unknown', retryable: false, cause: boom });
    expect(thrown.message).toMatch(/^\[crm-sync\] \[scripted\] query threw instead of returning an error: boom/);
    inner.queryHandler = () => new ResultAsync(Promise.reject(new Error('rejected')));
    expect((await runtime.query(request))._unsafeUnwrapErr()).toMatchObject({ kind: 'unknown' });
    inner.queryHandler = () => ({ records: [] }) as unknown as ResultAsync<RecordPage, CrmError>;
    expect((await runtime.query(request))._unsafeUnwrapErr().message).toContain('not a Result');
  });

  it('refuses a write answer with the wrong number of outcomes', async () => {
    const { inner, runtime } = setup();
    inner.upsertHandler = () => okAsync([{ ok: true, id: 'a', action: 'created' }]);
    const error = (await runtime.upsertBatch(insert(2)))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'unknown', inDoubt: true });
    expect(error.message).toContain('returned 1 outcomes for 2 inputs');
  });

  it('ends an attempt at its deadline with an in-doubt transient error for writes', async () => {
    const { inner, runtime } = setup({ deadlineMs: 5, retry: { retries: 0 } });
    let sawAbort = false;
    inner.upsertHandler = () => new ResultAsync(new Promise(() => {}));
    inner.queryHandler = (_call, options) =>
      new ResultAsync(
        new Promise((resolve) => {
          options?.signal?.addEventListener('abort', () => {
            sawAbort = true;
            resolve(errAsync(transient()) as never);
          });
        }),
      );
    const error = (await runtime.upsertBatch(insert(1)))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'transient', inDoubt: true, retryable: true });
    expect(error.message).toContain('deadline');
    await runtime.query(request);
    expect(sawAbort).toBe(true);
  });

  it('stops at once when the run signal aborts, and does not retry', async () => {
    const controller = new AbortController();
    const { inner, runtime } = setup({ signal: controller.signal });
    inner.queryHandler = () => {
      controller.abort();
      return errAsync(transient());
    };
    const error = (await runtime.query(request))._unsafeUnwrapErr();
    expect(inner.requests).toHaveLength(1);
    expect(error.retryable).toBe(false);
    expect((await runtime.query(request))._unsafeUnwrapErr().message).toContain('aborted');
    expect(inner.requests).toHaveLength(1);
  });

  it('counts per operation and emits call and retry events', async () => {
    const { inner, runtime } = setup();
    const calls: RuntimeEvents['call'][] = [];
    const retries: RuntimeEvents['retry'][] = [];
    runtime.on('call', (event) => calls.push(event));
    const off = runtime.on('retry', (event) => retries.push(event));
    inner.queryHandler = (call) => (call === 1 ? errAsync(transient()) : okAsync({ records: [] }));
    await runtime.query(request);
    await runtime.upsertBatch(insert(1));
    expect(calls.map((c) => [c.operation, c.attempt, c.ok])).toEqual([
      ['query', 1, false],
      ['query', 2, true],
      ['upsertBatch', 1, true],
    ]);
    expect(retries).toEqual([expect.objectContaining({ operation: 'query', attempt: 1, delayMs: 125 })]);
    off();
    expect(runtime.stats.byOperation).toEqual({
      query: { calls: 2, retries: 1, failures: 0, totalLatencyMs: 0 },
      upsertBatch: { calls: 1, retries: 0, failures: 0, totalLatencyMs: 0 },
    });
    expect(runtime.id).toBe('scripted');
    expect(runtime.inner).toBe(inner);
  });

  it('hands retry listeners the error with registered secrets masked, its cause included', async () => {
    const secret = 'retry-event-canary-0123456789abcdef';
    registerSecret(secret);
    try {
      const { inner, runtime } = setup();
      const retries: RuntimeEvents['retry'][] = [];
      runtime.on('retry', (event) => retries.push(event));
      inner.queryHandler = (call) => (call === 1 ? errAsync(transient({ cause: new Error(`reset while sending ${secret}`) })) : okAsync({ records: [] }));
      (await runtime.query(request))._unsafeUnwrap();
      expect(retries).toHaveLength(1);
      const seen = JSON.stringify(retries, (_key, value: unknown) => (value instanceof Error ? { message: value.message, stack: value.stack } : value));
      expect(seen).toContain('reset while sending');
      expect(seen).not.toContain(secret);
    } finally {
      clearRegisteredSecrets();
    }
  });

  it('closes the inner connector once, after calls in flight, and refuses later calls', async () => {
    const { inner, runtime } = setup();
    let release!: () => void;
    inner.queryHandler = () => new ResultAsync(new Promise((resolve) => (release = () => resolve(okAsync({ records: [] }) as never))));
    const pending = runtime.query(request);
    while (inner.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const closing = runtime.close();
    expect(inner.closed).toBe(0);
    release();
    await closing;
    await runtime.close();
    expect(inner.closed).toBe(1);
    expect((await pending).isOk()).toBe(true);
    expect((await runtime.query(request))._unsafeUnwrapErr().kind).toBe('invalid-request');
  });

  it('starts no more calls per interval than the rate limit allows', async () => {
    const controller = new AbortController();
    // An interval far longer than the test: only the first window's calls can start.
    const { inner, runtime } = setup({ rateLimit: { limit: 2, intervalMs: 3_600_000 }, signal: controller.signal });
    const calls = Array.from({ length: 5 }, () => runtime.query(request));
    for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(inner.requests).toHaveLength(2);
    controller.abort();
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.isOk())).toHaveLength(2);
    expect(results.filter((r) => r.isErr()).map((r) => r._unsafeUnwrapErr().message)).toEqual(
      Array.from({ length: 3 }, () => expect.stringContaining('aborted')),
    );
    expect(inner.requests).toHaveLength(2);
  });

  it('answers unsupported for serverTime when the connector has none', async () => {
    const { runtime } = setup();
    expect((await runtime.serverTime())._unsafeUnwrapErr().kind).toBe('unsupported');
  });
});
