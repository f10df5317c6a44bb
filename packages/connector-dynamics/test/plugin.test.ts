import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncContainer, TOKENS, type CrmConnector, type RuntimeConnector } from '@crm-sync/sdk';
import { DynamicsConnector, dynamicsConnector } from '../src/index.js';
import { startDataverseEmulator, type DataverseEmulator } from '../src/emulator/index.js';

let emulator: DataverseEmulator;
beforeAll(async () => {
  emulator = await startDataverseEmulator();
});
afterAll(async () => emulator.close());

describe('dynamicsConnector DI plugin', () => {
  it('registers a lazily built DynamicsConnector that the runtime wraps', async () => {
    const plugin = dynamicsConnector(emulator.connectorConfig());
    expect(plugin.id).toBe('dynamics');
    const container = createSyncContainer([plugin]);
    const connector = container.resolve<CrmConnector>(TOKENS.Connector);
    expect(connector).toBeInstanceOf(DynamicsConnector);
    expect(container.resolve<CrmConnector>(TOKENS.Connector)).toBe(connector);
    const runtime = container.resolve<RuntimeConnector>(TOKENS.RuntimeConnector);
    expect((await runtime.describe('contact'))._unsafeUnwrap().primaryKey).toBe('contactid');
    await connector.close?.();
  });
});
