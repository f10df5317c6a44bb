import { readFileSync } from 'node:fs';
import { err, ok } from 'neverthrow';
import { describe, expect, it } from 'vitest';
import { InMemoryCrm, MockConnector } from '@crm-sync/connector-mock';
import { connectorPlugin, createSyncContainer, defineConnectorPlugin, SDK_VERSION, settingsSchema, TOKENS, type CrmConnector } from '../src/index.js';

describe('connector plugin definitions (what the CLI loads)', () => {
  it('SDK_VERSION is the version in the SDK package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SDK_VERSION).toBe(pkg.version);
  });

  it('defineConnectorPlugin stamps the SDK version, and its plugin registers the connector', async () => {
    const schema = settingsSchema<{ seed: number }>('test', (input) => {
      const seed = (input as { seed?: unknown }).seed;
      return typeof seed === 'number' ? ok({ seed }) : err([{ path: ['seed'], message: 'seed must be a number' }]);
    });
    const definition = defineConnectorPlugin({
      id: 'mock',
      title: 'a mock',
      settings: schema,
      secretSettings: [],
      capabilities: {},
      plugin: () => connectorPlugin('mock', () => new MockConnector(new InMemoryCrm())),
    });
    expect(definition.sdkVersion).toBe(SDK_VERSION);
    expect(await definition.settings['~standard'].validate({ seed: 'x' })).toEqual({ issues: [{ path: ['seed'], message: 'seed must be a number' }] });
    const validated = await definition.settings['~standard'].validate({ seed: 1 });
    expect(validated).toEqual({ value: { seed: 1 } });
    const plugin = definition.plugin({ seed: 1 }, { logger: { debug() {}, info() {}, warn() {}, error() {} }, directory: '.' });
    const connector = createSyncContainer([plugin]).resolve<CrmConnector>(TOKENS.Connector);
    expect(connector.id).toBe('mock');
  });
});
