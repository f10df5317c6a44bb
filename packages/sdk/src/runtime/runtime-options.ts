/**
 * Options, counters and events of `RuntimeConnector`.
 *
 * @module
 */
import type { CrmError } from '../errors/crm-error.js';
import type { Logger } from './logger.js';

/** Retry policy for retryable errors. */
export interface RetryOptions {
  /** Retries after the first attempt. Default 5. */
  readonly retries?: number;
  /** First backoff delay; doubles per retry, with jitter. Default 250 ms. */
  readonly minDelayMs?: number;
  /** Largest backoff delay. Default 30 000 ms. */
  readonly maxDelayMs?: number;
  /** A longer Retry-After fails the call instead of waiting. Default 300 000 ms (5 minutes). */
  readonly maxRetryAfterMs?: number;
}

/** How a `RuntimeConnector` calls its connector. Every member is optional. */
export interface RuntimeOptions {
  /** Most calls in flight at once. Default `capabilities.concurrency`. */
  readonly concurrency?: number;
  /** At most `limit` calls start per `intervalMs` (sliding window). Default `capabilities.rateLimit`. */
  readonly rateLimit?: { readonly limit: number; readonly intervalMs: number };
  readonly retry?: RetryOptions;
  /** Deadline of each attempt, in ms. Default 120 000. */
  readonly deadlineMs?: number;
  /** Run-level abort: every call stops, nothing new starts. */
  readonly signal?: AbortSignal;
  /** Receives retries and contract breaches (redacted). Default: no logging. */
  readonly logger?: Logger;
  /** Waits `ms`; resolves early (or rejects) when `signal` aborts. Default a timer. Tests pass a fake. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Current time in epoch ms, for latency and Retry-After windows. Default `Date.now`. */
  readonly now?: () => number;
  /** Random number in [0, 1) for backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
}

/** Counters of one operation. */
export interface OperationStats {
  /** Attempts sent to the connector (a retried call counts once per attempt). */
  calls: number;
  /** Attempts after the first. */
  retries: number;
  /** Calls that returned an error to the caller (after retries). */
  failures: number;
  /** Sum of attempt latencies, in ms. */
  totalLatencyMs: number;
}

/** Counters of one `RuntimeConnector`, for progress and benchmarks. */
export interface RuntimeStats {
  /** Attempts sent to the connector, all operations. */
  calls: number;
  retries: number;
  failures: number;
  /** Time calls spent waiting because of rate limits (Retry-After and instance-wide windows), summed over calls, in ms. */
  rateLimitWaitMs: number;
  byOperation: Record<string, OperationStats>;
}

/** The events a `RuntimeConnector` emits. */
export interface RuntimeEvents {
  /** After every attempt. */
  call: { readonly operation: string; readonly attempt: number; readonly latencyMs: number; readonly ok: boolean };
  /** Before waiting to retry; `error` is redacted (registered secrets masked, its cause included). */
  retry: { readonly operation: string; readonly attempt: number; readonly delayMs: number; readonly error: CrmError };
  /** A rate-limit window started (or grew): no call of this instance is sent before `until` (epoch ms). */
  'rate-limit': { readonly until: number };
}

/** Resolved retry defaults. */
export const DEFAULT_RETRY: Required<RetryOptions> = {
  retries: 5,
  minDelayMs: 250,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 300_000,
};

/** Default per-attempt deadline. */
export const DEFAULT_DEADLINE_MS = 120_000;

/** A timer-based sleep that resolves early when the signal aborts. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Jittered exponential backoff: `min(max, min * 2^(retry-1))`, scaled into [50 %, 100 %] so that
 * many clients retrying at once spread out while never waiting less than half the nominal delay.
 */
export function backoffDelay(retry: number, options: Required<RetryOptions>, random: () => number): number {
  const nominal = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(nominal * (0.5 + random() * 0.5));
}
