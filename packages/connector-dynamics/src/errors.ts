/**
 * Dataverse errors -> crm-sync errors, in one place.
 *
 * Dataverse answers failures with an HTTP status and a body `{ error: { code, message } }` whose
 * `code` is a hex HRESULT unrelated to the status. Both are read: the code decides where it is
 * specific (service protection, SQL deadlock), the status otherwise.
 *
 * @module
 */
import { crmError, networkFailure, redactText, type CrmError, type Reject, type RejectCode } from '@crm-sync/sdk';

/** The connector id used in every message. */
export const CONNECTOR_ID = 'dynamics';

/** Dataverse error codes the connector recognises. */
export const DATAVERSE_CODES = {
  /** ObjectDoesNotExist: the record is missing (404). */
  objectDoesNotExist: '0x80040217',
  /** DuplicateRecord: a record with matching key values already exists. */
  duplicateRecord: '0x80040237',
  /** DuplicateRecordEntityKey: an alternate key would be repeated. */
  duplicateRecordEntityKey: '0x80060892',
  /** DuplicateRecordsFound: duplicate detection matched (when enabled). */
  duplicateRecordsFound: '0x80040333',
  /** ConcurrencyVersionMismatch: `If-Match` row version differs (412). */
  concurrencyVersionMismatch: '0x80060882',
  /** PrivilegeDenied: the user lacks a privilege (403). */
  privilegeDenied: '0x80040220',
  /** PrincipalPrivilegeDenied (403). */
  principalPrivilegeDenied: '0x80040231',
  /** CrmCheckPrivilege failed, e.g. on bulk messages. */
  checkPrivilegeFailed: '0x80040299',
  /** OData query or property error (e.g. unknown property). */
  invalidQuery: '0x80060888',
  /**
   * Payload error: the body could not be read ("Error identified in Payload provided by the user
   * ..."), e.g. a property the table does not have, or a value of the wrong type.
   */
  payloadError: '0x80048d19',
  /** A required attribute is missing. */
  requiredFieldMissing: '0x80040200',
  /** Validation: a text is longer than the column allows. */
  validationLength: '0x80044331',
  /** Plug-in or business-rule error. */
  pluginBusinessError: '0x80040265',
  /** Generic SQL error (deadlock): retry, smaller batches. */
  sqlDeadlock: '0x80044150',
  /** SQL time-out: retry, smaller batches. */
  sqlTimeout: '0x80044151',
  /** Service protection: number of requests. */
  requestsLimit: '0x80072322',
  /** Service protection: combined execution time. */
  executionTimeLimit: '0x80072321',
  /** Service protection: concurrent requests. */
  concurrencyLimit: '0x80072326',
  /**
   * Not documented by Microsoft (the docs only say "throws an exception"): the code the
   * emulator uses for an expired change-tracking token; the connector also matches the message.
   */
  changeTrackingTokenExpired: '0x80044352',
} as const;

const SERVICE_PROTECTION_CODES: ReadonlySet<string> = new Set([
  DATAVERSE_CODES.requestsLimit,
  DATAVERSE_CODES.executionTimeLimit,
  DATAVERSE_CODES.concurrencyLimit,
]);

/** The `error` object of a Dataverse error body. */
interface DataverseErrorBody {
  readonly code: string;
  readonly message: string;
}

/** Reads `{ error: { code, message } }` from a body; tolerates HTML pages and empty bodies. */
function readDataverseError(body: unknown): DataverseErrorBody | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  const message = (error as { message?: unknown }).message;
  return { code: typeof code === 'string' ? code : '', message: typeof message === 'string' ? message : '' };
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfterMs(value: string | null | undefined, nowMs = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** What the connector was doing, for messages. */
export interface ErrorContext {
  /** e.g. `GET contacts` (never a full URL with literals or tokens). */
  readonly operation: string;
  /** HTTP method; a non-GET that may have reached the server is in doubt on network failures. */
  readonly method?: string;
}

/** Dataverse's wordings for a property (column) the table does not have. */
const UNKNOWN_PROPERTY = /Invalid property '[^']+' was found in entity|Could not find a property named '[^']+'|undeclared property '[^']+'/i;

/** Maps a non-success HTTP answer from the Web API to a {@link CrmError}. */
export function mapHttpError(
  status: number,
  headers: { get(name: string): string | null },
  body: unknown,
  context: ErrorContext,
): CrmError {
  const vendor = readDataverseError(body);
  const code = vendor?.code ?? '';
  const details = {
    httpStatus: status,
    ...(code !== '' ? { vendorCode: code } : {}),
    ...(vendor?.message ? { vendorMessage: vendor.message } : {}),
  };
  const where = `${context.operation} answered HTTP ${status}${code ? ` (${code})` : ''}`;
  const said = vendor?.message ? `: ${vendor.message}` : '';
  if (status === 429 || SERVICE_PROTECTION_CODES.has(code)) {
    const retryAfterMs = parseRetryAfterMs(headers.get('retry-after')) ?? 5_000;
    return crmError('rate-limited', CONNECTOR_ID, `${where}: Dataverse service protection limit reached${said}; wait ${retryAfterMs} ms before retrying (the runtime does this for you)`, { ...details, retryAfterMs });
  }
  if (code === DATAVERSE_CODES.sqlDeadlock || code === DATAVERSE_CODES.sqlTimeout) {
    return crmError('transient', CONNECTOR_ID, `${where}: SQL deadlock or time-out in Dataverse${said}; retry with smaller batches`, details);
  }
  if (code === DATAVERSE_CODES.changeTrackingTokenExpired || /change ?tracking.*(expired|too old)|token.*expired.*track/i.test(vendor?.message ?? '')) {
    return crmError('retention-exceeded', CONNECTOR_ID, `${where}: the change-tracking token is older than the organisation keeps deleted-record changes${said}; run a full re-sync`, details);
  }
  switch (status) {
    case 401:
      return crmError('auth', CONNECTOR_ID, `${where}: the access token was refused${said}; check the application user of client id in Dataverse and its secret or certificate`, details);
    case 403:
      return crmError('permission', CONNECTOR_ID, `${where}: the application user lacks a privilege${said}; grant it a security role with the needed privileges`, details);
    case 404:
      return crmError('not-found', CONNECTOR_ID, `${where}: not found${said}`, details);
    case 412:
      return crmError('conflict', CONNECTOR_ID, `${where}: precondition failed${said}`, details);
    case 413:
      return crmError('invalid-request', CONNECTOR_ID, `${where}: request too large${said}; lower batchSize in the Dynamics configuration`, details);
    case 408:
      return crmError('transient', CONNECTOR_ID, `${where}: request time-out${said}`, { ...details, inDoubt: context.method !== undefined && context.method !== 'GET' });
    default:
      break;
  }
  if (status >= 500) {
    return crmError('transient', CONNECTOR_ID, `${where}: Dataverse is unavailable or failed${said}; retry later`, details);
  }
  if (status >= 400) {
    // A property the table does not have (a column removed or renamed): a cached description is stale.
    const unknownField = UNKNOWN_PROPERTY.test(vendor?.message ?? '');
    return crmError('invalid-request', CONNECTOR_ID, `${where}: the request was refused${said}`, { ...details, ...(unknownField ? { unknownField } : {}) });
  }
  return crmError('unknown', CONNECTOR_ID, `${where}: unexpected answer${said}`, details);
}

/**
 * Maps a failure to reach the server or to read its answer (reset, refused, truncated). A
 * connect-phase failure (refused, DNS, unreachable, connect time-out, TLS handshake: undici wraps
 * it as `fetch failed` with the socket error on a nested `cause`) sent nothing, so it is a plain
 * retryable error; anything later on a write is in doubt.
 */
export function mapNetworkError(cause: unknown, context: ErrorContext, phase: 'connect' | 'read'): CrmError {
  const text = cause instanceof Error ? `${cause.message}${cause.cause instanceof Error ? ` (${cause.cause.message})` : ''}` : String(cause);
  const socket = networkFailure(cause);
  const refused = phase === 'connect' && socket?.phase === 'connect';
  const aborted = cause instanceof Error && cause.name === 'AbortError';
  // A request that never connected cannot have been committed; anything else that was not a
  // GET may have been, and the orchestrator must settle it through the journal.
  const inDoubt = !refused && context.method !== undefined && context.method !== 'GET';
  const what = aborted ? 'aborted' : refused ? `could not reach Dataverse (${socket.code}), nothing was sent; check the environment URL and the network` : phase === 'connect' ? 'network failure' : 'the answer was cut off';
  return crmError('transient', CONNECTOR_ID, `${context.operation}: ${what}: ${redactText(text)}`, {
    inDoubt,
    cause,
    retryable: !aborted,
    ...(socket !== undefined ? { vendorCode: socket.code } : {}),
  });
}

/** Maps a Dataverse error code inside a batch answer to a canonical reject code. */
export function rejectCodeFor(status: number, code: string): RejectCode {
  switch (code) {
    case DATAVERSE_CODES.duplicateRecord:
    case DATAVERSE_CODES.duplicateRecordEntityKey:
    case DATAVERSE_CODES.duplicateRecordsFound:
      return 'duplicate';
    case DATAVERSE_CODES.objectDoesNotExist:
      return 'not-found';
    case DATAVERSE_CODES.requiredFieldMissing:
      return 'required-field-missing';
    case DATAVERSE_CODES.validationLength:
      return 'invalid-value';
    case DATAVERSE_CODES.invalidQuery:
      return 'invalid-field';
    case DATAVERSE_CODES.pluginBusinessError:
      return 'validation';
    case DATAVERSE_CODES.concurrencyVersionMismatch:
      return 'conflict';
    case DATAVERSE_CODES.privilegeDenied:
    case DATAVERSE_CODES.principalPrivilegeDenied:
    case DATAVERSE_CODES.checkPrivilegeFailed:
      return 'permission';
    case DATAVERSE_CODES.sqlDeadlock:
    case DATAVERSE_CODES.sqlTimeout:
      return 'locked';
    default:
      break;
  }
  if (status === 404) return 'not-found';
  if (status === 403) return 'permission';
  if (status === 412) return 'conflict';
  if (status === 400) return 'invalid-value';
  return 'unknown';
}

/** Builds a reject from one failed part of a `$batch` answer. */
export function rejectFromPart(status: number, body: unknown): Reject {
  const vendor = readDataverseError(body);
  // An unknown property is an unknown field, whatever the code: Microsoft's client-error list shows
  // 0x0 ("Invalid property 'x' was found in entity", "Could not find a property named 'x'"), live
  // services have been quoted with 0x80060888, and navigation properties come as 0x80048d19.
  const unknownProperty = vendor !== undefined && UNKNOWN_PROPERTY.test(vendor.message);
  const code = unknownProperty ? 'invalid-field' : rejectCodeFor(status, vendor?.code ?? '');
  const fields = vendor ? fieldsNamedIn(vendor.message) : [];
  return {
    code,
    ...(vendor?.code ? { symbol: vendor.code } : {}),
    message: redactText(vendor?.message || `HTTP ${status}`),
    ...(fields.length > 0 ? { fields } : {}),
    retryable: code === 'locked' || status === 429 || status >= 500,
  };
}

/** Dataverse names attributes in single quotes ("The length of the 'subject' attribute ..."). */
function fieldsNamedIn(message: string): string[] {
  const names = new Set<string>();
  for (const match of message.matchAll(/'([a-z_][a-z0-9_]*)' (?:attribute|field|column)|(?:attribute|property named|property|column) '([a-z_][a-z0-9_]*)'/gi)) {
    const name = match[1] ?? match[2];
    if (name !== undefined) names.add(name);
  }
  return [...names];
}
