import { createSyncContainer, TOKENS, type CrmConnector } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { InMemoryCrm, MockConnector, mockConnector } from '../src/index.js';

describe('mockConnector plugin', () => {
  it('registers one MockConnector over the given CRM in a sync container', () => {
    const crm = new InMemoryCrm();
    const container = createSyncContainer([mockConnector({ crm, id: 'mock-a' })]);
    const connector = container.resolve<CrmConnector>(TOKENS.Connector);
    expect(connector).toBeInstanceOf(MockConnector);
    expect((connector as MockConnector).crm).toBe(crm);
    expect(connector.id).toBe('mock-a');
    expect(container.resolve<CrmConnector>(TOKENS.Connector)).toBe(connector);
  });
});
