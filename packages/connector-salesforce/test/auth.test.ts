import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_REFRESHES_PER_WINDOW } from '../src/auth.js';
import { SalesforceConnector } from '../src/index.js';
import { CREDENTIALS, startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const listContacts = (connector: SalesforceConnector) => connector.query({ object: 'Contact', fields: ['LastName'] });

describe('authentication', () => {
  it('signs in once with the password flow even when many calls start together', async () => {
    harness = await startHarness();
    const results = await Promise.all(Array.from({ length: 8 }, () => listContacts(harness!.connector)));
    expect(results.every((r) => r.isOk())).toBe(true);
    expect(harness.connector.callStats.tokenRequests).toBe(1);
  });

  it('refreshes once (single-flight) when concurrent calls all meet an expired session, then replays them', async () => {
    harness = await startHarness();
    await harness.connector.describe('Contact');
    harness.emulator.expireSessions();
    const results = await Promise.all(Array.from({ length: 10 }, () => listContacts(harness!.connector)));
    expect(results.every((r) => r.isOk())).toBe(true);
    expect(harness.connector.callStats.tokenRequests).toBe(2);
    expect(harness.emulator.requestLog.filter((e) => e.route === 'token')).toHaveLength(2);
  });

  it('caps refreshes: a session refused again and again ends in an auth error, not a loop', async () => {
    harness = await startHarness();
    await harness.connector.describe('Contact');
    harness.emulator.faults.add({ kind: 'expired-session', route: 'query', times: Number.POSITIVE_INFINITY });
    const results: string[] = [];
    for (let i = 0; i < MAX_REFRESHES_PER_WINDOW + 2; i += 1) {
      const result = await listContacts(harness.connector);
      results.push(result.isErr() ? result.error.kind : 'ok');
    }
    expect(results.every((kind) => kind === 'auth')).toBe(true);
    // The first sign-in counts toward the cap too: at most MAX token requests a minute in all.
    expect(harness.connector.callStats.tokenRequests).toBe(MAX_REFRESHES_PER_WINDOW);
  });

  it('refuses wrong credentials with an auth error that names the flow and leaks no secret', async () => {
    harness = await startHarness({}, { auth: { kind: 'password', ...CREDENTIALS, password: 'wrong-password-value' } });
    const error = (await listContacts(harness.connector))._unsafeUnwrapErr();
    expect(error.kind).toBe('auth');
    expect(error.message).toContain('password');
    expect(JSON.stringify(error)).not.toContain('wrong-password-value');
  });

  it('signs in with client credentials', async () => {
    harness = await startHarness({}, { auth: { kind: 'client-credentials', clientId: CREDENTIALS.clientId, clientSecret: CREDENTIALS.clientSecret } });
    expect((await listContacts(harness.connector)).isOk()).toBe(true);
  });

  it('signs in with a JWT bearer assertion signed by the private key', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    harness = await startHarness({}, { auth: { kind: 'jwt', clientId: CREDENTIALS.clientId, username: CREDENTIALS.username, privateKey } });
    expect((await listContacts(harness.connector)).isOk()).toBe(true);
  });

  it('uses a given access token without the token endpoint, and fails with auth once it expires', async () => {
    harness = await startHarness();
    const accessToken = harness.emulator.issueAccessToken();
    const connector = new SalesforceConnector({ instanceUrl: harness.emulator.url, auth: { kind: 'access-token', accessToken } });
    expect((await listContacts(connector)).isOk()).toBe(true);
    harness.emulator.expireSessions();
    const error = (await listContacts(connector))._unsafeUnwrapErr();
    expect([error.kind, error.retryable]).toEqual(['auth', false]);
    expect(JSON.stringify(error)).not.toContain(accessToken);
    expect(harness.emulator.requestLog.filter((e) => e.route === 'token')).toHaveLength(0);
  });

  it('never writes tokens into the emulator request log', async () => {
    harness = await startHarness();
    await listContacts(harness.connector);
    const log = JSON.stringify(harness.emulator.requestLog);
    expect(log).not.toMatch(/00DEMU0000000001!/);
    expect(log).not.toContain(CREDENTIALS.password);
  });

  it('refuses an invalid configuration with a message that says what to fix', () => {
    expect(() => new SalesforceConnector({ auth: { kind: 'access-token', accessToken: 'token-value-123' } })).toThrow(/instanceUrl is required/);
    expect(() => new SalesforceConnector({ apiVersion: '40.0', auth: { kind: 'client-credentials', clientId: 'a', clientSecret: 'bbbbbbbb' } })).toThrow(/46\.0 or later/);
    expect(() => new SalesforceConnector({ instanceUrl: 'http://127.0.0.1:1', concurrency: 30, auth: { kind: 'access-token', accessToken: 'token-value-123' } })).toThrow(
      /concurrency must be an integer from 1 to 25/,
    );
  });

  it('declares 8 calls in flight by default and the configured number otherwise', () => {
    const auth = { kind: 'access-token', accessToken: 'token-value-123' } as const;
    expect(new SalesforceConnector({ instanceUrl: 'http://127.0.0.1:1', auth }).capabilities.concurrency).toBe(8);
    expect(new SalesforceConnector({ instanceUrl: 'http://127.0.0.1:1', auth, concurrency: 3 }).capabilities.concurrency).toBe(3);
  });
});
