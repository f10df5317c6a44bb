/**
 * The HTTP layer: one keep-alive undici agent per connector, the OData headers on every call,
 * `Prefer` values combined into one header, the bearer token (refreshed once on a 401), and
 * every failure turned into a `CrmError`.
 *
 * @module
 */
import { Agent, fetch, type Response } from 'undici';
import { errAsync, ResultAsync } from 'neverthrow';
import { crmError, type CrmError } from '@crm-sync/sdk';
import { TokenAcquisitionError, type DataverseTokenProvider } from './auth.js';
import type { ResolvedDynamicsConfig } from './config.js';
import { CONNECTOR_ID, mapHttpError, mapNetworkError, type ErrorContext } from './errors.js';

/** One Web API call. */
interface DataverseRequest {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to the Web API base (`contacts?$select=...`) or an absolute URL on the same origin. */
  readonly path: string;
  /** Short description for messages, without literals: `GET contacts`. */
  readonly operation: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** `Prefer` values, sent together in one header. */
  readonly prefer?: readonly string[];
  /** Statuses ≥ 400 that are answers, not errors (e.g. 404 on a delete). */
  readonly acceptStatuses?: readonly number[];
  readonly signal?: AbortSignal;
}

/** A Web API answer. */
export interface DataverseResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly text: string;
  /** The parsed body when it was JSON. */
  readonly json: unknown;
}

/** Sends Web API calls for one organisation. */
export class DataverseHttp {
  private readonly agent: Agent;
  /** Web API calls sent (a `$batch` counts once), for reports and benchmarks. */
  calls = 0;

  constructor(
    private readonly config: ResolvedDynamicsConfig,
    private readonly tokens: DataverseTokenProvider,
  ) {
    this.agent = new Agent({ keepAliveTimeout: 30_000, connections: Math.max(1, config.concurrency) * 2 });
  }

  /** Resolves a path against the Web API base; refuses other origins so a token never leaks. */
  resolveUrl(path: string): URL | undefined {
    const url = new URL(path, this.config.apiBase);
    return url.origin === new URL(this.config.apiBase).origin ? url : undefined;
  }

  /** Sends one call; 401 triggers one token refresh and one resend. */
  send(request: DataverseRequest): ResultAsync<DataverseResponse, CrmError> {
    const url = this.resolveUrl(request.path);
    if (url === undefined) {
      return errAsync(crmError('invalid-request', CONNECTOR_ID, `${request.operation}: refusing to send the access token to another origin than ${this.config.orgUrl}`));
    }
    return ResultAsync.fromPromise(this.sendWithRetryOn401(request, url), (cause) =>
      cause instanceof TokenAcquisitionError ? cause.error : isCrmErrorThrown(cause) ? cause.error : mapNetworkError(cause, context(request), 'connect'),
    );
  }

  private async sendWithRetryOn401(request: DataverseRequest, url: URL): Promise<DataverseResponse> {
    let token = await this.tokens.getToken();
    let answer = await this.sendOnce(request, url, token.accessToken);
    if (answer.status === 401) {
      token = await this.tokens.refreshAfterRejection(token.accessToken);
      answer = await this.sendOnce(request, url, token.accessToken);
    }
    if (answer.status >= 400 && !(request.acceptStatuses ?? []).includes(answer.status)) {
      throw new CrmErrorThrown(mapHttpError(answer.status, answer.headers, answer.json, context(request)));
    }
    return answer;
  }

  private async sendOnce(request: DataverseRequest, url: URL, accessToken: string): Promise<DataverseResponse> {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'OData-MaxVersion': '4.0',
      'OData-Version': '4.0',
      Authorization: `Bearer ${accessToken}`,
      ...(request.body !== undefined ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
      ...request.headers,
    };
    if (request.prefer !== undefined && request.prefer.length > 0) headers.Prefer = request.prefer.join(',');
    const timeout = AbortSignal.timeout(this.config.requestTimeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    this.calls += 1;
    const started = Date.now();
    let response: Response;
    try {
      response = await fetch(url, {
        method: request.method,
        headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        dispatcher: this.agent,
        signal,
      });
    } catch (cause) {
      throw new CrmErrorThrown(mapNetworkError(cause, context(request), 'connect'));
    }
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      throw new CrmErrorThrown(mapNetworkError(cause, context(request), 'read'));
    }
    const contentType = response.headers.get('content-type') ?? '';
    let json: unknown;
    if (/json/i.test(contentType) && text !== '') {
      try {
        json = JSON.parse(text);
      } catch (cause) {
        if (response.status < 400) throw new CrmErrorThrown(mapNetworkError(cause, context(request), 'read'));
      }
    }
    // Operation names carry no literals and no tokens, so the debug line is safe to keep.
    this.config.logger?.debug({ connector: CONNECTOR_ID, operation: request.operation, status: response.status, ms: Date.now() - started }, 'Dataverse Web API call');
    return { status: response.status, headers: response.headers, text, json };
  }

  /** Closes the keep-alive sockets. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}

function context(request: DataverseRequest): ErrorContext {
  return { operation: request.operation, method: request.method };
}

class CrmErrorThrown extends Error {
  constructor(readonly error: CrmError) {
    super(error.message);
  }
}

function isCrmErrorThrown(value: unknown): value is CrmErrorThrown {
  return value instanceof CrmErrorThrown;
}
