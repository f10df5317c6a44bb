// The connector names the environment it talks to (`instanceKey`), so that the orchestrator's
// describe cache keeps one environment's descriptions apart from another's in a store they share.
import { describe, expect, it } from 'vitest';
import { DynamicsConnector } from '../src/index.js';

describe('DynamicsConnector.instanceKey', () => {
  it('is the environment URL, and holds no credential', async () => {
    const a = new DynamicsConnector({ orgUrl: 'https://contoso.crm4.dynamics.com', tenantId: '00000000-0000-0000-0000-000000000001', clientId: 'app', clientSecret: 'client-secret-value' });
    const b = new DynamicsConnector({ orgUrl: 'https://fabrikam.crm.dynamics.com', tenantId: '00000000-0000-0000-0000-000000000001', clientId: 'app', clientSecret: 'client-secret-value' });
    try {
      expect(a.instanceKey).toMatch(/^https:\/\/contoso\.crm4\.dynamics\.com/);
      expect(b.instanceKey).not.toBe(a.instanceKey);
      expect(a.instanceKey).not.toContain('secret');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
