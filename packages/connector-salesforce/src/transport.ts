/**
 * The one HTTP path every Salesforce call takes: jsforce's own transport, with three changes the
 * connector needs (reference section 0):
 * - loopback URLs (the emulator) never go through a proxy: jsforce reads `HTTP(S)_PROXY` at load
 *   time, ignores `NO_PROXY` and would send them to the proxy; other hosts keep the proxy;
 * - jsforce's silent retries (up to 5 GETs with sleeps) are off: the runtime wrapper owns retries
 *   and must see every `Retry-After`;
 * - the status, headers and body of every answer are captured, because jsforce's errors drop them.
 *
 * @module
 */
import { Transport } from '@jsforce/jsforce-node/lib/transport.js';
import type { HttpRequest, HttpRequestOptions, HttpResponse } from '@jsforce/jsforce-node';

/** What came back on the wire for one call. */
export interface CapturedAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

/** Options that travel from `conn.request` down to the transport (jsforce passes them through). */
interface CapturingOptions extends HttpRequestOptions {
  /** Filled with the answer's status, headers and body. */
  readonly capture: CapturedAnswer;
  /** Forces this transport for the call (jsforce's `HttpApi` honours `options.transport`). */
  readonly transport: CapturingTransport;
}

/** True for hosts that are this machine: proxies must never see them. */
function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/**
 * jsforce's transport without silent retries, direct (no proxy) for loopback hosts, capturing each
 * answer into the call's options.
 */
export class CapturingTransport extends Transport {
  override httpRequest(request: HttpRequest, options: HttpRequestOptions = {}) {
    const capture = (options as Partial<CapturingOptions>).capture;
    const direct = isLoopbackUrl(request.url);
    // `httpProxy: undefined` as an own key overrides the proxy jsforce read from the environment.
    const effective: HttpRequestOptions = {
      ...options,
      ...(direct ? { httpProxy: undefined } : {}),
      retry: { maxRetries: 0 },
    };
    const pending = super.httpRequest(request, effective);
    pending.then(
      (response: HttpResponse) => {
        if (capture) {
          capture.status = response.statusCode;
          capture.headers = response.headers;
          capture.body = response.body;
        }
      },
      () => undefined,
    );
    return pending;
  }
}
