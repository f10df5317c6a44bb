import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Harness } from './harness.js';

// jsforce reads the proxy variables when it is first loaded, so they are set before the connector
// (and jsforce) is imported. The proxy address is unreachable: any request sent to it fails.
const UNREACHABLE_PROXY = 'http://127.0.0.1:9';
let harness: Harness;

beforeAll(async () => {
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) vi.stubEnv(name, UNREACHABLE_PROXY);
  vi.resetModules();
  const { startHarness } = await import('./harness.js');
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.close();
  vi.unstubAllEnvs();
});

describe('proxy environment variables', () => {
  it('do not capture loopback traffic: sign-in, query and write reach the emulator directly', async () => {
    expect(process.env.https_proxy).toBe(UNREACHABLE_PROXY);
    const inserted = await harness.connector.upsertBatch({ object: 'Contact', mode: 'insert', records: [{ values: { LastName: 'Proxy' } }] });
    expect(inserted.isOk()).toBe(true);
    const page = await harness.connector.query({ object: 'Contact', fields: ['LastName'] });
    expect(page._unsafeUnwrap().records.map((r) => r.values.LastName)).toEqual(['Proxy']);
    expect(harness.emulator.requestLog.map((e) => e.route)).toEqual(['token', 'describe', 'collections', 'query']);
  });
});
