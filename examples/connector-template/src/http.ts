/**
 * The one place that talks HTTP to Acme: JSON in and out, the API key header, time-outs and abort
 * signals, and every failure turned into a `CrmError` (never a throw).
 *
 * @module
 */
import { ResultAsync, errAsync } from 'neverthrow';
import { type CrmError, crmError } from '@crm-sync/sdk';
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

/** A JSON client for Acme's REST API. */
export class AcmeHttp {
  /** @param config a validated configuration. */
  constructor(private readonly config: ResolvedAcmeConfig) {}

  /** Sends the request and parses the JSON answer; a non-2xx answer becomes a `CrmError`. */
  call<T>(request: AcmeRequest): ResultAsync<T, CrmError> {
    const what = `${request.method} ${request.path.split('?')[0] ?? request.path}`;
    if (request.signal?.aborted) return errAsync(crmError('transient', CONNECTOR_ID, `${what} was aborted before it was sent`));
    const signal = request.signal
      ? AbortSignal.any([request.signal, AbortSignal.timeout(this.config.timeoutMs)])
      : AbortSignal.timeout(this.config.timeoutMs);
    const send = this.config.fetch(`${this.config.baseUrl}${request.path}`, {
      method: request.method,
      headers: {
        accept: 'application/json',
        'x-api-key': this.config.apiKey, // vendor-fact: auth
        ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      signal,
    });
    return ResultAsync.fromPromise(send, (cause) => mapAcmeNetworkError(what, cause, request.method === 'POST')).andThen((response) =>
      ResultAsync.fromPromise(response.text(), (cause) => mapAcmeNetworkError(what, cause, true)).andThen((text) => {
        const parsed = parseJson(text);
        if (!response.ok) {
          return errAsync(mapAcmeHttpError(what, response.status, parsed as AcmeErrorBody | undefined, response.headers.get('retry-after'))); // vendor-fact: rate-limit header
        }
        if (parsed === undefined) {
          // A 2xx with a body we cannot read (truncated, an HTML proxy page): the write may have happened.
          return errAsync(crmError('transient', CONNECTOR_ID, `${what} answered HTTP ${response.status} with a body that is not JSON`, { inDoubt: true }));
        }
        return ResultAsync.fromSafePromise(Promise.resolve(parsed as T));
      }),
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
