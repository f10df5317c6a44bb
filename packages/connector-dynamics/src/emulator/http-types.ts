/**
 * The emulator's transport-neutral request and response, so that `$batch` can run inner requests
 * through the same routes as top-level ones.
 *
 * @module
 */
import type { InMemoryCrm } from '@crm-sync/connector-mock';

/** A request as the routes see it. */
export interface EmulatorRequest {
  readonly method: string;
  readonly url: URL;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A response as the routes produce it. */
export interface EmulatorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** What routes need from the running emulator. */
export interface EmulatorContext {
  readonly crm: InMemoryCrm;
  /** The organisation URL, `http://127.0.0.1:<port>`. */
  readonly orgUrl: string;
  /** `http://127.0.0.1:<port>/api/data/v9.2/`. */
  readonly apiBase: string;
  /** Auditing on for the organisation (`EntityDefinitions.IsAuditEnabled`). */
  readonly auditing: boolean;
  /** The application user may read audits; false answers 403 on `audits`. */
  readonly auditReadable: boolean;
  /** Days a change-tracking token stays valid. */
  readonly changeTrackingExpiryDays: number;
  /** The organisation's `auditretentionperiodv2`: days audit records are kept, `-1` for ever. */
  readonly auditRetentionDays: number;
  /** When auditing was turned on: no audit record is older. */
  readonly auditEnabledOn: string;
  /** Ids of records created and then rolled back (failed change set or bulk message): never reported as deleted. */
  readonly rolledBack: Set<string>;
  /**
   * Per issued delta token: ids of deletions stamped exactly at the token's instant, already
   * covered by it. A manual clock stands still, so "deleted at the token's instant" is ambiguous
   * without this; Dataverse uses row versions instead.
   */
  readonly deltaBoundaries: Map<string, ReadonlySet<string>>;
}

/** JSON headers Dataverse sends on every answer with a body. */
const JSON_HEADERS = { 'Content-Type': 'application/json; odata.metadata=minimal', 'OData-Version': '4.0' } as const;

/** A JSON answer. */
export function jsonResponse(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): EmulatorResponse {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** The Dataverse error answer, `{ error: { code, message } }`, exactly as Dataverse sends it. */
export function errorResponse(status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}): EmulatorResponse {
  return jsonResponse(status, { error: { code, message } }, headers);
}

/**
 * The answer for a documented Dataverse feature the emulator does not implement: HTTP 501 in the
 * Dataverse error shape, saying so, so that an offline test never passes by an option being
 * silently ignored.
 */
export function notImplemented(what: string): EmulatorResponse {
  return errorResponse(
    501,
    '0x80040216',
    `The Dataverse emulator does not implement ${what}. Dataverse does; test this against a real environment (see the fidelity table in the emulator README).`,
  );
}

/** Parses a query string without turning '+' into a space (OData literals keep their '+'). */
export function queryParameters(url: URL): Map<string, string> {
  const out = new Map<string, string>();
  const text = url.search.startsWith('?') ? url.search.slice(1) : url.search;
  if (text === '') return out;
  for (const pair of text.split('&')) {
    const equals = pair.indexOf('=');
    const name = equals < 0 ? pair : pair.slice(0, equals);
    const value = equals < 0 ? '' : pair.slice(equals + 1);
    try {
      out.set(decodeURIComponent(name), decodeURIComponent(value));
    } catch {
      out.set(name, value);
    }
  }
  return out;
}

/** Splits at commas outside double quotes. */
function splitOutsideQuotes(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out;
}

/**
 * Reads `Prefer` (comma lists and repeated headers alike) into a map of preference -> value.
 * Quoted values keep their commas: `odata.include-annotations="a,b"`.
 */
export function preferences(headers: Readonly<Record<string, string>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of splitOutsideQuotes(headers.prefer ?? '')) {
    const [name, ...rest] = item.trim().split('=');
    if (name) out.set(name.trim().toLowerCase(), rest.join('=').trim().replace(/^"|"$/g, ''));
  }
  return out;
}
