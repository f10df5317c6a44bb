/**
 * The HTTP side of a fake CRM: a `node:http` server on 127.0.0.1 that parses JSON requests, logs
 * them, plays a queue of scripted faults (status codes, headers, latency, a connection reset after
 * the write was committed), and hands everything else to the fake's own handler.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the fake's handler sees it. */
export interface FakeRequest {
  /** `GET`, `POST`, ... */
  readonly method: string;
  /** The path without the query, e.g. `/v1/objects/contacts/search`. */
  readonly path: string;
  /** The path split on `/`, decoded, without empty parts. */
  readonly segments: readonly string[];
  /** The query string. */
  readonly query: URLSearchParams;
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body parsed as JSON; `undefined` when empty or not JSON (see `text`). */
  readonly body: unknown;
  /** The raw body. */
  readonly text: string;
}

/** What the handler answers. */
export interface FakeResponse {
  /** The HTTP status. */
  readonly status: number;
  /** Sent as JSON; no body when absent. */
  readonly body?: unknown;
  /** Extra headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Answers `body` as JSON with `status`. */
export function json(status: number, body?: unknown, headers: Readonly<Record<string, string>> = {}): FakeResponse {
  return { status, ...(body !== undefined ? { body } : {}), headers };
}

/** A scripted fault, played on the next request it matches. */
export interface FakeFault {
  /** Which requests it applies to (default: any). E.g. `(r) => r.path.endsWith('/search')`. */
  readonly match?: (request: FakeRequest) => boolean;
  /** Answers this instead of calling the handler (a 429, a 503, a 401...). */
  readonly respond?: FakeResponse;
  /** Waits this long before answering (or resetting). */
  readonly latencyMs?: number;
  /** Runs the handler (so a write is committed), then resets the connection: the client never sees the answer. */
  readonly resetAfterCommit?: boolean;
}

/** A queue of faults; each is played once, on the first request it matches. */
export class FakeFaultQueue {
  private readonly queue: FakeFault[] = [];

  /** Queues `fault` `times` times. */
  push(fault: FakeFault, times = 1): void {
    for (let i = 0; i < times; i += 1) this.queue.push(fault);
  }

  /** Takes the first queued fault that matches `request`, if any. */
  take(request: FakeRequest): FakeFault | undefined {
    const index = this.queue.findIndex((fault) => fault.match?.(request) ?? true);
    return index < 0 ? undefined : this.queue.splice(index, 1)[0];
  }

  /** How many faults are still queued. */
  get size(): number {
    return this.queue.length;
  }

  /** Drops every queued fault. */
  clear(): void {
    this.queue.length = 0;
  }
}

/** One served request, in the request log. */
export interface FakeLogEntry {
  /** Method and path, e.g. `POST /v1/objects/contacts/search`. */
  readonly call: string;
  /** The request. */
  readonly request: FakeRequest;
  /** The status answered; absent when the connection was reset. */
  readonly status?: number;
  /** Whether a scripted fault was played. */
  readonly fault: boolean;
}

/** Handles one request: return the answer (throwing answers 500 with the message). */
export type FakeHandler = (request: FakeRequest) => FakeResponse | Promise<FakeResponse>;

/** A running fake server. */
export interface FakeServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The fault queue; push faults at any time. */
  readonly faults: FakeFaultQueue;
  /** Every request served, oldest first; clear it with `log.length = 0`. */
  readonly log: FakeLogEntry[];
  /**
   * Stops listening and drops open connections, like an outage: calls are refused
   * (`ECONNREFUSED`) until {@link FakeServer.start}. The handler's state, faults and log are kept.
   * Use it for the `refuseConnections` fixture.
   */
  stop(): Promise<void>;
  /** Listens again after {@link FakeServer.stop}, on the same port. */
  start(): Promise<void>;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, answer: FakeResponse): void {
  const hasBody = answer.body !== undefined;
  res.writeHead(answer.status, { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...answer.headers });
  res.end(hasBody ? JSON.stringify(answer.body) : undefined);
}

/** Starts `handler` on a free port of 127.0.0.1, with a fault queue and a request log. */
export async function startFakeServer(handler: FakeHandler): Promise<FakeServer> {
  const faults = new FakeFaultQueue();
  const log: FakeLogEntry[] = [];
  const server = createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, json(500, { error: { code: 'FAKE_SERVER_ERROR', message: error instanceof Error ? error.message : String(error) } }));
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const text = await readBody(req);
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      segments: url.pathname.split('/').filter(Boolean).map(decodeURIComponent),
      query: url.searchParams,
      headers,
      body: parseJson(text),
      text,
    };
    const call = `${request.method} ${request.path}`;
    const fault = faults.take(request);
    if (fault?.latencyMs) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
    if (fault?.respond) {
      log.push({ call, request, status: fault.respond.status, fault: true });
      return send(res, fault.respond);
    }
    const answer = await handler(request);
    if (fault?.resetAfterCommit) {
      log.push({ call, request, fault: true });
      res.socket?.destroy();
      return;
    }
    log.push({ call, request, status: answer.status, fault: fault !== undefined });
    send(res, answer);
  }

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stop = async () => {
    if (!server.listening) return;
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    // Let clients in this process read the end of their pooled keep-alive sockets, so that the
    // next call dials anew and is refused instead of reusing a dead socket.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    log,
    stop,
    async start() {
      if (!server.listening) await listen(port);
    },
    close: stop,
  };
}
