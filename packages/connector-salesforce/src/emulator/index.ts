/**
 * `@crm-sync/connector-salesforce/emulator`: a Salesforce REST emulator on loopback, over an
 * `InMemoryCrm`, for offline tests of the connector and of any application.
 *
 * @packageDocumentation
 */
import type { AddressInfo } from 'node:net';
import { InMemoryCrm } from '@crm-sync/connector-mock';
import { EmulatorContext, type EmulatorCredentials } from './context.js';
import { FaultBook, type EmulatorFault } from './faults.js';
import { salesforceEmulatorSchemas } from './schemas.js';
import { createEmulatorServer, type EmulatorLogEntry } from './server.js';

export { salesforceEmulatorSchemas } from './schemas.js';
export { FaultBook, type EmulatorFault, type EmulatorFaultKind, type EmulatorRoute, type FaultProbe } from './faults.js';
export type { EmulatorCredentials } from './context.js';
export type { EmulatorLogEntry } from './server.js';

/** Options of {@link startSalesforceEmulator}. */
export interface SalesforceEmulatorOptions {
  /** The engine; default a new `InMemoryCrm` with {@link salesforceEmulatorSchemas}. */
  readonly crm?: InMemoryCrm;
  /** Port on 127.0.0.1; default 0 (any free port). */
  readonly port?: number;
  /** Added to every answer. Default 0. */
  readonly latencyMs?: number;
  /** Faults armed from the start. */
  readonly faults?: readonly EmulatorFault[];
  /** Seed of the fault generator. Default 1. */
  readonly seed?: number;
  /**
   * The newest version served and listed by `/services/data/` (with its release label); versions
   * 31.0 up to it are served, any other `/services/data/vNN.N/...` path answers 404 `NOT_FOUND`,
   * and `/services/data/latest/...` resolves to it. Default `62.0`.
   */
  readonly apiVersion?: string;
  /** What the token endpoint accepts; unset members accept anything. */
  readonly credentials?: EmulatorCredentials;
  /** Daily API request allocation reported in `Sforce-Limit-Info`; above it, 403 `REQUEST_LIMIT_EXCEEDED`. Default 15,000,000. */
  readonly dailyApiLimit?: number;
  /**
   * How far behind the clock the replication feeds run, in ms: `latestDateCovered` is the last
   * whole minute at least this old, and later deletions are not listed yet. Default 0 (the current
   * minute is still never covered, as on Salesforce).
   */
  readonly replicationLagMs?: number;
}

/** A running emulator. */
export interface SalesforceEmulator {
  /** `http://127.0.0.1:PORT`: use as `loginUrl` and `instanceUrl`. */
  readonly url: string;
  /** The OAuth token endpoint. */
  readonly tokenUrl: string;
  /** Same as `url` (what `instance_url` answers). */
  readonly instanceUrl: string;
  /** Every request, in arrival order. */
  readonly requestLog: readonly EmulatorLogEntry[];
  /** REST calls counted against the daily allocation. */
  readonly apiCalls: number;
  /** The engine behind the emulator. */
  readonly crm: InMemoryCrm;
  /** Scripted faults: `faults.add({ kind: 'rate-limit', route: 'query', retryAfter: '2' })`. */
  readonly faults: FaultBook;
  /** A valid access token (issued without the token endpoint), for `access-token` auth. */
  issueAccessToken(): string;
  /** Makes every issued access token invalid (the next call gets 401 `INVALID_SESSION_ID`). */
  expireSessions(): void;
  /** Clears the request log and the API call counter. */
  resetCounters(): void;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Starts the emulator on 127.0.0.1. */
export async function startSalesforceEmulator(options: SalesforceEmulatorOptions = {}): Promise<SalesforceEmulator> {
  const crm = options.crm ?? new InMemoryCrm({ schemas: salesforceEmulatorSchemas() });
  const context = new EmulatorContext(crm, options.credentials ?? {}, options.dailyApiLimit ?? 15_000_000, '');
  context.replicationLagMs = options.replicationLagMs ?? 0;
  const faults = new FaultBook(options.seed ?? 1);
  if (options.faults) faults.add(...options.faults);
  const log: EmulatorLogEntry[] = [];
  const server = createEmulatorServer({ context, faults, latencyMs: options.latencyMs ?? 0, log, newestVersion: options.apiVersion ?? '62.0' });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  context.instanceUrl = url;
  return {
    url,
    tokenUrl: `${url}/services/oauth2/token`,
    instanceUrl: url,
    requestLog: log,
    get apiCalls() {
      return context.apiCalls;
    },
    crm,
    faults,
    issueAccessToken() {
      const token = context.newToken();
      context.tokens.add(token);
      return token;
    },
    expireSessions() {
      context.tokens.clear();
    },
    resetCounters() {
      log.length = 0;
      context.apiCalls = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
