/**
 * The OAuth token endpoint: `POST /services/oauth2/token` (form-encoded) for the password,
 * client-credentials, JWT bearer and refresh-token grants, answering like Salesforce
 * (`access_token`, `instance_url` without a trailing slash, `id` identity URL, `issued_at` in
 * epoch milliseconds as a string) or `400 {error, error_description}`.
 *
 * JWT assertions are checked for shape and claims (`iss` = client id, `sub` = username, not
 * expired); the signature is not verified (the emulator holds no certificate).
 *
 * @module
 */
import { json, type EmulatorContext, type RouteAnswer } from './context.js';

const ORG_ID = '00DEMU000000001AAA';
const USER_ID = '005EMU000000001AAA';

function oauthError(error: string, description: string): RouteAnswer {
  return json(400, { error, error_description: description });
}

function matches(expected: string | undefined, actual: string | null): boolean {
  return expected === undefined || expected === actual;
}

function decodeJwtClaims(assertion: string): Record<string, unknown> | undefined {
  const parts = assertion.split('.');
  if (parts.length !== 3) return undefined;
  try {
    return JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Handles one token request. */
export function handleToken(context: EmulatorContext, form: URLSearchParams, nowMs: number): RouteAnswer {
  const credentials = context.credentials;
  const grant = form.get('grant_type');
  let refreshToken: string | undefined;
  switch (grant) {
    case 'password':
      if (!matches(credentials.clientId, form.get('client_id')) || !matches(credentials.clientSecret, form.get('client_secret'))) {
        return oauthError('invalid_client_id', 'client identifier invalid');
      }
      if (!matches(credentials.username, form.get('username')) || !matches(credentials.password, form.get('password'))) {
        return oauthError('invalid_grant', 'authentication failure');
      }
      if (credentials.rotateRefreshTokens) refreshToken = context.newToken();
      break;
    case 'client_credentials':
      if (!matches(credentials.clientId, form.get('client_id')) || !matches(credentials.clientSecret, form.get('client_secret'))) {
        return oauthError('invalid_client', 'invalid client credentials');
      }
      break;
    case 'urn:ietf:params:oauth:grant-type:jwt-bearer': {
      const claims = decodeJwtClaims(form.get('assertion') ?? '');
      if (!claims) return oauthError('invalid_grant', 'invalid assertion');
      if (!matches(credentials.clientId, String(claims.iss)) || !matches(credentials.username, String(claims.sub))) {
        return oauthError('invalid_grant', 'user hasn\'t approved this consumer');
      }
      if (typeof claims.exp !== 'number' || claims.exp * 1000 < nowMs) return oauthError('invalid_grant', 'expired authorization code');
      break;
    }
    case 'refresh_token': {
      const presented = form.get('refresh_token') ?? '';
      if (!context.refreshTokens.has(presented)) return oauthError('invalid_grant', 'expired access/refresh token');
      if (credentials.rotateRefreshTokens) {
        context.refreshTokens.delete(presented);
        refreshToken = context.newToken();
      }
      break;
    }
    default:
      return oauthError('unsupported_grant_type', 'grant type not supported');
  }
  const accessToken = context.newToken();
  context.tokens.add(accessToken);
  if (refreshToken) context.refreshTokens.add(refreshToken);
  return json(200, {
    access_token: accessToken,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    instance_url: context.instanceUrl,
    id: `${context.instanceUrl}/id/${ORG_ID}/${USER_ID}`,
    token_type: 'Bearer',
    issued_at: String(nowMs),
    signature: Buffer.from(`${ORG_ID}${nowMs}`).toString('base64'),
    scope: 'api',
  });
}
