/**
 * Access tokens: obtained from the OAuth token endpoint (password, client credentials, JWT bearer)
 * or given (access token), refreshed single-flight (concurrent 401s cause one token request) and
 * capped (a token endpoint that keeps issuing rejected tokens cannot loop the connector).
 *
 * Token requests go through the same {@link CapturingTransport} as every other call, so proxies and
 * retries behave the same. Every token received is registered as a secret before anything else.
 *
 * @module
 */
import { createHash, createSign } from 'node:crypto';
import { errAsync, ResultAsync } from 'neverthrow';
import { crmError, registerSecret, type CrmError } from '@crm-sync/sdk';
import type { ResolvedSalesforceConfig } from './config.js';
import { CONNECTOR_ID, mapSalesforceError } from './errors.js';
import type { CapturedAnswer, CapturingTransport } from './transport.js';

/** A usable session: where to send requests and with which bearer token. */
interface SalesforceSession {
  readonly accessToken: string;
  readonly instanceUrl: string;
}

/** At most this many token requests per {@link REFRESH_WINDOW_MS}. */
export const MAX_REFRESHES_PER_WINDOW = 3;
const REFRESH_WINDOW_MS = 60_000;
const JWT_LIFETIME_SECONDS = 180;

function base64Url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

/**
 * Signs a JWT bearer assertion (RS256) with node's crypto; no installed library signs JWTs and the
 * format is three base64url parts, so it is written here.
 */
function signJwtAssertion(clientId: string, username: string, audience: string, privateKey: string, nowMs: number): string {
  const header = base64Url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = base64Url(JSON.stringify({ iss: clientId, sub: username, aud: audience, exp: Math.floor(nowMs / 1000) + JWT_LIFETIME_SECONDS }));
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${claims}`);
  return `${header}.${claims}.${base64Url(signer.sign(privateKey))}`;
}

/**
 * Sessions signed in by this process, by credentials: a connector built for each run (a
 * scheduler, the CLI in watch mode) reuses the session of the previous one until Salesforce
 * refuses it (a 401 replaces it for every connector), instead of signing in once per run. Keyed by
 * a hash of the login URL and credentials, so secrets are never kept in a key.
 */
const processSessions = new Map<string, SalesforceSession>();

function sessionKeyOf(config: ResolvedSalesforceConfig): string {
  return createHash('sha256').update(JSON.stringify([config.loginUrl, config.auth])).digest('hex');
}

/** Owns the current session and its refresh. */
export class SalesforceTokenManager {
  private session: SalesforceSession | undefined;
  private inflight: Promise<SalesforceSession> | undefined;
  private readonly refreshTimes: number[] = [];
  /** How many token requests were sent (for tests and the report). */
  tokenRequests = 0;
  private readonly sessionKey: string;

  constructor(
    private readonly config: ResolvedSalesforceConfig,
    private readonly transport: CapturingTransport,
  ) {
    this.sessionKey = sessionKeyOf(config);
    if (config.auth.kind === 'access-token' && config.instanceUrl) {
      this.session = { accessToken: config.auth.accessToken, instanceUrl: config.instanceUrl };
    }
  }

  /** True when a rejected token can be replaced by asking the token endpoint again. */
  get canRefresh(): boolean {
    return this.config.auth.kind !== 'access-token';
  }

  /** The current session, signing in first when there is none (or reusing this process's session for the same credentials). */
  current(): ResultAsync<SalesforceSession, CrmError> {
    if (!this.session && this.canRefresh) this.session = processSessions.get(this.sessionKey);
    if (this.session) return ResultAsync.fromSafePromise(Promise.resolve(this.session));
    return this.refresh(undefined);
  }

  /**
   * Replaces the session whose token was `rejectedToken`. Concurrent callers that saw the same
   * rejected token share one token request; a caller whose token was already replaced gets the
   * new session without a request.
   */
  refresh(rejectedToken: string | undefined): ResultAsync<SalesforceSession, CrmError> {
    if (rejectedToken !== undefined && processSessions.get(this.sessionKey)?.accessToken === rejectedToken) processSessions.delete(this.sessionKey);
    const shared = processSessions.get(this.sessionKey);
    if (shared && rejectedToken !== undefined && shared.accessToken !== rejectedToken) this.session = shared;
    if (this.session && rejectedToken !== undefined && this.session.accessToken !== rejectedToken) {
      return ResultAsync.fromSafePromise(Promise.resolve(this.session));
    }
    if (!this.canRefresh && this.session) {
      return errAsync(crmError('auth', CONNECTOR_ID, 'the access token was refused and cannot be refreshed; issue a new token or configure an OAuth flow (password, client-credentials, jwt)'));
    }
    if (!this.inflight) {
      const now = Date.now();
      while (this.refreshTimes.length > 0 && now - this.refreshTimes[0]! > REFRESH_WINDOW_MS) this.refreshTimes.shift();
      if (this.refreshTimes.length >= MAX_REFRESHES_PER_WINDOW) {
        return errAsync(crmError('auth', CONNECTOR_ID, `the session was refreshed ${MAX_REFRESHES_PER_WINDOW} times within a minute and is still refused; check the connected app and the user's permissions`));
      }
      this.refreshTimes.push(now);
      this.inflight = this.requestToken().finally(() => {
        this.inflight = undefined;
      });
    }
    return ResultAsync.fromPromise(this.inflight, (error) => error as CrmError);
  }

  private formFields(): Record<string, string> {
    const auth = this.config.auth;
    switch (auth.kind) {
      case 'password':
        return {
          grant_type: 'password',
          username: auth.username,
          password: auth.password + (auth.securityToken ?? ''),
          ...(auth.clientId ? { client_id: auth.clientId } : {}),
          ...(auth.clientSecret ? { client_secret: auth.clientSecret } : {}),
        };
      case 'client-credentials':
        return { grant_type: 'client_credentials', client_id: auth.clientId, client_secret: auth.clientSecret };
      case 'jwt':
        return {
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion: signJwtAssertion(auth.clientId, auth.username, auth.audience ?? this.config.loginUrl, auth.privateKey, Date.now()),
        };
      case 'access-token':
        throw new Error('unreachable: access tokens are never requested');
    }
  }

  private async requestToken(): Promise<SalesforceSession> {
    const path = '/services/oauth2/token';
    const capture: CapturedAnswer = {};
    this.tokenRequests += 1;
    let fields: Record<string, string>;
    try {
      fields = this.formFields();
    } catch (error) {
      throw crmError('auth', CONNECTOR_ID, `could not build the token request (${error instanceof Error ? error.message : 'unknown'}); check auth.privateKey is a PEM RSA key`, { cause: error });
    }
    if (fields.assertion) registerSecret(fields.assertion);
    try {
      await this.transport.httpRequest(
        {
          method: 'POST',
          url: this.config.loginUrl + path,
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
          body: new URLSearchParams(fields).toString(),
        },
        { capture, transport: this.transport } as never,
      );
    } catch (error) {
      throw mapSalesforceError(error, { method: 'POST', path });
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(capture.body ?? '') as Record<string, unknown>;
    } catch {
      body = {};
    }
    if (typeof body.access_token === 'string') registerSecret(body.access_token);
    if (typeof body.refresh_token === 'string') registerSecret(body.refresh_token);
    if (capture.status !== 200 || typeof body.access_token !== 'string' || typeof body.instance_url !== 'string') {
      if (capture.status !== undefined && capture.status >= 500) {
        throw mapSalesforceError(new Error(`token endpoint answered HTTP ${capture.status}`), { method: 'POST', path, status: capture.status, headers: capture.headers ?? {} });
      }
      const reason = typeof body.error === 'string' ? `${body.error}: ${String(body.error_description ?? '')}` : `HTTP ${capture.status}`;
      throw crmError('auth', CONNECTOR_ID, `sign-in failed at ${this.config.loginUrl}${path} (${reason}); check the ${this.config.auth.kind} credentials and the connected app`, {
        httpStatus: capture.status,
        vendorCode: typeof body.error === 'string' ? body.error : undefined,
      });
    }
    this.session = { accessToken: body.access_token, instanceUrl: body.instance_url.replace(/\/+$/, '') };
    processSessions.set(this.sessionKey, this.session);
    return this.session;
  }
}
