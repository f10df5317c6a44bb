/**
 * Sends one REST call through a jsforce `Connection` and returns its parsed answer or a mapped
 * `CrmError`. Here live: signing in on first use, one replay after a refreshed session,
 * the `Sforce-Limit-Info` usage, the server time from the `Date` header, and detection of
 * truncated answers (jsforce hands back unparseable JSON as a plain string).
 *
 * @module
 */
import { Connection, type HttpMethods } from '@jsforce/jsforce-node';
import { ResultAsync, errAsync, okAsync } from 'neverthrow';
import { crmError, redact, toInstant, type CrmError, type Instant } from '@crm-sync/sdk';
import type { SalesforceTokenManager } from './auth.js';
import type { ResolvedSalesforceConfig } from './config.js';
import { CONNECTOR_ID, malformedAnswerError, mapSalesforceError } from './errors.js';
import type { CapturedAnswer, CapturingTransport } from './transport.js';

/** API usage as Salesforce reports it in `Sforce-Limit-Info: api-usage=used/limit`. */
export interface ApiUsage {
  readonly used: number;
  readonly limit: number;
  /** `per-app-api-usage` when present. */
  readonly perApp?: { readonly used: number; readonly limit: number; readonly app?: string };
}

/** Parses a `Sforce-Limit-Info` header; `undefined` when it holds no `api-usage`. */
export function parseLimitInfo(header: string | undefined): ApiUsage | undefined {
  if (!header) return undefined;
  const usage = /(?:^|[;,\s])api-usage=(\d+)\/(\d+)/.exec(header);
  if (!usage) return undefined;
  const perApp = /per-app-api-usage=(\d+)\/(\d+)(?:\(appName=([^)]*)\))?/.exec(header);
  return {
    used: Number(usage[1]),
    limit: Number(usage[2]),
    ...(perApp ? { perApp: { used: Number(perApp[1]), limit: Number(perApp[2]), ...(perApp[3] ? { app: perApp[3] } : {}) } } : {}),
  };
}

/** One successful answer. */
export interface SalesforceAnswer<T> {
  readonly body: T;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** One REST call. `path` is relative to the instance (`/services/data/v62.0/...`). */
interface SalesforceCall {
  readonly method: HttpMethods;
  readonly path: string;
  readonly body?: unknown;
  /** Raw body text (CSV) instead of JSON. */
  readonly rawBody?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** The answer is CSV/text, not JSON. */
  readonly expectText?: boolean;
  readonly signal?: AbortSignal;
}

/** The REST client the contract methods share. */
export class SalesforceApi {
  private readonly connection: Connection;
  /** Latest `Sforce-Limit-Info` seen. */
  apiUsage: ApiUsage | undefined;
  /** Server time of the latest answer (`Date` header). */
  lastServerTime: Instant | undefined;
  /** Every REST call sent (token requests not included). */
  requestCount = 0;
  /** Until when (epoch ms) Salesforce asked to wait (a 429's `Retry-After`): no read-ahead before. */
  pausedUntil = 0;
  /** Query pages requested ahead, by path; see `queryReadAhead`. */
  readonly readAhead = new Map<string, ResultAsync<SalesforceAnswer<unknown>, CrmError>>();

  constructor(
    readonly config: ResolvedSalesforceConfig,
    readonly tokens: SalesforceTokenManager,
    private readonly transport: CapturingTransport,
  ) {
    this.connection = new Connection({ version: config.apiVersion, ...(config.instanceUrl ? { instanceUrl: config.instanceUrl } : {}) });
  }

  /** `/services/data/v{version}` */
  get basePath(): string {
    return `/services/data/v${this.config.apiVersion}`;
  }

  /** Sends a call; on a refused session, refreshes once (single-flight) and replays it. */
  call<T>(call: SalesforceCall): ResultAsync<SalesforceAnswer<T>, CrmError> {
    if (call.signal?.aborted) return errAsync(crmError('transient', CONNECTOR_ID, `${call.method} ${call.path} was aborted before it was sent`));
    return this.tokens.current().andThen((session) =>
      this.send<T>(call, session.accessToken, session.instanceUrl).orElse((error) => {
        if (error.kind !== 'auth' || error.httpStatus !== 401 || !this.tokens.canRefresh) {
          this.config.logger?.debug(redact({ connector: CONNECTOR_ID, method: call.method, path: call.path.split('?')[0], kind: error.kind, status: error.httpStatus }), 'salesforce call failed');
          return errAsync(error);
        }
        this.config.logger?.info({ connector: CONNECTOR_ID }, 'salesforce session refused (401); refreshing it once and replaying the call');
        return this.tokens.refresh(session.accessToken).andThen((fresh) => this.send<T>(call, fresh.accessToken, fresh.instanceUrl));
      }),
    );
  }

  private send<T>(call: SalesforceCall, accessToken: string, instanceUrl: string): ResultAsync<SalesforceAnswer<T>, CrmError> {
    const capture: CapturedAnswer = {};
    const where = { method: call.method, path: call.path.split('?')[0] ?? call.path };
    this.connection.accessToken = accessToken;
    this.connection.instanceUrl = instanceUrl;
    const headers: Record<string, string> = { ...(call.headers ?? {}) };
    let body: string | undefined;
    if (call.rawBody !== undefined) body = call.rawBody;
    else if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['Content-Type'] ??= 'application/json';
    }
    this.requestCount += 1;
    const request = this.connection.request<unknown>(
      { method: call.method, url: instanceUrl + call.path, headers, ...(body !== undefined ? { body } : {}) },
      { capture, transport: this.transport, retry: { maxRetries: 0 }, ...(call.expectText ? { responseType: 'text/plain' } : {}) },
    );
    return ResultAsync.fromPromise(withAbort(Promise.resolve(request), call.signal), (error) => {
      if (error instanceof CallAbortedError) {
        const write = call.method !== 'GET';
        return crmError('transient', CONNECTOR_ID, `${where.method} ${where.path} was aborted by the caller${write ? '; the write may or may not have been applied' : ''}`, { inDoubt: write });
      }
      this.observe(capture);
      const mapped = mapSalesforceError(error, { ...where, status: capture.status, headers: capture.headers ?? {}, body: safeJson(capture.body) });
      if (mapped.kind === 'rate-limited') this.pausedUntil = Math.max(this.pausedUntil, Date.now() + (mapped.retryAfterMs ?? 1000));
      return mapped;
    }).andThen((parsed) => {
      this.observe(capture);
      this.config.logger?.debug(redact({ connector: CONNECTOR_ID, method: call.method, path: where.path, status: capture.status }), 'salesforce call');
      const status = capture.status ?? 200;
      if (!call.expectText && status !== 204 && typeof parsed === 'string') return errAsync(malformedAnswerError({ ...where, status }));
      return okAsync({ body: parsed as T, status, headers: capture.headers ?? {} });
    });
  }

  private observe(capture: CapturedAnswer): void {
    const usage = parseLimitInfo(capture.headers?.['sforce-limit-info']);
    if (usage) this.apiUsage = usage;
    const date = capture.headers?.date;
    if (date) {
      const ms = Date.parse(date);
      if (!Number.isNaN(ms)) this.lastServerTime = toInstant(ms);
    }
  }
}

/** Thrown when the caller's signal aborts a call in flight. */
class CallAbortedError extends Error {}

/**
 * Settles with `promise`, or rejects as soon as `signal` aborts. jsforce 3.10.16 takes no abort
 * signal, so the HTTP request itself runs to its end; the caller just stops waiting for it.
 */
function withAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new CallAbortedError('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function safeJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
