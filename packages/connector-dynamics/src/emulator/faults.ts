/**
 * Scripted faults: each applies to the next matching Web API calls, in the order injected, so a
 * test states exactly what goes wrong and when. Nothing is random.
 *
 * @module
 */

/** What goes wrong. */
export type DataverseFaultKind =
  /** 429 with `Retry-After` and a service-protection code. */
  | 'rate-limit'
  /** 503 with a Dataverse error body. */
  | 'unavailable'
  /** 502 with an HTML page, as a gateway in front of Dataverse sends. */
  | 'html-error'
  /** The connection is dropped before the request is processed (nothing committed). */
  | 'reset-before-commit'
  /** The request is processed (committed), then the connection is dropped without an answer. */
  | 'reset-after-commit'
  /** The request is processed and the answer cut off halfway. */
  | 'truncated-body'
  /** The access token is refused as expired (401), once per injected time. */
  | 'token-expired'
  /** Any Dataverse error answer: `status`, `code` and `message` as given. */
  | 'error';

/** One scripted fault. */
export interface DataverseFault {
  /** What goes wrong. */
  readonly kind: DataverseFaultKind;
  /** How many matching calls it hits; default 1. */
  readonly times?: number;
  /** Only calls whose method and path (from `/api/data/...`) match. */
  readonly match?: {
    /** HTTP method, e.g. `POST`. */
    readonly method?: string;
    /** A substring of, or a pattern over, the path after `/api/data/v9.2/` (with its query). */
    readonly path?: string | RegExp;
  };
  /** `rate-limit`: seconds in `Retry-After`; default 1. */
  readonly retryAfterSeconds?: number;
  /** `rate-limit`: the service-protection code (default `0x80072322`); `error`: the Dataverse code. */
  readonly code?: string;
  /** `error`: the HTTP status; default 400. */
  readonly status?: number;
  /** `error`: the message; default a generic one. */
  readonly message?: string;
}

/** The fault script of one emulator. */
export class DataverseFaults {
  readonly #queue: { fault: DataverseFault; left: number }[] = [];

  /** Adds faults at the end of the script. */
  inject(...faults: DataverseFault[]): void {
    for (const fault of faults) this.#queue.push({ fault, left: fault.times ?? 1 });
  }

  /** Removes every pending fault. */
  clear(): void {
    this.#queue.length = 0;
  }

  /** Faults still waiting to hit. */
  get pending(): number {
    return this.#queue.reduce((sum, item) => sum + item.left, 0);
  }

  /** The fault for this call, if any; consumes one hit. */
  take(method: string, path: string): DataverseFault | undefined {
    const index = this.#queue.findIndex(({ fault }) => {
      const match = fault.match;
      if (match?.method !== undefined && match.method.toUpperCase() !== method.toUpperCase()) return false;
      if (match?.path === undefined) return true;
      return typeof match.path === 'string' ? path.includes(match.path) : match.path.test(path);
    });
    if (index < 0) return undefined;
    const item = this.#queue[index] as { fault: DataverseFault; left: number };
    item.left -= 1;
    if (item.left <= 0) this.#queue.splice(index, 1);
    return item.fault;
  }
}

/** Service-protection messages per code, as Dataverse words them. */
export const SERVICE_PROTECTION_MESSAGES: Readonly<Record<string, string>> = {
  '0x80072322': 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.',
  '0x80072321': 'Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.',
  '0x80072326': 'Number of concurrent requests exceeded the limit of 52.',
};
