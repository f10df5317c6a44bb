/**
 * The one wrapper around every connector: concurrency and rate caps, retries with backoff that
 * honour Retry-After and pause the whole instance during a rate-limit window, per-attempt
 * deadlines and abort signals, stray throws turned into errors, contract checks on write
 * outcomes, and counters. The orchestrator only ever calls connectors through it.
 *
 * Retries are a small loop of our own rather than p-retry: the wait must go through an
 * injectable `sleep`/`now` (deterministic tests of Retry-After windows), must re-check the
 * instance-wide rate-limit window before every attempt, and must return the error value
 * (neverthrow) rather than throw; p-retry 7 schedules with its own timers and works by throwing.
 *
 * @module
 */
import PQueue from 'p-queue';
import { err, errAsync, ResultAsync, type Result } from 'neverthrow';
import type { ConnectorCapabilities } from '../contract/capabilities.js';
import type { CrmConnector } from '../contract/connector.js';
import { idNormalizer } from '../contract/normalize-id.js';
import type { ObjectDescription, ObjectSummary } from '../contract/describe.js';
import type {
  CallOptions,
  DeleteBatchRequest,
  DeletedPage,
  DeletedRequest,
  QueryRequest,
  RecordPage,
  UpsertBatchRequest,
  WriteOutcome,
} from '../contract/requests.js';
import type { Instant } from '../contract/values.js';
import { crmError, type CrmError } from '../errors/crm-error.js';
import { redact } from '../errors/redact.js';
import { networkFailure } from '../errors/network-phase.js';
import { noopLogger, type Logger } from './logger.js';
import {
  backoffDelay,
  DEFAULT_DEADLINE_MS,
  DEFAULT_RETRY,
  defaultSleep,
  type OperationStats,
  type RetryOptions,
  type RuntimeEvents,
  type RuntimeOptions,
  type RuntimeStats,
} from './runtime-options.js';

/** How an operation may be retried and checked. */
interface CallSpec {
  readonly operation: string;
  /** Writes may have taken effect when no answer came back. */
  readonly write: boolean;
  /** Safe to repeat after an in-doubt failure. */
  readonly idempotent: boolean;
  /** For writes: the exact number of outcomes the contract requires. */
  readonly expectedOutcomes?: number;
}

/** Marks an attempt that found the rate-limit window open when its queue slot came. */
const PAUSED = Symbol('paused');

type Listener<E extends keyof RuntimeEvents> = (event: RuntimeEvents[E]) => void;

/**
 * Wraps a connector with the runtime rules (see the module comment). It is itself a
 * {@link CrmConnector}, so it can stand wherever one is expected.
 */
export class RuntimeConnector implements CrmConnector {
  readonly id: string;
  readonly instanceKey?: string;
  readonly capabilities: ConnectorCapabilities;
  private readonly queue: PQueue;
  private readonly retry: Required<RetryOptions>;
  private readonly deadlineMs: number;
  private readonly logger: Logger;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly runSignal: AbortSignal | undefined;
  private pausedUntil = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  private readonly listeners: { [E in keyof RuntimeEvents]: Set<Listener<E>> } = {
    call: new Set(),
    retry: new Set(),
    'rate-limit': new Set(),
  };
  private readonly counters: RuntimeStats = { calls: 0, retries: 0, failures: 0, rateLimitWaitMs: 0, byOperation: {} };

  constructor(
    readonly inner: CrmConnector,
    options: RuntimeOptions = {},
  ) {
    this.id = inner.id;
    if (inner.instanceKey !== undefined) this.instanceKey = inner.instanceKey;
    const concurrency = options.concurrency ?? inner.capabilities.concurrency;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`[crm-sync] [${inner.id}] RuntimeOptions.concurrency must be a whole number >= 1, got ${String(concurrency)}`);
    }
    this.capabilities = concurrency === inner.capabilities.concurrency ? inner.capabilities : { ...inner.capabilities, concurrency };
    const rateLimit = options.rateLimit ?? inner.capabilities.rateLimit;
    this.queue = new PQueue({
      concurrency,
      ...(rateLimit ? { intervalCap: rateLimit.limit, interval: rateLimit.intervalMs, strict: true } : {}),
    });
    this.retry = { ...DEFAULT_RETRY, ...definedOnly(options.retry ?? {}) };
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.logger = options.logger ?? noopLogger;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.runSignal = options.signal;
  }

  /** A snapshot of the counters. */
  get stats(): RuntimeStats {
    const byOperation: Record<string, OperationStats> = {};
    for (const [name, counters] of Object.entries(this.counters.byOperation)) byOperation[name] = { ...counters };
    return { ...this.counters, byOperation };
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof RuntimeEvents>(event: E, listener: (event: RuntimeEvents[E]) => void): () => void {
    const set = this.listeners[event] as Set<Listener<E>>;
    set.add(listener);
    return () => set.delete(listener);
  }

  listObjects(options?: CallOptions): ResultAsync<readonly ObjectSummary[], CrmError> {
    return this.call({ operation: 'listObjects', write: false, idempotent: true }, options, (o) => this.inner.listObjects(o));
  }

  describe(object: string, options?: CallOptions): ResultAsync<ObjectDescription, CrmError> {
    return this.call({ operation: 'describe', write: false, idempotent: true }, options, (o) => this.inner.describe(object, o));
  }

  query(request: QueryRequest, cursor?: string, options?: CallOptions): ResultAsync<RecordPage, CrmError> {
    return this.call({ operation: 'query', write: false, idempotent: true }, options, (o) => this.inner.query(request, cursor, o));
  }

  /** Never retries an in-doubt `insert` batch: it returns the error for the orchestrator to settle. */
  upsertBatch(request: UpsertBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    const spec = { operation: 'upsertBatch', write: true, idempotent: request.mode !== 'insert', expectedOutcomes: request.records.length };
    return this.call(spec, options, (o) => this.inner.upsertBatch(request, o));
  }

  getDeleted(request: DeletedRequest, cursor?: string, options?: CallOptions): ResultAsync<DeletedPage, CrmError> {
    return this.call({ operation: 'getDeleted', write: false, idempotent: true }, options, (o) => this.inner.getDeleted(request, cursor, o));
  }

  delete(request: DeleteBatchRequest, options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    const spec = { operation: 'delete', write: true, idempotent: true, expectedOutcomes: request.ids.length };
    return this.call(spec, options, (o) => this.inner.delete(request, o));
  }

  /** The inner connector's canonical id (see `CrmConnector.normalizeId`); the id itself when it has none. Makes no call. */
  normalizeId(object: string, id: string): string {
    return idNormalizer(this.inner, object)(id);
  }

  /** Hands a cached description to the inner connector (see `CrmConnector.adoptDescription`). Makes no call. */
  adoptDescription(description: ObjectDescription): void {
    this.inner.adoptDescription?.(description);
  }

  /** Makes the inner connector forget its description of `object` (see `CrmConnector.forgetDescription`). Makes no call. */
  forgetDescription(object: string): void {
    this.inner.forgetDescription?.(object);
  }

  /** The CRM's time; an `unsupported` error when the connector cannot tell it. */
  serverTime(options?: CallOptions): ResultAsync<Instant, CrmError> {
    const serverTime = this.inner.serverTime?.bind(this.inner);
    if (!serverTime) return errAsync(crmError('unsupported', this.id, 'serverTime is not supported by this connector; check capabilities.serverTime'));
    return this.call({ operation: 'serverTime', write: false, idempotent: true }, options, (o) => serverTime(o));
  }

  /** Waits for calls in flight, then closes the inner connector once. Later calls fail. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      await this.queue.onIdle();
      await this.inner.close?.();
    })();
    return this.closing;
  }

  private call<T>(
    spec: CallSpec,
    options: CallOptions | undefined,
    invoke: (options: CallOptions) => ResultAsync<T, CrmError> | PromiseLike<Result<T, CrmError>>,
  ): ResultAsync<T, CrmError> {
    if (this.closing) {
      return errAsync(crmError('invalid-request', this.id, `${spec.operation} was called after close(); create a new connector`));
    }
    const promise = this.execute(spec, options, invoke);
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
    return new ResultAsync(promise);
  }

  private operationStats(operation: string): OperationStats {
    return (this.counters.byOperation[operation] ??= { calls: 0, retries: 0, failures: 0, totalLatencyMs: 0 });
  }

  private emit<E extends keyof RuntimeEvents>(event: E, payload: RuntimeEvents[E]): void {
    for (const listener of this.listeners[event] as Set<Listener<E>>) {
      try {
        listener(payload);
      } catch (error) {
        // A broken listener must not break the call it observes.
        this.logger.warn(redact({ connector: this.id, event, error }), '[crm-sync] [runtime] an event listener threw');
      }
    }
  }

  private async execute<T>(
    spec: CallSpec,
    options: CallOptions | undefined,
    invoke: (options: CallOptions) => ResultAsync<T, CrmError> | PromiseLike<Result<T, CrmError>>,
  ): Promise<Result<T, CrmError>> {
    const signals = [this.runSignal, options?.signal].filter((signal): signal is AbortSignal => signal !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    const result = await this.attempts(spec, signal, invoke);
    if (result.isErr()) {
      this.counters.failures += 1;
      this.operationStats(spec.operation).failures += 1;
    }
    return result;
  }

  private async attempts<T>(
    spec: CallSpec,
    signal: AbortSignal | undefined,
    invoke: (options: CallOptions) => ResultAsync<T, CrmError> | PromiseLike<Result<T, CrmError>>,
  ): Promise<Result<T, CrmError>> {
    let attempt = 0;
    for (;;) {
      if (!(await this.waitForWindow(signal))) return this.aborted(spec);
      let outcome: Result<T, CrmError> | typeof PAUSED;
      try {
        outcome = await this.queue.add<Result<T, CrmError> | typeof PAUSED>(
          async () => {
            // A slot frees when an answer is read; a 429 that reached the process in the same turn
            // of the event loop (another socket's data in the same poll) is read only after it.
            // Looking at the pause once that turn is over keeps a queued call from leaving inside
            // a Retry-After window the process already holds the answer for.
            await new Promise<void>((resolve) => setImmediate(resolve));
            return this.now() < this.pausedUntil ? PAUSED : this.attempt(spec, signal, invoke, attempt + 1);
          },
          signal ? { signal } : {},
        );
      } catch {
        // p-queue rejects a task whose signal aborted while it waited for a slot.
        return this.aborted(spec);
      }
      if (outcome === PAUSED) continue;
      attempt += 1;
      if (outcome.isOk()) return outcome;
      const error = outcome.error;
      const delay = this.retryDelay(spec, error, attempt, signal);
      if (delay === undefined) return outcome;
      this.counters.retries += 1;
      this.operationStats(spec.operation).retries += 1;
      // Listeners are application code that logs; the error's cause may hold what a connector threw, credentials included.
      this.emit('retry', { operation: spec.operation, attempt, delayMs: delay, error: redact(error) });
      this.logger.warn(
        redact({ connector: this.id, operation: spec.operation, attempt, delayMs: delay, kind: error.kind, message: error.message }),
        '[crm-sync] [runtime] retrying after a retryable error',
      );
      const sleptFrom = this.now();
      try {
        await this.sleep(delay, signal);
      } catch {
        // A sleep that rejects on abort is as good as one that resolves early.
      }
      if (error.kind === 'rate-limited') this.counters.rateLimitWaitMs += Math.max(0, this.now() - sleptFrom);
      if (signal?.aborted) return this.aborted(spec);
    }
  }

  /** The delay before the next attempt, or undefined when the error must be returned. */
  private retryDelay(spec: CallSpec, error: CrmError, attempt: number, signal: AbortSignal | undefined): number | undefined {
    if (signal?.aborted || !error.retryable || attempt > this.retry.retries) return undefined;
    if (error.kind === 'rate-limited' && error.quotaExhausted) return undefined;
    if (error.inDoubt && !spec.idempotent) return undefined;
    if (error.retryAfterMs !== undefined) {
      return error.retryAfterMs > this.retry.maxRetryAfterMs ? undefined : Math.max(0, error.retryAfterMs);
    }
    return backoffDelay(attempt, this.retry, this.random);
  }

  /** Waits until no rate-limit window is open. False when aborted meanwhile. */
  private async waitForWindow(signal: AbortSignal | undefined): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      const remaining = this.pausedUntil - this.now();
      if (remaining <= 0) return true;
      const started = this.now();
      try {
        await this.sleep(remaining, signal);
      } catch {
        // See attempts(): an abort is checked right after.
      }
      this.counters.rateLimitWaitMs += Math.max(0, this.now() - started);
    }
  }

  private aborted<T>(spec: CallSpec): Result<T, CrmError> {
    return errResult(
      crmError('transient', this.id, `${spec.operation} was aborted by its signal`, {
        retryable: false,
        ...(spec.write ? { inDoubt: true } : {}),
      }),
    );
  }

  /** One attempt: deadline, stray-throw capture, outcome checks, counters and events. */
  private async attempt<T>(
    spec: CallSpec,
    signal: AbortSignal | undefined,
    invoke: (options: CallOptions) => ResultAsync<T, CrmError> | PromiseLike<Result<T, CrmError>>,
    attempt: number,
  ): Promise<Result<T, CrmError>> {
    const started = this.now();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.deadlineMs);
    const attemptSignal = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
    const abort = this.abortResult<T>(spec, attemptSignal, deadline.signal);
    let result: Result<T, CrmError>;
    try {
      result = await Promise.race([this.invokeSafely(spec, invoke, attemptSignal), abort.result]);
    } finally {
      clearTimeout(timer);
      // Drop the abort listener so that a long-lived run signal does not collect one per attempt.
      abort.release();
    }
    const latencyMs = Math.max(0, this.now() - started);
    this.counters.calls += 1;
    const stats = this.operationStats(spec.operation);
    stats.calls += 1;
    stats.totalLatencyMs += latencyMs;
    if (result.isErr()) this.noteRateLimit(result.error);
    this.emit('call', { operation: spec.operation, attempt, latencyMs, ok: result.isOk() });
    return result;
  }

  /** Resolves with the matching error when the attempt's signal aborts (deadline or caller). */
  private abortResult<T>(
    spec: CallSpec,
    attemptSignal: AbortSignal,
    deadlineSignal: AbortSignal,
  ): { result: Promise<Result<T, CrmError>>; release: () => void } {
    let release = () => {};
    const result = new Promise<Result<T, CrmError>>((resolve) => {
      const onAbort = () => {
        const byDeadline = deadlineSignal.aborted;
        const message = byDeadline
          ? `${spec.operation} got no answer within ${this.deadlineMs} ms (deadline)${spec.write ? '; the write may or may not have been applied' : ''}`
          : `${spec.operation} was aborted by its signal${spec.write ? '; the write may or may not have been applied' : ''}`;
        resolve(errResult(crmError('transient', this.id, message, { retryable: byDeadline, ...(spec.write ? { inDoubt: true } : {}) })));
      };
      if (attemptSignal.aborted) return onAbort();
      attemptSignal.addEventListener('abort', onAbort, { once: true });
      release = () => attemptSignal.removeEventListener('abort', onAbort);
    });
    return { result, release };
  }

  /** Calls the connector, turning throws, rejections, non-Results and outcome-count breaches into errors. */
  private async invokeSafely<T>(
    spec: CallSpec,
    invoke: (options: CallOptions) => ResultAsync<T, CrmError> | PromiseLike<Result<T, CrmError>>,
    signal: AbortSignal,
  ): Promise<Result<T, CrmError>> {
    let result: unknown;
    try {
      result = await invoke({ signal });
    } catch (cause) {
      const text = cause instanceof Error ? cause.message : String(cause);
      const socket = networkFailure(cause);
      if (socket?.phase === 'connect') {
        // The request never left the machine (refused, DNS, unreachable, TLS handshake): the CRM
        // received nothing, so even a write is a plain retryable error, never in doubt.
        return errResult(
          crmError('transient', this.id, `${spec.operation} could not reach the CRM (${socket.code}): nothing was sent; check the URL and the network, the call is retried`, {
            cause,
            vendorCode: socket.code,
          }),
        );
      }
      return errResult(
        crmError('unknown', this.id, `${spec.operation} threw instead of returning an error: ${text}; this is a bug in the connector`, {
          cause,
          ...(spec.write ? { inDoubt: true } : {}),
        }),
      );
    }
    if (!isResult(result)) {
      return errResult(crmError('unknown', this.id, `${spec.operation} returned something that is not a Result; connectors must return ResultAsync`, spec.write ? { inDoubt: true } : {}));
    }
    if (result.isOk() && spec.expectedOutcomes !== undefined) {
      const outcomes = result.value;
      const count = Array.isArray(outcomes) ? outcomes.length : undefined;
      if (count !== spec.expectedOutcomes) {
        this.logger.error({ connector: this.id, operation: spec.operation, expected: spec.expectedOutcomes, got: count ?? null }, '[crm-sync] [runtime] contract breach');
        return errResult(
          crmError(
            'unknown',
            this.id,
            `${spec.operation} returned ${count ?? 'no'} outcomes for ${spec.expectedOutcomes} inputs; the contract requires one per input, in order (connector bug)`,
            { inDoubt: true },
          ),
        );
      }
    }
    if (result.isErr() && result.error.inDoubt === true && networkFailure(result.error.cause)?.phase === 'connect') {
      // A connector that marks every failed write in doubt: its own cause shows the request never
      // left the machine, so the CRM received nothing and the write is safe to retry.
      const { inDoubt: _inDoubt, ...rest } = result.error;
      return errResult({ ...rest, retryable: true } as CrmError);
    }
    return result as Result<T, CrmError>;
  }

  /** Opens (or extends) the instance-wide window during which no call is sent. */
  private noteRateLimit(error: CrmError): void {
    if (error.kind !== 'rate-limited' || error.retryAfterMs === undefined || error.quotaExhausted) return;
    if (error.retryAfterMs > this.retry.maxRetryAfterMs) return;
    const until = this.now() + error.retryAfterMs;
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    this.emit('rate-limit', { until });
  }
}

function errResult<T>(error: CrmError): Result<T, CrmError> {
  return err(error);
}

function isResult(value: unknown): value is Result<unknown, CrmError> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { isOk?: unknown }).isOk === 'function' &&
    typeof (value as { isErr?: unknown }).isErr === 'function'
  );
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}
