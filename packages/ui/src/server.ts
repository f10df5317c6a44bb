/**
 * The dashboard's HTTP server (`node:http`): the page's fixed files and the JSON API under
 * `/api/v1`. Read-only: GET and HEAD only. Bound to 127.0.0.1 unless told otherwise; any other
 * address is refused without an access token, and with a token every API request must carry it
 * (`Authorization: Bearer <token>`), compared in constant time. On loopback the `Host` header must
 * name the loopback address too (a DNS-rebinding page cannot reach the API). Errors answer JSON
 * with a message, never a stack trace.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { redact, redactText } from '@crm-sync/sdk';
import { answerApi, NotFoundError, type ApiContext } from './api-v1.js';
import { BadRequestError } from './query-params.js';
import { loadStaticFiles } from './static-files.js';
import type { StoreProblem, UiStore } from './ui-store.js';
import type { WorkersStatusReader } from './workers-status.js';

/** Options of {@link startUiServer}. */
export interface UiServerOptions {
  /** The store to show, or why there is none (the page then explains it). */
  readonly store: UiStore | StoreProblem;
  /** How the database is shown: a path, or a URL with its password masked. Never a secret. */
  readonly databaseLabel: string;
  /** The address to bind. Default `127.0.0.1`. Any non-loopback address requires `token`. */
  readonly host?: string;
  /** The port; `0` (the default) picks a free one. */
  readonly port?: number;
  /** The access token every API request must carry; required off loopback. At least 16 characters. */
  readonly token?: string;
  /** Reads the distributed workers' status; without it the workers page says they are not in use. */
  readonly workersStatus?: WorkersStatusReader;
  /** Secrets to mask in every answer besides those registered with the SDK's `registerSecret`. */
  readonly secrets?: readonly string[];
  /** The clock. Default the system clock. */
  readonly now?: () => Date;
}

/** A started dashboard server. */
export interface UiServer {
  /** The base URL, e.g. `http://127.0.0.1:4242`. */
  readonly url: string;
  /** The URL that opens the page with its token (in the fragment, which browsers never send). */
  readonly openUrl: string;
  readonly host: string;
  readonly port: number;
  /** Stops accepting connections and closes the open ones. */
  close(): Promise<void>;
}

/** The error a server start is refused with: a non-loopback address without token, a bad token. */
export class UiServerConfigError extends Error {
  /** @param message - what is wrong and how to fix it */
  constructor(message: string) {
    super(message);
    this.name = 'UiServerConfigError';
  }
}

/** The shortest access token accepted. */
export const MIN_TOKEN_LENGTH = 16;

/** True for the loopback addresses and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * Starts the dashboard server. Rejects with {@link UiServerConfigError} when `host` is not a
 * loopback address and no `token` is given, or when the token is shorter than
 * {@link MIN_TOKEN_LENGTH}; with the listen error when the port is taken.
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token;
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new UiServerConfigError(`[crm-sync] [ui] the access token must be at least ${MIN_TOKEN_LENGTH} characters; use a random one (crm-sync ui makes one when CRM_SYNC_UI_TOKEN is not set)`);
  }
  if (!isLoopbackHost(host) && token === undefined) {
    throw new UiServerConfigError(
      `[crm-sync] [ui] refusing to serve on ${host} without an access token: off 127.0.0.1 anyone who reaches the port could read the run history. Give a token (CRM_SYNC_UI_TOKEN), or bind 127.0.0.1.`,
    );
  }
  const files = loadStaticFiles();
  // The token is a secret too: no answer may echo it.
  const secrets = [...(options.secrets ?? []), ...(token === undefined ? [] : [token])];
  const context: ApiContext = {
    store: options.store,
    databaseLabel: redactText(options.databaseLabel, secrets),
    ...(options.workersStatus === undefined ? {} : { workersStatus: options.workersStatus }),
    redactText: (text) => redactText(text, secrets),
    now: options.now ?? (() => new Date()),
  };
  const tokenDigest = token === undefined ? undefined : digest(token);
  let port = 0;
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((thrown: unknown) => {
      // Never a stack trace: the message only, redacted, and only if nothing was sent yet.
      const message = redactText(thrown instanceof Error ? thrown.message : String(thrown), secrets);
      if (!response.headersSent) sendJson(response, 500, { error: { code: 'internal', message: `the dashboard could not answer: ${message}` } }, secrets);
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = request.url ?? '/';
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      sendJson(response, 405, { error: { code: 'read-only', message: `the dashboard is read-only: ${request.method ?? ''} is not accepted, only GET` } }, secrets);
      return;
    }
    if (isLoopbackHost(host) && !loopbackHostHeader(request.headers.host, port)) {
      sendJson(response, 421, { error: { code: 'bad-host', message: 'the Host header does not name this loopback server; open the address crm-sync ui printed' } }, secrets);
      return;
    }
    // Dot segments, backslashes and encoded slashes or dots have no business in any route.
    if (/\.\.|\\|%2e|%2f|%5c|%00/i.test(raw)) {
      sendJson(response, 400, { error: { code: 'bad-path', message: 'the path holds dot segments or encoded separators; the dashboard serves fixed routes only' } }, secrets);
      return;
    }
    const url = new URL(raw, 'http://dashboard.invalid');
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      if (tokenDigest !== undefined && !tokenMatches(request.headers.authorization, tokenDigest)) {
        response.setHeader('WWW-Authenticate', 'Bearer realm="crm-sync"');
        sendJson(response, 401, { error: { code: 'token-required', message: 'this dashboard needs its access token: open the URL crm-sync ui printed, or send Authorization: Bearer <token>' } }, secrets);
        return;
      }
      const prefix = '/api/v1';
      if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
        sendJson(response, 404, { error: { code: 'not-found', message: `the API is versioned: use ${prefix}/... (docs/guides/dashboard.md)` } }, secrets);
        return;
      }
      await answer(url.pathname.slice(prefix.length), url.searchParams, response);
      return;
    }
    const file = files.get(url.pathname);
    if (file === undefined) {
      sendJson(response, 404, { error: { code: 'not-found', message: `no page ${JSON.stringify(url.pathname)}; open /` } }, secrets);
      return;
    }
    setCommonHeaders(response);
    response.writeHead(200, { 'Content-Type': file.contentType, 'Content-Length': file.body.length, 'Cache-Control': 'no-cache' });
    response.end(request.method === 'HEAD' ? undefined : file.body);
  }

  async function answer(path: string, query: URLSearchParams, response: ServerResponse): Promise<void> {
    let result;
    try {
      result = await answerApi(path, query, context);
    } catch (thrown) {
      if (thrown instanceof BadRequestError) return sendJson(response, 400, { error: { code: 'bad-request', message: thrown.message } }, secrets);
      if (thrown instanceof NotFoundError) return sendJson(response, 404, { error: { code: 'not-found', message: thrown.message } }, secrets);
      throw thrown;
    }
    if (result.kind === 'json') return sendJson(response, result.status, result.body, secrets);
    setCommonHeaders(response);
    response.writeHead(200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="${result.filename}"`,
      'Cache-Control': 'no-store',
    });
    for await (const chunk of result.chunks) {
      if (!response.write(chunk)) await new Promise<void>((resolve) => response.once('drain', resolve));
    }
    response.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}`;
  return {
    url,
    openUrl: token === undefined ? `${url}/` : `${url}/#token=${encodeURIComponent(token)}`,
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer (\S+)$/.exec(header ?? '');
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
}

function loopbackHostHeader(header: string | undefined, port: number): boolean {
  if (header === undefined) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(header.toLowerCase());
}

function setCommonHeaders(response: ServerResponse): void {
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('X-Frame-Options', 'DENY');
  response.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
}

function sendJson(response: ServerResponse, status: number, body: unknown, secrets: readonly string[]): void {
  const text = JSON.stringify(redact(body, secrets));
  setCommonHeaders(response);
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  response.end(text);
}
