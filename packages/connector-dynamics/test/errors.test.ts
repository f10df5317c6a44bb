import { describe, expect, it } from 'vitest';
import { DATAVERSE_CODES, mapHttpError, mapNetworkError, parseRetryAfterMs, rejectCodeFor, rejectFromPart } from '../src/errors.js';

const headers = (values: Record<string, string> = {}) => ({ get: (name: string) => values[name.toLowerCase()] ?? null });
const body = (code: string, message = 'message') => ({ error: { code, message } });
const context = { operation: 'GET contacts', method: 'GET' };

describe('Dataverse error mapping', () => {
  it('maps a connect-phase failure (undici wraps it in fetch failed, nested) to a plain retryable error on a write, never in doubt', () => {
    const post = { operation: 'POST $batch', method: 'POST' };
    const fetchFailed = (inner: Error) => Object.assign(new TypeError('fetch failed'), { cause: inner });
    const connectPhase = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', syscall: 'connect' }),
      Object.assign(new Error('getaddrinfo EAI_AGAIN org.crm.dynamics.com'), { code: 'EAI_AGAIN', syscall: 'getaddrinfo' }),
      Object.assign(new Error('connect EHOSTUNREACH 10.0.0.1:443'), { code: 'EHOSTUNREACH', syscall: 'connect' }),
      Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
      Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }),
      new AggregateError([Object.assign(new Error('connect ENETUNREACH'), { code: 'ENETUNREACH', syscall: 'connect' })]),
    ];
    for (const inner of connectPhase) {
      const error = mapNetworkError(fetchFailed(Object.assign(new Error('wrapper'), { cause: inner })), post, 'connect');
      expect([error.kind, error.inDoubt, error.retryable], inner.message).toEqual(['transient', false, true]);
      expect(error.message).toContain('nothing was sent');
    }
    const afterSend = [
      Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }),
    ];
    for (const inner of afterSend) {
      expect(mapNetworkError(fetchFailed(inner), post, 'connect').inDoubt, inner.message).toBe(true);
    }
  });


  it('maps an unknown body property to invalid-field with that field, under each code Dataverse uses for it', () => {
    // Troubleshoot Dataverse Web API client errors, "Invalid property {property name} was found in entity": code 0x0.
    const invalid =
      "An error occurred while validating input parameters: Microsoft.Crm.CrmException: Invalid property 'nosuch' was found in entity 'Microsoft.Dynamics.CRM.contact'. ---> Microsoft.OData.ODataException: Does not support untyped value in non-open type.";
    expect(rejectFromPart(400, body('0x0', invalid))).toMatchObject({ code: 'invalid-field', fields: ['nosuch'] });
    // Same article, "Error identified in Payload ...": an undeclared navigation property, code 0x80048d19.
    const undeclared = "Error identified in Payload provided by the user for Entity :'contacts'  ---->  InnerException : Microsoft.OData.ODataException: An undeclared property 'parentcustomerid' which only has property annotations in the payload but no property value was found in the payload.";
    expect(rejectFromPart(400, body(DATAVERSE_CODES.payloadError, undeclared))).toMatchObject({ code: 'invalid-field', fields: ['parentcustomerid'], symbol: '0x80048d19' });
    // Same article, "Could not find a property named ...": code 0x0 in the article, 0x80060888 quoted from live services.
    expect(rejectFromPart(400, body('0x0', "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.contact'."))).toMatchObject({ code: 'invalid-field', fields: ['nosuch'] });
    expect(rejectFromPart(400, body(DATAVERSE_CODES.payloadError, "Cannot convert the literal 'x' to the expected type 'Edm.Int32'."))).toMatchObject({ code: 'invalid-value' });
  });

  it.each([DATAVERSE_CODES.requestsLimit, DATAVERSE_CODES.executionTimeLimit, DATAVERSE_CODES.concurrencyLimit])(
    'maps service-protection code %s to rate-limited with retryAfterMs from Retry-After',
    (code) => {
      const error = mapHttpError(429, headers({ 'retry-after': '7' }), body(code, 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.'), context);
      expect(error).toMatchObject({ kind: 'rate-limited', retryable: true, retryAfterMs: 7000, vendorCode: code, httpStatus: 429 });
      expect(error.message).toMatch(/^\[crm-sync\] \[dynamics\] GET contacts answered HTTP 429/);
    },
  );

  it('maps a bare 429 and an HTTP-date Retry-After', () => {
    expect(mapHttpError(429, headers(), undefined, context)).toMatchObject({ kind: 'rate-limited', retryAfterMs: 5000 });
    expect(parseRetryAfterMs(new Date(Date.UTC(2024, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2024, 0, 1))).toBe(30_000);
  });

  it.each([
    [401, '', 'auth', false],
    [403, DATAVERSE_CODES.privilegeDenied, 'permission', false],
    [404, DATAVERSE_CODES.objectDoesNotExist, 'not-found', false],
    [412, DATAVERSE_CODES.concurrencyVersionMismatch, 'conflict', false],
    [413, '', 'invalid-request', false],
    [400, DATAVERSE_CODES.invalidQuery, 'invalid-request', false],
    [500, DATAVERSE_CODES.sqlDeadlock, 'transient', true],
    [500, DATAVERSE_CODES.sqlTimeout, 'transient', true],
    [503, '', 'transient', true],
    [400, DATAVERSE_CODES.changeTrackingTokenExpired, 'retention-exceeded', false],
  ] as const)('maps HTTP %i with code "%s" to %s', (status, code, kind, retryable) => {
    expect(mapHttpError(status, headers(), code ? body(code) : '<html>oops</html>', context)).toMatchObject({ kind, retryable });
  });

  it.each([
    [412, DATAVERSE_CODES.duplicateRecord, 'duplicate'],
    [400, DATAVERSE_CODES.duplicateRecordEntityKey, 'duplicate'],
    [400, DATAVERSE_CODES.requiredFieldMissing, 'required-field-missing'],
    [400, DATAVERSE_CODES.validationLength, 'invalid-value'],
    [400, DATAVERSE_CODES.invalidQuery, 'invalid-field'],
    [400, DATAVERSE_CODES.pluginBusinessError, 'validation'],
    [404, DATAVERSE_CODES.objectDoesNotExist, 'not-found'],
    [403, DATAVERSE_CODES.privilegeDenied, 'permission'],
    [500, DATAVERSE_CODES.sqlDeadlock, 'locked'],
  ] as const)('maps a record-level %i %s inside a batch to reject %s', (status, code, expected) => {
    expect(rejectCodeFor(status, code)).toBe(expected);
  });

  it('keeps the Dataverse code as the reject symbol and names the attribute', () => {
    const reject = rejectFromPart(400, body(DATAVERSE_CODES.validationLength, "A validation error occurred. The length of the 'lastname' attribute of the 'contact' entity exceeded the maximum allowed length of '50'."));
    expect(reject).toMatchObject({ code: 'invalid-value', symbol: '0x80044331', fields: ['lastname'], retryable: false });
  });
});
