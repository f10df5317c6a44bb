import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamicsConnector } from '../src/index.js';
import { startDataverseEmulator, type DataverseEmulator } from '../src/emulator/index.js';

const open: { emulator?: DataverseEmulator; connectors: DynamicsConnector[] } = { connectors: [] };

async function emulatorWith(options: Parameters<typeof startDataverseEmulator>[0] = {}): Promise<DataverseEmulator> {
  open.emulator = await startDataverseEmulator(options);
  return open.emulator;
}

function connectorFor(emulator: DataverseEmulator, overrides: Parameters<DataverseEmulator['connectorConfig']>[0] = {}): DynamicsConnector {
  const connector = new DynamicsConnector(emulator.connectorConfig(overrides));
  open.connectors.push(connector);
  return connector;
}

afterEach(async () => {
  for (const connector of open.connectors.splice(0)) await connector.close();
  await open.emulator?.close();
});

const tokenPosts = (emulator: DataverseEmulator) => emulator.requestLog.filter((entry) => entry.path.includes('/oauth2/v2.0/token'));

describe('msal-node client credentials against the emulator', () => {
  it('acquires a real token from the loopback token endpoint and never leaves the machine', async () => {
    const emulator = await emulatorWith();
    const config = emulator.connectorConfig();
    const connector = new DynamicsConnector(config);
    open.connectors.push(connector);
    const time = await connector.serverTime();
    expect(time.isOk()).toBe(true);
    expect(tokenPosts(emulator)).toEqual([expect.objectContaining({ method: 'POST', status: 200 })]);
    expect(config.networkClient.refused).toEqual([]);
    expect(config.networkClient.requested).toEqual([`POST ${emulator.url}/${emulator.credentials.tenantId}/oauth2/v2.0/token`]);
  });

  it('an http authority (e.g. the emulator URL) is a configuration error saying msal needs https and how to configure, not blamed on the credentials', async () => {
    const emulator = await emulatorWith();
    const { authorityMetadata: _metadata, knownAuthorities: _known, ...config } = emulator.connectorConfig();
    let thrown: unknown;
    try {
      open.connectors.push(new DynamicsConnector({ ...config, authority: `${emulator.url}/${emulator.credentials.tenantId}` }));
    } catch (error) {
      thrown = error;
    }
    const message = (thrown as Error).message;
    expect(message).toContain(`[crm-sync] [dynamics] configuration authority: '${emulator.url}/${emulator.credentials.tenantId}' is not https`);
    expect(message).toContain('give authorityMetadata');
    expect(message).not.toMatch(/refused the client credentials/);
    expect(tokenPosts(emulator)).toEqual([]);
  });

  it('shares one token request among concurrent callers (single flight) and reuses the token', async () => {
    const emulator = await emulatorWith();
    const connector = connectorFor(emulator);
    const results = await Promise.all(Array.from({ length: 20 }, () => connector.serverTime()));
    expect(results.every((result) => result.isOk())).toBe(true);
    await connector.serverTime();
    expect(emulator.apiCalls.token).toBe(1);
    expect(connector.tokenRequests).toBe(1);
  });

  it('refreshes before expiry, once, however many callers arrive in the refresh window', async () => {
    const emulator = await emulatorWith({ tokenLifetimeSeconds: 3600 });
    let now = Date.now();
    const connector = connectorFor(emulator, { now: () => now, tokenRefreshMarginMs: 5 * 60_000 });
    await connector.serverTime();
    now += 54 * 60_000; // 6 minutes left: still outside the margin
    await connector.serverTime();
    expect(emulator.apiCalls.token).toBe(1);
    now += 2 * 60_000; // 4 minutes left: inside the margin
    const results = await Promise.all(Array.from({ length: 10 }, () => connector.serverTime()));
    expect(results.every((result) => result.isOk())).toBe(true);
    expect(emulator.apiCalls.token).toBe(2);
  });

  it('gets a fresh token once when the Web API refuses the current one as expired', async () => {
    const emulator = await emulatorWith({ faults: [{ kind: 'token-expired' }] });
    const connector = connectorFor(emulator);
    const result = await connector.serverTime();
    expect(result.isOk()).toBe(true);
    expect(emulator.apiCalls.token).toBe(2);
    expect(emulator.requestLog.map((entry) => entry.status)).toEqual([200, 401, 200, 200]);
  });

  it('makes one token request when 20 calls in flight are all refused with the expired token', async () => {
    const emulator = await emulatorWith();
    const connector = connectorFor(emulator);
    await connector.serverTime();
    emulator.faults.inject({ kind: 'token-expired' });
    const results = await Promise.all(Array.from({ length: 20 }, () => connector.serverTime()));
    expect(results.every((result) => result.isOk())).toBe(true);
    expect(emulator.apiCalls.token).toBe(2);
  });

  it('fails with a non-retryable auth error for a wrong secret, without the secret in the error or the log', async () => {
    const emulator = await emulatorWith();
    const secret = 'wrong-but-secret-value-123';
    const connector = connectorFor(emulator, { clientSecret: secret });
    const error = (await connector.serverTime())._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'auth', retryable: false, vendorCode: 'invalid_client' });
    expect(error.message).toMatch(/^\[crm-sync\] \[dynamics\] Entra ID refused the client credentials/);
    expect(JSON.stringify({ ...error, cause: undefined })).not.toContain(secret);
    expect(JSON.stringify(emulator.requestLog)).not.toContain(secret);
  });

  it('authenticates with a certificate (signed client assertion) instead of a secret', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const emulator = await emulatorWith({
      credentials: { tenantId: '00000000-0000-0000-0000-0000000000bb', clientId: '22222222-2222-3333-4444-555555555555', certificate: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    });
    const { clientSecret: _unused, ...config } = emulator.connectorConfig();
    const connector = new DynamicsConnector({ ...config, certificate: { thumbprintSha256: 'a'.repeat(64), privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } });
    open.connectors.push(connector);
    expect((await connector.serverTime()).isOk()).toBe(true);
    expect(emulator.apiCalls.token).toBe(1);
  });

  it('keeps access tokens out of the request log', async () => {
    const emulator = await emulatorWith();
    const connector = connectorFor(emulator);
    await connector.describe('contact');
    const logged = JSON.stringify(emulator.requestLog);
    expect(logged).not.toMatch(/emu\.[A-Za-z0-9_-]{20,}/);
    expect(logged).not.toContain(emulator.credentials.clientSecret as string);
  });
});
