import { describe, expect, it } from 'vitest';
import { DATAVERSE_CODES, mapHttpError, parseRetryAfterMs, rejectCodeFor, rejectFromPart } from '../src/errors.js';

const headers = (values: Record<string, string> = {}) => ({ get: (name: string) => values[name.toLowerCase()] ?? null });
const body = (code: string, message = 'message') => ({ error: { code, message } });
const context = { operation: 'GET contacts', method: 'GET' };

describe('Dataverse error mapping', () => {
  it('maps a payload error naming an unknown property (0x80048d19) to invalid-field with that field', () => {
    // Dataverse's answer to a body property the table lacks (Microsoft Web API client errors: 0x80048d19).
    const message =
      "Error identified in Payload provided by the user for Entity :'contacts', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ---->  InnerException : Microsoft.OData.ODataException: The property 'nosuch' does not exist on type 'Microsoft.Dynamics.CRM.contact'. Make sure to only use property names that are defined by the type or mark the type as open type.";
    expect(rejectFromPart(400, body(DATAVERSE_CODES.payloadError, message))).toMatchObject({ code: 'invalid-field', fields: ['nosuch'], symbol: '0x80048d19' });
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
