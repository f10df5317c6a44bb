import { describe, expect, it } from 'vitest';
import { isSalesforceId, SalesforceConnector, salesforceIdChecksum, toCanonicalSalesforceId } from '../src/index.js';

describe('Salesforce ids', () => {
  it.each([
    ['a0RE000000IJmcN', 'MAT'],
    ['001M000000qfPyS', 'IAU'],
    ['AbCdEfGhIjKlMnO', 'VKV'],
  ])('computes the published checksum of %s', (id15, suffix) => {
    expect(salesforceIdChecksum(id15)).toBe(suffix);
  });

  it('turns a 15-character id into its 18-character form', () => {
    expect(toCanonicalSalesforceId('001M000000qfPyS')._unsafeUnwrap()).toBe('001M000000qfPySIAU');
  });

  it('accepts an 18-character id whose letter case was lost, restoring the case', () => {
    expect(toCanonicalSalesforceId('001m000000qfpysiau')._unsafeUnwrap()).toBe('001M000000qfPySIAU');
  });

  it('refuses an 18-character id whose checksum marks a digit as upper case', () => {
    // 'B' sets bit 0 of the first chunk: position 0 is the digit '0', which has no case.
    expect(toCanonicalSalesforceId('001M000000qfPySBAU').isErr()).toBe(true);
  });

  it.each(["001M000000qfPyS'", '001M000000qfPy', '001M000000qfPySIAUX', '', "' OR Id != '"])('refuses %j', (id) => {
    expect(isSalesforceId(id)).toBe(false);
  });

  it('normalizeId: 15 characters and 18 in any case are one record; another 15-character body case is another; non-ids unchanged', async () => {
    const connector = new SalesforceConnector({ instanceUrl: 'https://example.my.salesforce.com', auth: { kind: 'access-token', accessToken: 'token-value-123' } });
    const canonical = '001M000000qfPySIAU';
    for (const spelling of ['001M000000qfPyS', canonical, '001M000000QFPYSIAU', '001m000000qfpysiau', '001M000000qfPySiau']) {
      expect(connector.normalizeId('Contact', spelling)).toBe(canonical);
    }
    expect(connector.normalizeId('Contact', '001M000000QFPYS')).not.toBe(canonical);
    expect(connector.normalizeId('Contact', '001M000000QFPYS')).toBe(`001M000000QFPYS${salesforceIdChecksum('001M000000QFPYS')}`);
    expect(connector.normalizeId('Contact', "x' OR 1=1")).toBe("x' OR 1=1");
    await connector.close();
  });
});
