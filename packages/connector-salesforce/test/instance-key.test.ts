// The connector names the org it talks to (`instanceKey`), so that the orchestrator's describe
// cache keeps one org's descriptions apart from another's in a store they share.
import { describe, expect, it } from 'vitest';
import { SalesforceConnector } from '../src/index.js';

describe('SalesforceConnector.instanceKey', () => {
  it('is the instance URL when one is given, whatever the sign-in', () => {
    const token = new SalesforceConnector({ instanceUrl: 'https://acme.my.salesforce.com', auth: { kind: 'access-token', accessToken: 'secret-token' } });
    expect(token.instanceKey).toBe('https://acme.my.salesforce.com');
    const credentials = new SalesforceConnector({ instanceUrl: 'https://acme.my.salesforce.com', auth: { kind: 'client-credentials', clientId: 'app', clientSecret: 'secret-value' } });
    expect(credentials.instanceKey).toBe(token.instanceKey);
  });

  it('without one, is the login URL and the user, so two orgs found by logging in stay apart; no password or key is in it', () => {
    const first = new SalesforceConnector({ auth: { kind: 'password', username: 'ops@acme.test', password: 'pw-secret', securityToken: 'tok-secret' } });
    const second = new SalesforceConnector({ auth: { kind: 'password', username: 'ops@other.test', password: 'pw-secret' } });
    const sandbox = new SalesforceConnector({ loginUrl: 'https://test.salesforce.com', auth: { kind: 'jwt', clientId: 'app', username: 'ops@acme.test', privateKey: '-----BEGIN PRIVATE KEY-----\nkey-secret\n-----END PRIVATE KEY-----' } });
    expect(first.instanceKey).toContain('ops@acme.test');
    expect(new Set([first.instanceKey, second.instanceKey, sandbox.instanceKey]).size).toBe(3);
    for (const connector of [first, second, sandbox]) expect(connector.instanceKey).not.toMatch(/secret/);
  });
});
