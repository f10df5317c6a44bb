/**
 * An Entra ID-style client-credentials token endpoint (`POST /{tenant}/oauth2/v2.0/token`), with
 * Entra's error bodies. Accepts a client secret, or a client assertion (certificate) whose
 * signature is checked when the emulator knows the certificate.
 *
 * @module
 */
import { createPublicKey, createVerify, randomBytes, type KeyObject } from 'node:crypto';
import { jsonResponse, type EmulatorResponse } from './http-types.js';

/** The app registration the emulator accepts. */
export interface EmulatorCredentials {
  /** The directory (tenant) id in the token URL. */
  readonly tenantId: string;
  /** The application (client) id. */
  readonly clientId: string;
  /** Accepted client secret. */
  readonly clientSecret?: string;
  /** PEM certificate or public key whose private key signs client assertions. */
  readonly certificate?: string;
}

/** Default credentials, for tests and demos. The secret is not a real one. */
export const EMULATOR_CREDENTIALS: EmulatorCredentials = {
  tenantId: '00000000-0000-0000-0000-0000000000aa',
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: 'emulator-client-secret-value',
};

function entraError(status: number, error: string, code: number, description: string): EmulatorResponse {
  return jsonResponse(status, {
    error,
    error_description: `AADSTS${code}: ${description}`,
    error_codes: [code],
    timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z',
    trace_id: '00000000-0000-0000-0000-000000000000',
    correlation_id: '00000000-0000-0000-0000-000000000000',
  });
}

/** Issues and checks access tokens. */
export class TokenIssuer {
  readonly #tokens = new Map<string, number>();
  readonly #key: KeyObject | undefined;
  /** Tokens issued so far. */
  issued = 0;

  constructor(
    private readonly credentials: EmulatorCredentials,
    /** The organisation URL; read per request because the port is only known after listening. */
    private readonly orgUrl: () => string,
    private readonly lifetimeSeconds: number,
  ) {
    this.#key = credentials.certificate ? createPublicKey(credentials.certificate) : undefined;
  }

  /** Answers a token request (form-encoded body). */
  issue(tenant: string, form: URLSearchParams): EmulatorResponse {
    if (tenant !== this.credentials.tenantId) return entraError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    if (form.get('grant_type') !== 'client_credentials') return entraError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (form.get('client_id') !== this.credentials.clientId) return entraError(400, 'unauthorized_client', 700016, 'Application was not found in the directory.');
    const scope = form.get('scope') ?? '';
    if (scope !== `${this.orgUrl()}/.default`) {
      return entraError(400, 'invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. Expected ${this.orgUrl()}/.default.`);
    }
    if (!this.#authenticates(form)) return entraError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    const token = `emu.${randomBytes(24).toString('base64url')}`;
    this.#tokens.set(token, Date.now() + this.lifetimeSeconds * 1000);
    this.issued += 1;
    return jsonResponse(200, { token_type: 'Bearer', expires_in: this.lifetimeSeconds, ext_expires_in: this.lifetimeSeconds, access_token: token });
  }

  /** True when `token` was issued here and has not expired or been revoked. */
  valid(token: string): boolean {
    const expires = this.#tokens.get(token);
    return expires !== undefined && expires > Date.now();
  }

  /** Revokes every token (a `token-expired` fault). */
  expireAll(): void {
    this.#tokens.clear();
  }

  #authenticates(form: URLSearchParams): boolean {
    const secret = form.get('client_secret');
    if (secret !== null) return this.credentials.clientSecret !== undefined && secret === this.credentials.clientSecret;
    const assertion = form.get('client_assertion');
    if (assertion === null || form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return false;
    const [header, payload, signature] = assertion.split('.');
    if (header === undefined || payload === undefined || signature === undefined) return false;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: string; sub?: string; exp?: number };
      if (claims.iss !== this.credentials.clientId || claims.sub !== this.credentials.clientId) return false;
      if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return false;
      if (this.#key === undefined) return false;
      const verify = createVerify('RSA-SHA256');
      verify.update(`${header}.${payload}`);
      return verify.verify({ key: this.#key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }, Buffer.from(signature, 'base64url')) || verifyPkcs1(this.#key, `${header}.${payload}`, signature);
    } catch {
      return false;
    }
  }
}

function verifyPkcs1(key: KeyObject, data: string, signature: string): boolean {
  const verify = createVerify('RSA-SHA256');
  verify.update(data);
  return verify.verify(key, Buffer.from(signature, 'base64url'));
}
