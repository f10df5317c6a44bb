/**
 * The emulator's HTTP server on 127.0.0.1: the token endpoint, bearer checks, the request log,
 * API-call counters, latency and scripted faults around the Web API routes.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { text as readBodyText } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveBatch, type BatchCounters } from './batch-route.js';
import { DataverseFaults, SERVICE_PROTECTION_MESSAGES, type DataverseFault } from './faults.js';
import { errorResponse, type EmulatorContext, type EmulatorRequest, type EmulatorResponse } from './http-types.js';
import { EMULATOR_CODES } from './reject-codes.js';
import { routeWebApi } from './routes.js';
import type { TokenIssuer } from './token-endpoint.js';

/** One logged request: method, path and status only (never headers, bodies or tokens). */
export interface EmulatorLogEntry {
  /** HTTP method. */
  readonly method: string;
  /** Path and query string as received. */
  readonly path: string;
  /** HTTP status answered; 0 when the connection was dropped by a fault. */
  readonly status: number;
  /** The fault that hit this request, if any. */
  readonly fault?: DataverseFault['kind'];
}

/** API-call counters. */
export interface EmulatorApiCalls {
  /** Web API requests (a `$batch` counts once, as Dataverse counts it for service protection). */
  webApi: number;
  /** Token requests. */
  token: number;
  /** `$batch` requests. */
  batches: number;
  /** Operations inside `$batch` requests. */
  batchOperations: number;
  /** Web API requests by method. */
  byMethod: Record<string, number>;
}

/** Everything the server needs. */
interface ServerParts {
  readonly context: EmulatorContext;
  readonly tokens: TokenIssuer;
  readonly tenantId: string;
  readonly faults: DataverseFaults;
  readonly latencyMs: number;
  readonly log: EmulatorLogEntry[];
  readonly calls: EmulatorApiCalls;
}

function headersOf(request: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

function send(response: ServerResponse, answer: EmulatorResponse, date: Date): void {
  const body = answer.body === undefined ? undefined : Buffer.from(answer.body, 'utf8');
  response.writeHead(answer.status, { ...answer.headers, Date: date.toUTCString(), ...(body ? { 'Content-Length': String(body.length) } : {}) });
  response.end(body);
}

/** Starts the server; resolves once it listens. */
export function startServer(parts: ServerParts, port: number, host = '127.0.0.1'): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const { context, tokens, faults, log, calls } = parts;
  const counters: BatchCounters = { operations: 0 };
  const apiPath = '/api/data/v9.2/';
  const sockets = new Set<Socket>();

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? 'GET';
    const rawPath = request.url ?? '/';
    const url = new URL(rawPath, context.orgUrl);
    const body = await readBodyText(request);
    if (parts.latencyMs > 0) await sleep(parts.latencyMs);
    const now = context.crm.clock.now();
    const record = (status: number, fault?: DataverseFault['kind']) => log.push({ method, path: rawPath, status, ...(fault ? { fault } : {}) });

    const tenantMatch = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (method === 'POST' && tenantMatch) {
      calls.token += 1;
      const answer = tokens.issue(tenantMatch[1] as string, new URLSearchParams(body));
      record(answer.status);
      send(response, answer, new Date());
      return;
    }
    if (!url.pathname.startsWith(apiPath) && url.pathname !== apiPath.slice(0, -1)) {
      const answer = errorResponse(404, EMULATOR_CODES.unknownSegment, `Resource not found for the segment '${url.pathname.split('/').filter(Boolean)[0] ?? url.pathname}'.`);
      record(404);
      send(response, answer, now);
      return;
    }
    calls.webApi += 1;
    calls.byMethod[method] = (calls.byMethod[method] ?? 0) + 1;
    const path = url.pathname.slice(apiPath.length);
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const fault = faults.take(method, path + url.search);
    if (fault?.kind === 'token-expired') tokens.expireAll();
    if (bearer === undefined || !tokens.valid(bearer)) {
      record(401, fault?.kind === 'token-expired' ? 'token-expired' : undefined);
      // Dataverse answers 401 with an empty body and the authority to get a token from.
      send(
        response,
        {
          status: 401,
          headers: { 'WWW-Authenticate': `Bearer authorization_uri=https://login.microsoftonline.com/${parts.tenantId}/oauth2/authorize, resource_id=${context.orgUrl}/` },
        },
        now,
      );
      return;
    }
    switch (fault?.kind) {
      case 'rate-limit': {
        const code = fault.code ?? '0x80072322';
        record(429, fault.kind);
        send(
          response,
          errorResponse(429, code, SERVICE_PROTECTION_MESSAGES[code] ?? 'Rate limit exceeded.', {
            'Retry-After': String(fault.retryAfterSeconds ?? 1),
            'x-ms-ratelimit-burst-remaining-xrm-requests': '0',
            'x-ms-ratelimit-time-remaining-xrm-requests': '1,200,000.00',
          }),
          now,
        );
        return;
      }
      case 'unavailable':
        record(503, fault.kind);
        send(response, errorResponse(503, '0x80040216', 'The service is temporarily unavailable. Please retry later.'), now);
        return;
      case 'error': {
        const status = fault.status ?? 400;
        record(status, fault.kind);
        send(response, errorResponse(status, fault.code ?? '0x80040216', fault.message ?? 'Scripted failure.'), now);
        return;
      }
      case 'html-error':
        record(502, fault.kind);
        send(response, { status: 502, headers: { 'Content-Type': 'text/html' }, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' }, now);
        return;
      case 'reset-before-commit':
        record(0, fault.kind);
        request.socket.destroy();
        return;
      default:
        break;
    }
    const emulatorRequest: EmulatorRequest = { method, url, headers: headersOf(request), body };
    let answer: EmulatorResponse;
    if (path === '$batch' && method === 'POST') {
      calls.batches += 1;
      const before = counters.operations;
      answer = serveBatch(context, emulatorRequest, (inner, innerPath) => routeWebApi(context, inner, innerPath), counters);
      calls.batchOperations += counters.operations - before;
    } else {
      answer = routeWebApi(context, emulatorRequest, path);
    }
    if (fault?.kind === 'reset-after-commit') {
      record(0, fault.kind);
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'truncated-body' && answer.body !== undefined) {
      record(answer.status, fault.kind);
      const full = Buffer.from(answer.body, 'utf8');
      response.writeHead(answer.status, { ...answer.headers, Date: now.toUTCString(), 'Content-Length': String(full.length) });
      response.write(full.subarray(0, Math.floor(full.length / 2)));
      setImmediate(() => request.socket.destroy());
      return;
    }
    record(answer.status);
    send(response, answer, now);
  };

  // Dataverse accepts URLs up to 32 KB; Node's default header limit (16 KB) would refuse them.
  const server = createServer({ maxHeaderSize: 64 * 1024 }, (request, response) => {
    handle(request, response).catch((cause: unknown) => {
      log.push({ method: request.method ?? 'GET', path: request.url ?? '/', status: 500 });
      if (!response.headersSent) send(response, errorResponse(500, '0x80040216', `Emulator failure: ${(cause as Error).message}`), new Date());
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address !== null ? address.port : port, sockets });
    });
  });
}

