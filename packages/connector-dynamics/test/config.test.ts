import { describe, expect, it } from 'vitest';
import { CrmSyncError } from '@crm-sync/sdk';
import { createDynamicsConnector, DynamicsConnector, type DynamicsConfig } from '../src/index.js';

const valid: DynamicsConfig = {
  orgUrl: 'https://contoso.crm.dynamics.com/',
  tenantId: '00000000-0000-0000-0000-0000000000aa',
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: 'a-client-secret-value',
};

describe('configuration', () => {
  it('accepts a valid configuration and derives capabilities from it', async () => {
    const connector = (await createDynamicsConnector({ ...valid, batchSize: 250, maxPageSize: 1000 }))._unsafeUnwrap();
    expect(connector.capabilities).toMatchObject({ maxUpsertBatch: 250, maxDeleteBatch: 250, maxPageSize: 1000, defaultPageSize: 500, changeFields: ['modifiedon'], upsertByExternalId: true });
    await connector.close();
  });

  it.each([
    [{ orgUrl: 'not a url' }, 'orgUrl'],
    [{ orgUrl: 'http://contoso.crm.dynamics.com' }, 'must use https'],
    [{ clientSecret: undefined }, 'give clientSecret or certificate'],
    [{ certificate: { thumbprintSha256: 'ab', privateKey: 'k' } }, 'not both'],
    [{ batchSize: 1001 }, 'batchSize'],
    [{ pageSize: 6000 }, 'pageSize'],
    [{ tenantId: 'x' }, 'tenantId'],
    [{ authority: 'http://127.0.0.1:5555/00000000-0000-0000-0000-0000000000aa' }, "configuration authority: 'http://127.0.0.1:5555/00000000-0000-0000-0000-0000000000aa' is not https, and msal (which gets the tokens) accepts https authorities only, loopback included; this is not a credentials problem."],
    [{ authority: 'login' }, "configuration authority: 'login' is not a URL"],
  ] as const)('refuses %j, saying what and where', async (override, expected) => {
    const error = (await createDynamicsConnector({ ...valid, ...override } as DynamicsConfig))._unsafeUnwrapErr();
    expect(error.kind).toBe('invalid-request');
    expect(error.message).toMatch(/^\[crm-sync\] \[dynamics\] configuration /);
    expect(error.message).toContain(expected);
  });

  it('throws a CrmSyncError from the constructor, with the secret redacted', () => {
    const secret = 'super-secret-value-42';
    let thrown: unknown;
    try {
      new DynamicsConnector({ ...valid, clientSecret: secret, orgUrl: 'ftp://x' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CrmSyncError);
    expect(JSON.stringify(thrown)).not.toContain(secret);
  });
});
