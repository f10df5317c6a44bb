/**
 * The emulator's HTTP server: a real `node:http` server on 127.0.0.1 that routes Salesforce's
 * REST paths, checks bearer tokens, counts API calls, sends `Sforce-Limit-Info` and a `Date`
 * header, logs each request (never the Authorization header or token values) and applies the
 * scripted faults before or after the handler.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { text as readBodyText } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { json, sfError, type EmulatorContext, type RouteAnswer } from './context.js';
import type { EmulatorFault, EmulatorRoute, FaultBook } from './faults.js';
import { handleToken } from './routes-auth.js';
import { handleIngest } from './routes-bulk.js';
import { handleDescribe, handleDescribeGlobal, handleLimits, handleVersions, servedVersions } from './routes-meta.js';
import { handleQuery, handleQueryMore } from './routes-query.js';
import { handleCollectionDelete, handleCollectionWrite, handleFeed, handleSingleRecord } from './routes-records.js';
import { SalesforceFault } from './soql-eval.js';

/** One line of the request log. */
export interface EmulatorLogEntry {
  /** 1-based request number (every request, token requests included). */
  readonly n: number;
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly route: EmulatorRoute | 'unknown';
  /** HTTP status sent; 0 when the connection was reset. */
  status: number;
  /** When the request arrived (machine clock, ISO 8601). */
  readonly at: string;
  /** The fault applied, if any. */
  fault?: string;
}

/** How the server is set up. */
interface EmulatorServerOptions {
  readonly context: EmulatorContext;
  readonly faults: FaultBook;
  readonly latencyMs: number;
  readonly log: EmulatorLogEntry[];
  /** The newest version the versions list shows. */
  readonly newestVersion: string;
}

const MAINTENANCE_PAGE =
  '<!DOCTYPE html><html><head><title>Salesforce - Down for Maintenance</title></head><body><h1>Down for Maintenance</h1><p>Salesforce is temporarily unavailable. Please try again later.</p></body></html>';

interface Routed {
  readonly route: EmulatorRoute | 'unknown';
  readonly version?: string;
  readonly rest: readonly string[];
}

function routeOf(method: string, path: string): Routed {
  if (path === '/services/oauth2/token') return { route: 'token', rest: [] };
  if (path === '/services/data' || path === '/services/data/') return { route: 'versions', rest: [] };
  const match = /^\/services\/data\/(v\d+\.\d|latest)(?:\/(.*))?$/.exec(path);
  if (!match) return { route: 'unknown', rest: [] };
  const version = match[1] === 'latest' ? 'latest' : match[1]!.slice(1);
  const rest = (match[2] ?? '').split('/').filter((s) => s.length > 0).map((s) => decodeURIComponent(s));
  const [a, b, c] = rest;
  if (a === 'sobjects' && rest.length === 0 + 1) return { route: 'describe-global', version, rest };
  if (a === 'sobjects' && c === 'describe' && rest.length === 3) return { route: 'describe', version, rest };
  if (a === 'sobjects' && (c === 'deleted' || c === 'updated') && rest.length === 3) return { route: c, version, rest };
  if (a === 'sobjects') return { route: 'sobject', version, rest };
  if (a === 'limits') return { route: 'limits', version, rest };
  if ((a === 'query' || a === 'queryAll') && b === undefined) return { route: 'query', version, rest };
  if (a === 'query' || a === 'queryAll') return { route: 'query-more', version, rest };
  if (a === 'composite' && b === 'sobjects') return { route: 'collections', version, rest };
  if (a === 'jobs' && b === 'ingest') return { route: 'bulk-ingest', version, rest };
  void method;
  return { route: 'unknown', version, rest };
}

/** The token of `Authorization: Bearer <token>` or `Authorization: OAuth <token>` (Salesforce accepts both). */
function bearerOf(request: IncomingMessage): string | undefined {
  const match = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

/** A fault that answers instead of the handler, or `undefined`. */
function faultAnswer(fault: EmulatorFault, context: EmulatorContext): RouteAnswer | undefined {
  switch (fault.kind) {
    case 'rate-limit':
      return { ...sfError(429, 'REQUEST_LIMIT_EXCEEDED', 'Too many requests'), headers: { 'Retry-After': fault.retryAfter ?? '1' } };
    case 'unavailable':
      return { ...sfError(503, 'SERVER_UNAVAILABLE', 'server too busy'), ...(fault.retryAfter ? { headers: { 'Retry-After': fault.retryAfter } } : {}) };
    case 'request-limit':
      return sfError(403, 'REQUEST_LIMIT_EXCEEDED', fault.concurrent ? 'ConcurrentPerOrgLongTxn Limit exceeded.' : 'TotalRequests Limit exceeded.');
    case 'expired-session':
      context.tokens.clear();
      return sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    case 'html-maintenance':
      return { status: 503, text: MAINTENANCE_PAGE, contentType: 'text/html;charset=UTF-8' };
    case 'query-timeout':
      return sfError(400, 'QUERY_TIMEOUT', 'Your query request was running too long');
    case 'bad-request':
      return sfError(400, 'INVALID_OPERATION', 'The request was refused (scripted fault)');
    default:
      return undefined;
  }
}

async function dispatch(context: EmulatorContext, routed: Routed, request: IncomingMessage, url: URL, bodyText: string): Promise<RouteAnswer> {
  const method = request.method ?? 'GET';
  const version = routed.version ?? '62.0';
  let body: unknown;
  const type = request.headers['content-type'] ?? '';
  if (bodyText.length > 0 && /json/.test(type)) {
    try {
      body = JSON.parse(bodyText);
    } catch {
      return sfError(400, 'JSON_PARSER_ERROR', 'Unexpected character in the request body');
    }
  }
  const [, second, third, fourth] = routed.rest;
  switch (routed.route) {
    case 'describe-global':
      return handleDescribeGlobal(context, version);
    case 'describe':
      return handleDescribe(context, second!, version);
    case 'limits':
      return handleLimits(context);
    case 'query':
      return handleQuery(context, version, url.searchParams.get('q'), routed.rest[0] === 'queryAll', request.headers['sforce-query-options'] as string | undefined);
    case 'query-more':
      return handleQueryMore(context, version, second ?? '');
    case 'deleted':
    case 'updated':
      return handleFeed(context, second!, routed.route, url.searchParams);
    case 'sobject':
      return handleSingleRecord(context, version, method, routed.rest.slice(1), body, bodyText, url.searchParams);
    case 'collections':
      if (method === 'DELETE' && third === undefined) return handleCollectionDelete(context, url.searchParams.get('ids'), url.searchParams.get('allOrNone') === 'true');
      if (method === 'POST' && third === undefined) return handleCollectionWrite(context, method, body, bodyText);
      if (method === 'PATCH' && third === undefined) return handleCollectionWrite(context, method, body, bodyText);
      if (method === 'PATCH' && third !== undefined && fourth !== undefined) return handleCollectionWrite(context, method, body, bodyText, third, fourth);
      return sfError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed`);
    case 'bulk-ingest':
      return handleIngest(context, version, method, routed.rest.slice(2), body, bodyText);
    default:
      // Salesforce's 404, saying that the emulator does not implement the resource (composite,
      // batch, tree, search, Bulk 2.0 query jobs, Bulk 1.0, SOAP, the identity URL...).
      return sfError(404, 'NOT_FOUND', `The requested resource does not exist (the crm-sync Salesforce emulator does not implement ${method} ${url.pathname})`);
  }
}

function send(response: ServerResponse, answer: RouteAnswer, context: EmulatorContext, countsAsApiCall: boolean, truncate: boolean): void {
  // The Date header is the CRM's server time (its clock), which clients use to end their windows.
  const headers: Record<string, string> = { Date: context.crm.clock.now().toUTCString(), ...(answer.headers ?? {}) };
  if (countsAsApiCall) headers['Sforce-Limit-Info'] = `api-usage=${context.apiCalls}/${context.dailyApiLimit}`;
  let payload = '';
  if (answer.text !== undefined) {
    payload = answer.text;
    headers['Content-Type'] = answer.contentType ?? 'text/plain;charset=UTF-8';
  } else if (answer.body !== undefined && answer.status !== 204) {
    payload = JSON.stringify(answer.body);
    headers['Content-Type'] = 'application/json;charset=UTF-8';
  }
  if (truncate) {
    payload = payload.slice(0, Math.floor(payload.length / 2));
  }
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  response.writeHead(answer.status, headers);
  response.end(payload);
}

/** Creates the server (not yet listening). */
export function createEmulatorServer(options: EmulatorServerOptions): Server {
  const { context, faults, log } = options;
  let requestNumber = 0;
  return createServer((request, response) => {
    void (async () => {
      requestNumber += 1;
      const method = (request.method ?? 'GET').toUpperCase();
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const path = url.pathname;
      const routed = routeOf(method, path);
      const entry: EmulatorLogEntry = { n: requestNumber, method, path, route: routed.route, status: 0, at: new Date().toISOString() };
      log.push(entry);
      const bodyText = await readBodyText(request);
      const fault = routed.route === 'unknown' ? undefined : faults.take({ route: routed.route, method, path, requestNumber });
      if (fault) entry.fault = fault.kind;
      const latency = options.latencyMs + (fault?.kind === 'latency' ? (fault.latencyMs ?? 0) : 0);
      if (latency > 0) await sleep(latency);
      if (fault?.kind === 'reset-before-commit') {
        request.socket.destroy();
        return;
      }
      const isRest = routed.version !== undefined;
      // `latest` resolves to the newest version; a version Salesforce does not serve is 404.
      if (routed.version === 'latest') (routed as { version?: string }).version = options.newestVersion;
      const knownVersion = routed.version === undefined || servedVersions(options.newestVersion).includes(routed.version);
      let answer: RouteAnswer;
      if (routed.route === 'token') {
        answer = handleToken(context, new URLSearchParams(bodyText), context.crm.clock.now().getTime());
      } else if (routed.route === 'versions') {
        answer = handleVersions(options.newestVersion);
      } else if (!knownVersion) {
        answer = sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
      } else if (isRest && !context.tokens.has(bearerOf(request) ?? '')) {
        answer = sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
      } else {
        if (isRest) context.apiCalls += 1;
        const early = fault ? faultAnswer(fault, context) : undefined;
        if (early) answer = early;
        else if (isRest && context.apiCalls > context.dailyApiLimit) answer = sfError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
        else {
          context.lockItem = fault?.kind === 'lock-row' ? fault : undefined;
          try {
            answer = fault?.kind === 'lock-row' && routed.route !== 'collections' ? sfError(400, 'UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access to this record') : await dispatch(context, routed, request, url, bodyText);
          } catch (error) {
            answer = error instanceof SalesforceFault ? sfError(error.status, error.errorCode, error.message, error.fields) : sfError(500, 'UNKNOWN_EXCEPTION', 'An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)');
          } finally {
            context.lockItem = undefined;
          }
        }
      }
      if (fault?.kind === 'reset-after-commit') {
        request.socket.destroy();
        return;
      }
      entry.status = answer.status;
      send(response, answer, context, isRest, fault?.kind === 'truncated-json');
    })().catch(() => {
      if (!response.headersSent) send(response, json(500, [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'emulator failure' }]), context, false, false);
    });
  });
}
