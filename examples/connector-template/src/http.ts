/**
 * The one place that talks HTTP to Acme: JSON in and out, the access token (fetched with the API
 * key, refreshed when Acme says it expired), time-outs and abort signals, and every failure turned
 * into a `CrmError` (never a throw).
 *
 * @module
 */
import { ResultAsync, errAsync, okAsync } from 'neverthrow';
import { type CrmError, crmError, registerSecret } from '@crm-sync/sdk';
import type { ResolvedAcmeConfig } from './config.js';
import { CONNECTOR_ID } from './connector-id.js';
import { mapAcmeHttpError, mapAcmeNetworkError, type AcmeErrorBody } from './errors.js';

/** One JSON request to Acme. */
export interface AcmeRequest {
  /** `GET` or `POST`. */
  readonly method: 'GET' | 'POST';
  /** The path after the base URL, starting with `/v1/`. Callers encode path segments. */
  readonly path: string;
  /** The JSON body of a `POST`. */
  readonly body?: unknown;
  /** Aborts the call. */
  readonly signal?: AbortSignal;
}

/** An HTTP answer: status, headers and the parsed JSON body (`undefined` when not JSON). */
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/** Acme's error codes on a 401 that a new access token cures. */
const EXPIRED_TOKEN_CODES = new Set(['TOKEN_EXPIRED']); // vendor-fact: error codes

/** A JSON client for Acme's REST API. */
export class AcmeHttp {
  private token: string | undefined;

  /** @param config a validated configuration. */
  constructor(private readonly config: ResolvedAcmeConfig) {}

  /** Sends the request and parses the JSON answer; a non-2xx answer becomes a `CrmError`. */
  call<T>(request: AcmeRequest): ResultAsync<T, CrmError> {
    const what = `${request.method} ${request.path.split('?')[0] ?? request.path}`;
    if (request.signal?.aborted) return errAsync(crmError('transient', CONNECTOR_ID, `${what} was aborted before it was sent`));
    return this.authorized(request, what).andThen((answer) => {
      if (answer.status < 200 || answer.status > 299) {
        return errAsync(mapAcmeHttpError(what, answer.status, answer.body as AcmeErrorBody | undefined, answer.headers));
      }
      if (answer.body === undefined) {
        // A 2xx with a body we cannot read (truncated, an HTML proxy page): the write may have happened.
        return errAsync(crmError('transient', CONNECTOR_ID, `${what} answered HTTP ${answer.status} with a body that is not JSON`, { inDoubt: true }));
      }
      return okAsync(answer.body as T);
    });
  }

  /**
   * Sends with the current access token; when Acme answers that the token expired, gets a new one
   * and sends once more (a 401 means Acme did nothing, so sending again is safe).
   */
  private authorized(request: AcmeRequest, what: string): ResultAsync<Answer, CrmError> {
    const send = (token: string) => this.send(request, what, { authorization: `Bearer ${token}` }); // vendor-fact: auth
    return this.accessToken(request.signal).andThen((token) =>
      send(token).andThen((answer) => {
        const code = (answer.body as AcmeErrorBody | undefined)?.error?.code;
        if (answer.status !== 401 || code === undefined || !EXPIRED_TOKEN_CODES.has(code)) return okAsync(answer);
        this.token = undefined;
        return this.accessToken(request.signal).andThen(send);
      }),
    );
  }

  /** The cached access token, or a new one from `POST /v1/auth/token` (registered as a secret). */
  private accessToken(signal: AbortSignal | undefined): ResultAsync<string, CrmError> {
    if (this.token !== undefined) return okAsync(this.token);
    const request: AcmeRequest = { method: 'POST', path: '/v1/auth/token', body: { apiKey: this.config.apiKey }, ...(signal ? { signal } : {}) }; // vendor-fact: auth
    return this.send(request, 'POST /v1/auth/token', {}).andThen((answer) => {
      const token = (answer.body as { accessToken?: unknown } | undefined)?.accessToken;
      if (answer.status !== 200 || typeof token !== 'string') {
        return errAsync(mapAcmeHttpError('POST /v1/auth/token', answer.status, answer.body as AcmeErrorBody | undefined, answer.headers));
      }
      registerSecret(token);
      this.token = token;
      return okAsync(token);
    });
  }

  /** One HTTP exchange; only a missing answer is an error here. */
  private send(request: AcmeRequest, what: string, headers: Record<string, string>): ResultAsync<Answer, CrmError> {
    const signal = request.signal ? AbortSignal.any([request.signal, AbortSignal.timeout(this.config.timeoutMs)]) : AbortSignal.timeout(this.config.timeoutMs);
    const sent = this.config.fetch(`${this.config.baseUrl}${request.path}`, {
      method: request.method,
      headers: { accept: 'application/json', ...headers, ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      signal,
    });
    return ResultAsync.fromPromise(sent, (cause) => mapAcmeNetworkError(what, cause, request.method === 'POST')).andThen((response) =>
      ResultAsync.fromPromise(response.text(), (cause) => mapAcmeNetworkError(what, cause, true)).map((text) => ({ status: response.status, headers: response.headers, body: parseJson(text) })),
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
