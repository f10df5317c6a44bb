/**
 * Keeps secrets out of logs, errors, journals and URLs.
 *
 * Secrets are matched **by value**: every credential a connector receives is registered with
 * {@link registerSecret}, and {@link redact} replaces each occurrence anywhere in a string or an
 * object graph, whatever the key is called. Known secret-bearing keys and patterns (`Authorization`
 * headers, `access_token=`, `client_secret=`, `password`...) are masked as well, for secrets that were
 * never registered (e.g. a token the CRM just issued).
 *
 * @module
 */

/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

const registeredSecrets = new Set<string>();

/** Secrets shorter than this are not registered: masking them would garble ordinary text. */
const MIN_SECRET_LENGTH = 6;

/**
 * Registers a secret value so that every later {@link redact} masks it. Call it for every
 * credential (access token, refresh token, client secret, password, security token, private key),
 * as soon as it is known. Returns the value unchanged.
 */
export function registerSecret<T extends string | undefined>(value: T): T {
  if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) {
    registeredSecrets.add(value);
    // Secrets also travel URL-encoded (form bodies, query strings) and base64-encoded (Basic auth).
    const encoded = encodeURIComponent(value);
    if (encoded !== value) registeredSecrets.add(encoded);
  }
  return value;
}

/** Forgets every registered secret. For tests. */
export function clearRegisteredSecrets(): void {
  registeredSecrets.clear();
}

const SECRET_KEY = /(pass(word)?|secret|token|authorization|api[-_]?key|private[-_]?key|assertion|cookie|session[-_]?id|signature)/i;

const SECRET_PATTERNS: readonly RegExp[] = [
  /(\bBearer\s+)[A-Za-z0-9._~+/=!-]+/gi,
  /(\bBasic\s+)[A-Za-z0-9+/=]+/gi,
  /((?:access_token|refresh_token|client_secret|password|client_assertion|assertion|security_token|sessionId|code)=)[^&\s"']+/gi,
  /("(?:access_token|refresh_token|client_secret|password|security_token|sessionId|accessToken|refreshToken|clientSecret|privateKey)"\s*:\s*")[^"]*/gi,
  /(-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----)/g,
];

/** Masks registered secrets and known secret patterns in a string. */
export function redactText(text: string, extraSecrets: readonly string[] = []): string {
  let result = text;
  for (const secret of [...registeredSecrets, ...extraSecrets]) {
    if (secret.length >= MIN_SECRET_LENGTH && result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  for (const pattern of SECRET_PATTERNS) {
    result = result.replace(pattern, (_match, head: string, tail?: string) =>
      typeof tail === 'string' && tail.startsWith('-----END') ? `${head}${REDACTED}${tail}` : `${head}${REDACTED}`,
    );
  }
  return result;
}

/**
 * Returns a deep copy of `value` with every secret masked: registered secret values anywhere,
 * values under secret-looking keys, and secret patterns inside strings. Errors become plain
 * objects (`name`, `message`, `stack`, own enumerable properties, `cause`). Cycles are cut.
 */
export function redact<T>(value: T, extraSecrets: readonly string[] = []): T {
  return redactValue(value, extraSecrets, new WeakSet(), 0) as T;
}

function redactValue(value: unknown, extra: readonly string[], seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'string') return redactText(value, extra);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value) || depth > 12) return '[Circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, extra, seen, depth + 1));
  if (value instanceof Date) return value;
  if (value instanceof URL) return redactText(value.toString(), extra);
  const out: Record<string, unknown> = {};
  if (value instanceof Error) {
    out.name = value.name;
    out.message = redactText(value.message, extra);
    if (value.stack) out.stack = redactText(value.stack, extra);
  }
  for (const [key, item] of Object.entries(value)) {
    if (SECRET_KEY.test(key) && (typeof item === 'string' || typeof item === 'number')) {
      out[key] = REDACTED;
    } else {
      out[key] = redactValue(item, extra, seen, depth + 1);
    }
  }
  if (value instanceof Error && value.cause !== undefined) out.cause = redactValue(value.cause, extra, seen, depth + 1);
  return out;
}
