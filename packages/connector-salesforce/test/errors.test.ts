import type { CrmErrorKind, RejectCode } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { mapSalesforceError, parseRetryAfter, rejectFromBulkError, rejectFromSalesforceErrors } from '../src/index.js';

/** A jsforce-like error for an `[{errorCode, message}]` body. */
function apiError(errorCode: string, message: string): Error & { errorCode: string } {
  return Object.assign(new Error(message), { name: errorCode, errorCode });
}

// errorCode, HTTP status, message, expected kind, retryable, quotaExhausted
const CALL_TABLE: [string, number, string, CrmErrorKind, boolean, boolean | undefined][] = [
  ['INVALID_SESSION_ID', 401, 'Session expired or invalid', 'auth', false, undefined],
  ['REQUEST_LIMIT_EXCEEDED', 403, 'TotalRequests Limit exceeded.', 'rate-limited', false, true],
  ['REQUEST_LIMIT_EXCEEDED', 403, 'ConcurrentPerOrgLongTxn Limit exceeded.', 'rate-limited', true, false],
  ['REQUEST_LIMIT_EXCEEDED', 429, 'Too many requests', 'rate-limited', true, false],
  ['UNABLE_TO_LOCK_ROW', 400, 'unable to obtain exclusive access to this record', 'transient', true, undefined],
  ['QUERY_TIMEOUT', 400, 'Your query request was running too long', 'transient', true, undefined],
  ['SERVER_UNAVAILABLE', 503, 'server too busy', 'transient', true, undefined],
  ['UNKNOWN_EXCEPTION', 500, 'Unknown Exception occurred', 'transient', true, undefined],
  ['INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE', 503, 'maintenance', 'transient', true, undefined],
  ['INVALID_REPLICATION_DATE', 400, 'startDate cannot be more than 15 days ago', 'retention-exceeded', false, undefined],
  ['INVALID_TYPE', 400, "sObject type 'Foo' is not supported.", 'not-found', false, undefined],
  ['NOT_FOUND', 404, 'The requested resource does not exist', 'not-found', false, undefined],
  ['INSUFFICIENT_ACCESS_OR_READONLY', 403, 'insufficient access rights on object id', 'permission', false, undefined],
  ['API_DISABLED_FOR_ORG', 403, 'API is not enabled for this Organization or Partner', 'permission', false, undefined],
  ['DUPLICATE_VALUE', 400, 'duplicate value found', 'conflict', false, undefined],
  ['MULTIPLE_CHOICES', 300, 'Multiple records found', 'conflict', false, undefined],
  ['MALFORMED_QUERY', 400, "unexpected token: 'FRM'", 'invalid-request', false, undefined],
  ['INVALID_FIELD', 400, "No such column 'Foo' on entity 'Account'", 'invalid-request', false, undefined],
  ['INVALID_QUERY_FILTER_OPERATOR', 400, 'invalid operator', 'invalid-request', false, undefined],
  ['MALFORMED_ID', 400, 'malformed id 001RM', 'invalid-request', false, undefined],
  ['EXCEEDED_ID_LIMIT', 400, 'record limit reached. cannot submit more than 200 records into this call', 'invalid-request', false, undefined],
  ['JSON_PARSER_ERROR', 400, 'Unexpected character', 'invalid-request', false, undefined],
  ['INVALID_QUERY_LOCATOR', 400, 'invalid query locator', 'invalid-request', false, undefined],
  ['ERROR_HTTP_503', 503, '<html>Down for Maintenance</html>', 'transient', true, undefined],
];

describe('mapSalesforceError: call-level errors', () => {
  it.each(CALL_TABLE)('maps %s (HTTP %i, %s) to kind %s', (code, status, message, kind, retryable, quotaExhausted) => {
    const error = mapSalesforceError(apiError(code, message), { method: 'GET', path: '/services/data/v62.0/query', status, headers: {} });
    expect(error.kind).toBe(kind);
    expect(error.retryable).toBe(retryable);
    expect(error.vendorCode).toBe(code);
    expect(error.httpStatus).toBe(status);
    expect(error.message.startsWith('[crm-sync] [salesforce] ')).toBe(true);
    if (quotaExhausted !== undefined) expect((error as { quotaExhausted?: boolean }).quotaExhausted).toBe(quotaExhausted);
  });

  it('keeps Retry-After given in seconds', () => {
    const error = mapSalesforceError(apiError('SERVER_UNAVAILABLE', 'busy'), { method: 'GET', path: '/x', status: 503, headers: { 'retry-after': '7' } });
    expect(error.retryAfterMs).toBe(7000);
  });

  it('reads Retry-After given as an HTTP-date', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(30_000);
  });

  it('marks a write whose connection was reset as in doubt, and a read as not', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const write = mapSalesforceError(reset, { method: 'POST', path: '/services/data/v62.0/composite/sobjects' });
    const read = mapSalesforceError(reset, { method: 'GET', path: '/services/data/v62.0/query' });
    expect([write.kind, write.inDoubt, write.retryable]).toEqual(['transient', true, true]);
    expect([read.kind, read.inDoubt]).toEqual(['transient', false]);
  });

  it('never marks a connect-phase failure as in doubt, however deeply the HTTP client wrapped it', () => {
    const wrapped = (inner: Error) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect failed'), { cause: inner }) });
    const cases = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', syscall: 'connect' }),
      Object.assign(new Error('getaddrinfo ENOTFOUND example.invalid'), { code: 'ENOTFOUND', syscall: 'getaddrinfo' }),
      Object.assign(new Error('getaddrinfo EAI_AGAIN example.invalid'), { code: 'EAI_AGAIN', syscall: 'getaddrinfo' }),
      Object.assign(new Error('connect EHOSTUNREACH 10.0.0.1:443'), { code: 'EHOSTUNREACH', syscall: 'connect' }),
      Object.assign(new Error('connect ENETUNREACH 10.0.0.1:443'), { code: 'ENETUNREACH', syscall: 'connect' }),
      Object.assign(new Error('connect ETIMEDOUT 10.0.0.1:443'), { code: 'ETIMEDOUT', syscall: 'connect' }),
      Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
      Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), { code: 'ECONNRESET' }),
      new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:443'), { code: 'ECONNREFUSED', syscall: 'connect' })], 'all addresses refused'),
    ];
    for (const cause of cases) {
      for (const thrown of [cause, wrapped(cause)]) {
        const error = mapSalesforceError(thrown, { method: 'POST', path: '/services/data/v62.0/composite/sobjects' });
        expect([error.kind, error.inDoubt ?? false, error.retryable], cause.message).toEqual(['transient', false, true]);
        expect(error.message).toContain('nothing was sent');
      }
    }
  });

  it('keeps a write in doubt when the connection failed after it was sent (reset, hang-up, read time-out, undici socket)', () => {
    const cases = [
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      Object.assign(new Error('read ETIMEDOUT'), { code: 'ETIMEDOUT', syscall: 'read' }),
      Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }),
    ];
    for (const thrown of cases) {
      const error = mapSalesforceError(thrown, { method: 'PATCH', path: '/services/data/v62.0/composite/sobjects' });
      expect([error.kind, error.inDoubt, error.retryable], thrown.message).toEqual(['transient', true, true]);
    }
  });

  it('falls back on the HTTP status when there is no Salesforce code', () => {
    expect(mapSalesforceError(new Error('x'), { method: 'GET', path: '/x', status: 401 }).kind).toBe('auth');
    expect(mapSalesforceError(new Error('x'), { method: 'GET', path: '/x', status: 429 }).kind).toBe('rate-limited');
    expect(mapSalesforceError(new Error('x'), { method: 'GET', path: '/x', status: 502 }).kind).toBe('transient');
  });
});

// statusCode, reject code, retryable
const ITEM_TABLE: [string, RejectCode, boolean][] = [
  ['FIELD_CUSTOM_VALIDATION_EXCEPTION', 'validation', false],
  ['FIELD_INTEGRITY_EXCEPTION', 'validation', false],
  ['CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY', 'validation', false],
  ['REQUIRED_FIELD_MISSING', 'required-field-missing', false],
  ['DUPLICATE_VALUE', 'duplicate', false],
  ['DUPLICATES_DETECTED', 'duplicate', false],
  ['DUPLICATE_EXTERNAL_ID', 'duplicate', false],
  ['INVALID_FIELD', 'invalid-field', false],
  ['INVALID_FIELD_FOR_INSERT_UPDATE', 'invalid-field', false],
  ['STRING_TOO_LONG', 'invalid-value', false],
  ['INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', 'invalid-value', false],
  ['INVALID_TYPE_ON_FIELD_IN_RECORD', 'invalid-value', false],
  ['INVALID_CROSS_REFERENCE_KEY', 'invalid-value', false],
  ['MALFORMED_ID', 'invalid-value', false],
  ['NUMBER_OUTSIDE_VALID_RANGE', 'invalid-value', false],
  ['INVALID_EMAIL_ADDRESS', 'invalid-value', false],
  ['NOT_FOUND', 'not-found', false],
  ['INVALID_ID_FIELD', 'not-found', false],
  ['ENTITY_IS_DELETED', 'deleted-in-crm', false],
  ['INSUFFICIENT_ACCESS_OR_READONLY', 'permission', false],
  ['INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY', 'permission', false],
  ['ENTITY_IS_LOCKED', 'locked', false],
  ['UNABLE_TO_LOCK_ROW', 'locked', true],
  ['ALL_OR_NONE_OPERATION_ROLLED_BACK', 'conflict', true],
  ['SOMETHING_NEW', 'unknown', false],
];

describe('rejectFromSalesforceErrors: per-record statusCode', () => {
  it.each(ITEM_TABLE)('maps %s to reject %s', (statusCode, code, retryable) => {
    const reject = rejectFromSalesforceErrors([{ statusCode, message: `msg for ${statusCode}`, fields: ['Name'] }]);
    expect(reject).toEqual({ code, symbol: statusCode, message: `msg for ${statusCode}`, fields: ['Name'], retryable });
  });

  it('parses a Bulk API 2.0 sf__Error cell', () => {
    expect(rejectFromBulkError('REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --')).toEqual({
      code: 'required-field-missing',
      symbol: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [LastName]',
      fields: ['LastName'],
      retryable: false,
    });
  });
});
