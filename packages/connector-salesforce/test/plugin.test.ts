import { createSyncContainer, TOKENS, type CrmConnector } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { SalesforceConnector, createSalesforceConnector, salesforceConnector } from '../src/index.js';

describe('salesforceConnector plugin', () => {
  it('registers a lazily built SalesforceConnector under TOKENS.Connector', () => {
    const plugin = salesforceConnector({ instanceUrl: 'http://127.0.0.1:1', auth: { kind: 'access-token', accessToken: 'plugin-test-token' } });
    expect(plugin.id).toBe('salesforce');
    const container = createSyncContainer([plugin]);
    const connector = container.resolve<CrmConnector>(TOKENS.Connector);
    expect(connector).toBeInstanceOf(SalesforceConnector);
    expect(connector.capabilities.deletedRetentionDays).toBe(15);
  });

  it('createSalesforceConnector returns an error, not a throw, for a bad configuration', () => {
    const result = createSalesforceConnector({ loginUrl: 'not a url', auth: { kind: 'password', username: 'u', password: 'p' } });
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'invalid-request' });
    expect(result._unsafeUnwrapErr().message).toMatch(/^\[crm-sync\] \[salesforce\] invalid configuration: loginUrl is not a URL/);
  });
});
