/**
 * `@crm-sync/connector-salesforce/emulator`: a Salesforce REST emulator on loopback, over an
 * `InMemoryCrm`, for offline tests of the connector and of any application.
 *
 * @packageDocumentation
 */
import type { AddressInfo } from 'node:net';
import { InMemoryCrm, ManualClock, DEFAULT_MANUAL_CLOCK_START, type CrmClock } from '@crm-sync/connector-mock';
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
  /**
   * The engine; default a new `InMemoryCrm` with {@link salesforceEmulatorSchemas} on the clock
   * chosen by {@link SalesforceEmulatorOptions.fixedClock} (the machine's clock by default). A given
   * engine keeps its own clock.
   */
  readonly crm?: InMemoryCrm;
  /**
   * A frozen server clock, for tests that need fixed change times: an ISO 8601 instant, or `true`
   * for `2024-01-01T00:00:00.000Z`. The clock then moves only through `emulator.crm.clock`
   * (a `ManualClock`: `set`, `advance`). Default: the machine's clock, so incremental imports see
   * records changed "now". Cannot be combined with `crm` (give that engine a `ManualClock` instead).
   */
  readonly fixedClock?: string | true;
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
  /**
   * Stops listening and drops open connections, like an outage: calls are refused
   * (`ECONNREFUSED`) until {@link SalesforceEmulator.start}. Records, issued tokens, faults and
   * counters are kept.
   */
  stop(): Promise<void>;
  /** Listens again after {@link SalesforceEmulator.stop}, on the same port, with the same data and tokens. */
  start(): Promise<void>;
  /** Whether the server is listening. */
  readonly running: boolean;
  /** Stops the server for good. */
  close(): Promise<void>;
}

/** The engine's clock from the options: the machine's by default, a manual one when asked. */
function emulatorClock(fixedClock: string | true | undefined): CrmClock {
  // Salesforce keeps date-times to the second (answers always say `.000+0000`).
  if (fixedClock === undefined) return { now: () => new Date(Math.floor(Date.now() / 1000) * 1000) };
  return new ManualClock(fixedClock === true ? DEFAULT_MANUAL_CLOCK_START : fixedClock);
}

/** Starts the emulator on 127.0.0.1. */
export async function startSalesforceEmulator(options: SalesforceEmulatorOptions = {}): Promise<SalesforceEmulator> {
  if (options.crm !== undefined && options.fixedClock !== undefined) {
    throw new TypeError('[crm-sync] [salesforce-emulator] fixedClock cannot be combined with crm: build that InMemoryCrm with { clock: new ManualClock(...) } instead');
  }
  const crm = options.crm ?? new InMemoryCrm({ schemas: salesforceEmulatorSchemas(), clock: emulatorClock(options.fixedClock) });
  const context = new EmulatorContext(crm, options.credentials ?? {}, options.dailyApiLimit ?? 15_000_000, '');
  context.replicationLagMs = options.replicationLagMs ?? 0;
  const faults = new FaultBook(options.seed ?? 1);
  if (options.faults) faults.add(...options.faults);
  const log: EmulatorLogEntry[] = [];
  const server = createEmulatorServer({ context, faults, latencyMs: options.latencyMs ?? 0, log, newestVersion: options.apiVersion ?? '62.0' });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const shut = async () => {
    if (!server.listening) return;
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    // Let clients in this process read the end of their pooled keep-alive sockets, so that the
    // next call dials anew and is refused, as after a real outage, instead of reusing a dead socket.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  await listen(options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
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
    stop: shut,
    async start() {
      if (server.listening) return;
      try {
        await listen(port);
      } catch (cause) {
        throw new Error(`[crm-sync] [salesforce-emulator] could not listen again on 127.0.0.1:${port} (${(cause as Error).message}); another process took the port while the emulator was stopped`, { cause });
      }
    },
    get running() {
      return server.listening;
    },
    close: shut,
  };
}
