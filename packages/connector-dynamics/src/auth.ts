/**
 * Access tokens for Dataverse through `@azure/msal-node` client credentials.
 *
 * msal keeps its own token cache, shared by the connectors of one process with the same app
 * registration (see `sharedApplication`); on top of it this provider refreshes a configurable margin
 * before expiry and makes concurrent callers share one token request (single flight), so a burst
 * of parallel calls at expiry costs one token request, not one each.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { ConfidentialClientApplication, LogLevel, type Configuration } from '@azure/msal-node';
import { crmError, registerSecret, type CrmError } from '@crm-sync/sdk';
import type { ResolvedDynamicsConfig } from './config.js';
import { CONNECTOR_ID } from './errors.js';

/** A token and when it expires (epoch ms). */
interface DataverseToken {
  readonly accessToken: string;
  readonly expiresAtMs: number;
}

/** Thrown inside the HTTP layer only; turned into a `CrmError` at the connector boundary. */
export class TokenAcquisitionError extends Error {
  override readonly name = 'TokenAcquisitionError';
  constructor(readonly error: CrmError) {
    super(error.message);
  }
}

/**
 * msal applications shared by every connector of this process with the same app registration,
 * authority and network client, so msal's in-memory token cache serves them all: a process that
 * builds a connector per run (a scheduler, the CLI in watch mode) asks Entra ID for one token per
 * token lifetime, not one per run. Keyed by a hash of the settings (secrets never kept in a key);
 * a custom network client (tests, proxies) gets applications of its own.
 */
const processApplications = new Map<string, ConfidentialClientApplication>();
const applicationsByNetworkClient = new WeakMap<object, Map<string, ConfidentialClientApplication>>();

function sharedApplication(config: ResolvedDynamicsConfig, create: () => ConfidentialClientApplication): ConfidentialClientApplication {
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        config.authority,
        config.clientId,
        config.clientSecret ?? null,
        config.certificate?.thumbprintSha256 ?? null,
        config.certificate?.privateKey ?? null,
        config.certificate?.x5c ?? null,
        config.knownAuthorities ?? null,
        config.authorityMetadata ?? null,
        config.cloudDiscoveryMetadata ?? null,
      ]),
    )
    .digest('hex');
  let apps = processApplications;
  if (config.networkClient !== undefined) {
    apps = applicationsByNetworkClient.get(config.networkClient) ?? new Map<string, ConfidentialClientApplication>();
    applicationsByNetworkClient.set(config.networkClient, apps);
  }
  let app = apps.get(key);
  if (app === undefined) {
    app = create();
    apps.set(key, app);
  }
  return app;
}

/** Supplies access tokens for one organisation. */
export class DataverseTokenProvider {
  private readonly app: ConfidentialClientApplication;
  private current: DataverseToken | undefined;
  private inFlight: Promise<DataverseToken> | undefined;
  /** Token requests actually sent to msal (after the single-flight and margin checks). */
  requests = 0;

  constructor(private readonly config: ResolvedDynamicsConfig) {
    const msalConfig: Configuration = {
      auth: {
        clientId: config.clientId,
        authority: config.authority,
        ...(config.clientSecret !== undefined ? { clientSecret: config.clientSecret } : {}),
        ...(config.certificate !== undefined ? { clientCertificate: { ...config.certificate } } : {}),
        ...(config.knownAuthorities !== undefined ? { knownAuthorities: [...config.knownAuthorities] } : {}),
        ...(config.authorityMetadata !== undefined ? { authorityMetadata: config.authorityMetadata } : {}),
        ...(config.cloudDiscoveryMetadata !== undefined ? { cloudDiscoveryMetadata: config.cloudDiscoveryMetadata } : {}),
      },
      system: {
        ...(config.networkClient !== undefined ? { networkClient: config.networkClient } : {}),
        // msal's own logging may print request details; keep it to errors and drop PII.
        loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => {} },
      },
    };
    this.app = sharedApplication(config, () => new ConfidentialClientApplication(msalConfig));
  }

  /** A token valid for at least the refresh margin. Rejects with {@link TokenAcquisitionError}. */
  getToken(): Promise<DataverseToken> {
    const now = this.config.now();
    if (this.current !== undefined && this.current.expiresAtMs - this.config.tokenRefreshMarginMs > now) {
      return Promise.resolve(this.current);
    }
    // A stale token sits in msal's cache too (msal renews only 5 minutes before expiry): skip it.
    return this.singleFlight(this.current !== undefined);
  }

  /**
   * A new token after the Web API refused `rejected` (401). Callers that were refused with the same
   * token share one token request; a caller refused with an older token gets the newer one.
   */
  refreshAfterRejection(rejected: string): Promise<DataverseToken> {
    if (this.current !== undefined && this.current.accessToken !== rejected) return Promise.resolve(this.current);
    this.current = undefined;
    return this.singleFlight(true);
  }

  private singleFlight(skipCache: boolean): Promise<DataverseToken> {
    if (this.inFlight !== undefined) return this.inFlight;
    this.inFlight = this.acquire(skipCache).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async acquire(skipCache: boolean): Promise<DataverseToken> {
    this.requests += 1;
    try {
      const result = await this.app.acquireTokenByClientCredential({ scopes: [this.config.scope], skipCache });
      if (result === null || !result.accessToken) {
        throw new TokenAcquisitionError(crmError('auth', CONNECTOR_ID, 'Entra ID returned no access token for the client-credentials request'));
      }
      registerSecret(result.accessToken);
      const expiresAtMs = result.expiresOn instanceof Date ? result.expiresOn.getTime() : this.config.now() + 3_600_000;
      // msal's shared cache may hand back a token already inside this provider's refresh margin.
      if (!skipCache && expiresAtMs - this.config.tokenRefreshMarginMs <= this.config.now()) return await this.acquire(true);
      this.current = { accessToken: result.accessToken, expiresAtMs };
      return this.current;
    } catch (cause) {
      if (cause instanceof TokenAcquisitionError) throw cause;
      throw new TokenAcquisitionError(mapMsalError(cause));
    }
  }
}

/** Maps an msal failure: refused credentials are `auth`, outages and throttling `transient`. */
function mapMsalError(cause: unknown): CrmError {
  const code = String((cause as { errorCode?: unknown })?.errorCode ?? '');
  const status = Number((cause as { status?: unknown })?.status ?? 0);
  const text = cause instanceof Error ? cause.message : String(cause);
  if (code === 'authority_uri_insecure') {
    // The configuration check refuses an http authority first; this covers one msal finds later.
    return crmError('invalid-request', CONNECTOR_ID, 'the authority is not https, and msal accepts https authorities only; this is not a credentials problem: see the authority and authorityMetadata settings', {
      cause,
      vendorCode: code,
    });
  }
  if (status === 429 || status >= 500 || /network|endpoints_resolution|ECONNREFUSED|fetch failed/i.test(`${code} ${text}`)) {
    return crmError('transient', CONNECTOR_ID, `could not get an access token from Entra ID (${code || status || 'network'}); retry later`, {
      cause,
      ...(status ? { httpStatus: status } : {}),
      ...(code ? { vendorCode: code } : {}),
    });
  }
  return crmError(
    'auth',
    CONNECTOR_ID,
    `Entra ID refused the client credentials (${code || 'error'}): check tenantId, clientId and the client secret or certificate of the app registration`,
    { cause, vendorMessage: text, ...(status ? { httpStatus: status } : {}), ...(code ? { vendorCode: code } : {}) },
  );
}
