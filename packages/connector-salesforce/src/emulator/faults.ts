/**
 * Scripted faults for the emulator: which requests fail, how, and how often. Deterministic: a
 * fault matches by route, method, path or request number, and a `probability` draws from a
 * seeded generator, so a run replays exactly.
 *
 * @module
 */
import { createSeededRandom } from '@crm-sync/connector-mock';

/** The route names the emulator gives requests (see the request log). */
export type EmulatorRoute =
  | 'token'
  | 'versions'
  | 'describe-global'
  | 'describe'
  | 'limits'
  | 'query'
  | 'query-more'
  | 'collections'
  | 'sobject'
  | 'deleted'
  | 'updated'
  | 'bulk-ingest';

/** What a fault does. */
export type EmulatorFaultKind =
  /** Waits `latencyMs` before answering normally. */
  | 'latency'
  /** 429 with `Retry-After` (`retryAfter`: seconds or an HTTP-date). */
  | 'rate-limit'
  /** 503 `SERVER_UNAVAILABLE`, with `Retry-After` when given. */
  | 'unavailable'
  /** 403 `REQUEST_LIMIT_EXCEEDED` (`TotalRequests Limit exceeded.`, or the concurrency text with `concurrent: true`). */
  | 'request-limit'
  /** 401 `INVALID_SESSION_ID`, and every token issued so far stops working. */
  | 'expired-session'
  /** The socket is destroyed before the request is handled: nothing is written. */
  | 'reset-before-commit'
  /** The request is handled (writes committed), then the socket is destroyed before the answer. */
  | 'reset-after-commit'
  /** The request is handled, then only half of the JSON answer is sent. */
  | 'truncated-json'
  /** 503 with an HTML maintenance page instead of JSON. */
  | 'html-maintenance'
  /** Collections: the record at `itemIndex` (default 0) fails with `UNABLE_TO_LOCK_ROW` and is not written. Elsewhere: 400 `UNABLE_TO_LOCK_ROW`. */
  | 'lock-row'
  /** 400 `QUERY_TIMEOUT`. */
  | 'query-timeout'
  /** 400 `INVALID_OPERATION`: a request Salesforce refuses as malformed (not retryable). */
  | 'bad-request';

/** One scripted fault. */
export interface EmulatorFault {
  readonly kind: EmulatorFaultKind;
  /** Only requests of this route. */
  readonly route?: EmulatorRoute;
  /** Only requests of one of these routes (with `route`, either matches). */
  readonly routes?: readonly EmulatorRoute[];
  /** Only this HTTP method. */
  readonly method?: string;
  /** Only paths matching this (substring or regular expression). */
  readonly path?: string | RegExp;
  /** Only the request with this number (1-based, every request counted, token requests too). */
  readonly requestNumber?: number;
  /** How many matching requests it hits; default 1. `Infinity` for all. */
  readonly times?: number;
  /** Chance (0–1) that a matching request is hit, drawn from the emulator's seeded generator. Default 1. */
  readonly probability?: number;
  /** `Retry-After` header value for `rate-limit` / `unavailable`: seconds (`"2"`) or an HTTP-date. */
  readonly retryAfter?: string;
  /** For `latency`. */
  readonly latencyMs?: number;
  /** For `request-limit`: the concurrency variant (retryable) instead of the daily quota. */
  readonly concurrent?: boolean;
  /** For `lock-row` on collections. */
  readonly itemIndex?: number;
}

/** What the server asks the fault book for one request. */
export interface FaultProbe {
  readonly route: EmulatorRoute;
  readonly method: string;
  readonly path: string;
  readonly requestNumber: number;
}

/** The emulator's scripted faults. */
export class FaultBook {
  private readonly entries: { fault: EmulatorFault; remaining: number }[] = [];
  private random: () => number;

  constructor(private readonly seed = 1) {
    this.random = createSeededRandom(seed);
  }

  /** Adds faults; they apply in the order added. */
  add(...faults: EmulatorFault[]): void {
    for (const fault of faults) this.entries.push({ fault, remaining: fault.times ?? 1 });
  }

  /** Removes every fault and restarts the generator. */
  clear(): void {
    this.entries.length = 0;
    this.random = createSeededRandom(this.seed);
  }

  /** Faults still armed. */
  get pending(): readonly EmulatorFault[] {
    return this.entries.filter((entry) => entry.remaining > 0).map((entry) => entry.fault);
  }

  /** The fault that hits this request, if any (consumes one of its `times`). */
  take(probe: FaultProbe): EmulatorFault | undefined {
    for (const entry of this.entries) {
      const fault = entry.fault;
      if (entry.remaining <= 0) continue;
      const routes = [...(fault.route !== undefined ? [fault.route] : []), ...(fault.routes ?? [])];
      if (routes.length > 0 && !routes.includes(probe.route)) continue;
      if (fault.method !== undefined && fault.method.toUpperCase() !== probe.method) continue;
      if (fault.requestNumber !== undefined && fault.requestNumber !== probe.requestNumber) continue;
      if (fault.path !== undefined && !(typeof fault.path === 'string' ? probe.path.includes(fault.path) : fault.path.test(probe.path))) continue;
      if (fault.probability !== undefined && this.random() >= fault.probability) continue;
      entry.remaining -= 1;
      return fault;
    }
    return undefined;
  }
}
