/**
 * `@crm-sync/connector-dynamics/emulator`: a Dataverse Web API v9.2 and Entra ID token endpoint on
 * 127.0.0.1 over an `InMemoryCrm`, for offline tests of the connector and of applications.
 *
 * @packageDocumentation
 */
import { DEFAULT_MANUAL_CLOCK_START, InMemoryCrm, ManualClock, SystemClock } from '@crm-sync/connector-mock';
import type { Instant } from '@crm-sync/sdk';
import type { DynamicsConfig } from '../config.js';
import { DataverseFaults, type DataverseFault } from './faults.js';
import type { EmulatorContext } from './http-types.js';
import { loopbackNetworkClient, type LoopbackNetworkClient } from './loopback-network.js';
import { dataverseSchemas } from './schemas.js';
import { startServer, type EmulatorApiCalls, type EmulatorLogEntry } from './server.js';
import { EMULATOR_CREDENTIALS, TokenIssuer, type EmulatorCredentials } from './token-endpoint.js';

export { dataverseSchemas, type DataverseTableFacts } from './schemas.js';
export { DataverseFaults, type DataverseFault, type DataverseFaultKind } from './faults.js';
export { EMULATOR_CREDENTIALS, type EmulatorCredentials } from './token-endpoint.js';
export { loopbackNetworkClient, type LoopbackNetworkClient } from './loopback-network.js';
export type { EmulatorApiCalls, EmulatorLogEntry } from './server.js';
export type { DynamicsConfig, DynamicsCertificate, DeletedRecordSource, DeltaLinkStore } from '../config.js';

/** How to start the emulator. */
export interface DataverseEmulatorOptions {
  /**
   * The engine; default a new `InMemoryCrm` with {@link dataverseSchemas} and 30 days of deleted
   * records, on the clock chosen by {@link DataverseEmulatorOptions.fixedClock} (the machine's clock
   * by default). A given engine keeps its own clock.
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
  /** Delay before every answer. */
  readonly latencyMs?: number;
  /** Faults scripted from the start (more can be injected through `faults`). */
  readonly faults?: readonly DataverseFault[];
  /** The app registration accepted by the token endpoint; default {@link EMULATOR_CREDENTIALS}. */
  readonly credentials?: EmulatorCredentials;
  /** `expires_in` of issued tokens; default 3599. */
  readonly tokenLifetimeSeconds?: number;
  /** Organisation auditing; default on. Off makes `EntityDefinitions.IsAuditEnabled` false. */
  readonly auditing?: boolean;
  /** Whether the application user may read audits; default true (false answers 403). */
  readonly auditReadable?: boolean;
  /** Days a change-tracking delta token stays valid; default 7 (the current Dataverse default). */
  readonly changeTrackingExpiryDays?: number;
  /**
   * The organisation's audit retention, `organizations.auditretentionperiodv2`: days audit records
   * are kept (`-1`: for ever). Older audit records are not served. Default: the engine's
   * `deletedRetentionDays`.
   */
  readonly auditRetentionDays?: number;
  /**
   * When auditing was turned on for the organisation: no audit record is older. Default
   * `2000-01-01T00:00:00.000Z` (audited for long; only the retention bounds the history).
   */
  readonly auditEnabledOn?: Instant;
}

/** A connector configuration pointing at the emulator. */
export interface EmulatorConnectorConfig extends DynamicsConfig {
  /** The loopback-only msal network client; its `refused` list shows any attempt to leave the machine. */
  readonly networkClient: LoopbackNetworkClient;
}

/** A running emulator. */
export interface DataverseEmulator {
  /** The organisation URL (`http://127.0.0.1:<port>`), the connector's `orgUrl`. */
  readonly url: string;
  /** The Web API base, `<url>/api/data/v9.2/`. */
  readonly apiBase: string;
  /** The token endpoint on loopback. */
  readonly tokenUrl: string;
  /** An https authority msal accepts; it is never resolved because of {@link authorityMetadata}. */
  readonly authority: string;
  /** Hosts to pass as `knownAuthorities`, so msal skips instance discovery. */
  readonly knownAuthorities: readonly string[];
  /** OpenID configuration JSON whose `token_endpoint` is {@link tokenUrl}. */
  readonly authorityMetadata: string;
  /** The app registration the token endpoint accepts (pass these to the connector). */
  readonly credentials: EmulatorCredentials;
  /** Every request: method, path, status (never headers, bodies or tokens). */
  readonly requestLog: EmulatorLogEntry[];
  /** API-call counters (a `$batch` counts once). */
  readonly apiCalls: EmulatorApiCalls;
  /** The engine behind the Web API: seed, inspect and move its clock here. */
  readonly crm: InMemoryCrm;
  /** The fault script: `faults.inject({ kind: 'rate-limit', ... })`. */
  readonly faults: DataverseFaults;
  /** A connector configuration for this emulator, with a loopback-only msal network client. */
  connectorConfig(overrides?: Partial<DynamicsConfig>): EmulatorConnectorConfig;
  /** Zeroes the counters and clears the request log. */
  resetCounters(): void;
  /**
   * Stops listening and drops open connections, like an outage: calls are refused
   * (`ECONNREFUSED`) until {@link DataverseEmulator.start}. Records, issued tokens, delta tokens,
   * faults and counters are kept.
   */
  stop(): Promise<void>;
  /** Listens again after {@link DataverseEmulator.stop}, on the same port, with the same data and tokens. */
  start(): Promise<void>;
  /** Whether the server is listening. */
  readonly running: boolean;
  /** Stops the server for good and drops open connections. */
  close(): Promise<void>;
}

const AUTHORITY_HOST = 'login.emulator.test';

/** Starts a Dataverse emulator on 127.0.0.1. */
export async function startDataverseEmulator(options: DataverseEmulatorOptions = {}): Promise<DataverseEmulator> {
  if (options.crm !== undefined && options.fixedClock !== undefined) {
    throw new TypeError('[crm-sync] [dataverse-emulator] fixedClock cannot be combined with crm: build that InMemoryCrm with { clock: new ManualClock(...) } instead');
  }
  const clock = options.fixedClock === undefined ? new SystemClock() : new ManualClock(options.fixedClock === true ? DEFAULT_MANUAL_CLOCK_START : options.fixedClock);
  const crm = options.crm ?? new InMemoryCrm({ schemas: dataverseSchemas(), deletedRetentionDays: 30, clock });
  const credentials = options.credentials ?? EMULATOR_CREDENTIALS;
  const faults = new DataverseFaults();
  if (options.faults) faults.inject(...options.faults);
  const requestLog: EmulatorLogEntry[] = [];
  const apiCalls: EmulatorApiCalls = { webApi: 0, token: 0, batches: 0, batchOperations: 0, byMethod: {} };
  // The org URL is only known once the port is, so the context reads it lazily.
  const state = { orgUrl: '' };
  const context: EmulatorContext = {
    crm,
    get orgUrl() {
      return state.orgUrl;
    },
    get apiBase() {
      return `${state.orgUrl}/api/data/v9.2/`;
    },
    auditing: options.auditing ?? true,
    auditReadable: options.auditReadable ?? true,
    changeTrackingExpiryDays: options.changeTrackingExpiryDays ?? 7,
    auditRetentionDays: options.auditRetentionDays ?? crm.deletedRetentionDays,
    auditEnabledOn: options.auditEnabledOn ?? '2000-01-01T00:00:00.000Z',
    rolledBack: new Set(),
    deltaBoundaries: new Map(),
  };
  const tokens = new TokenIssuer(credentials, () => state.orgUrl, options.tokenLifetimeSeconds ?? 3599);
  const { server, port, sockets } = await startServer(
    { context, tokens, tenantId: credentials.tenantId, faults, latencyMs: options.latencyMs ?? 0, log: requestLog, calls: apiCalls },
    options.port ?? 0,
  );
  state.orgUrl = `http://127.0.0.1:${port}`;
  const shut = async () => {
    if (!server.listening) return;
    await new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
    // Let clients in this process read the end of their pooled keep-alive sockets, so that the
    // next call dials anew and is refused, as after a real outage, instead of reusing a dead socket.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const tenantBase = `http://127.0.0.1:${port}/${credentials.tenantId}`;
  const authority = `https://${AUTHORITY_HOST}/${credentials.tenantId}`;
  const authorityMetadata = JSON.stringify({
    issuer: `${authority}/v2.0`,
    token_endpoint: `${tenantBase}/oauth2/v2.0/token`,
    authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
    jwks_uri: `${authority}/discovery/v2.0/keys`,
  });
  return {
    url: state.orgUrl,
    apiBase: context.apiBase,
    tokenUrl: `${tenantBase}/oauth2/v2.0/token`,
    authority,
    knownAuthorities: [AUTHORITY_HOST],
    authorityMetadata,
    credentials,
    requestLog,
    apiCalls,
    crm,
    faults,
    connectorConfig(overrides = {}) {
      return {
        orgUrl: state.orgUrl,
        tenantId: credentials.tenantId,
        clientId: credentials.clientId,
        ...(credentials.clientSecret !== undefined ? { clientSecret: credentials.clientSecret } : {}),
        authority,
        knownAuthorities: [AUTHORITY_HOST],
        authorityMetadata,
        networkClient: loopbackNetworkClient(),
        ...overrides,
      } as EmulatorConnectorConfig;
    },
    resetCounters() {
      requestLog.length = 0;
      apiCalls.webApi = 0;
      apiCalls.token = 0;
      apiCalls.batches = 0;
      apiCalls.batchOperations = 0;
      apiCalls.byMethod = {};
    },
    stop: shut,
    async start() {
      if (server.listening) return;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      }).catch((cause: unknown) => {
        throw new Error(`[crm-sync] [dataverse-emulator] could not listen again on 127.0.0.1:${port} (${(cause as Error).message}); another process took the port while the emulator was stopped`, { cause });
      });
    },
    get running() {
      return server.listening;
    },
    close: shut,
  };
}
