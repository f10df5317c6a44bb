/**
 * Security of the dashboard server: no open bind without a token, the token on every API route,
 * no secret in any answer (canaries), no file outside the page's own, no query parameter that is
 * not of its shape, read-only methods, loopback Host check, and errors without stack traces.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { registerSecret, type RunHistoryStore } from '@crm-sync/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUiServer, UiServerConfigError, type UiServer, type WorkersStatus } from '../src/index.js';
import { cleanUpStores, get, seed, storeFactories, type TestStore } from './helpers.js';

afterAll(cleanUpStores);

const TOKEN = randomBytes(24).toString('base64url');

/** Every API route of v1, with the seeded run ids. */
const ROUTES = [
  '/api/v1/status',
  '/api/v1/runs',
  '/api/v1/runs?operation=import&status=succeeded&limit=5',
  '/api/v1/runs/imp-1',
  '/api/v1/runs/imp-1/rejects',
  '/api/v1/runs/imp-1/rejects.csv',
  '/api/v1/runs/exp-1',
  '/api/v1/runs/exp-1/journal',
  '/api/v1/runs/exp-2/journal',
  '/api/v1/runs/del-1',
  '/api/v1/jobs',
  '/api/v1/workers',
];

/** A raw GET (no URL normalisation, unlike fetch). */
function rawGet(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A unique secret, and the forms it could leak in. */
function canary(kind: string): string {
  return `canary-${kind}-${randomBytes(12).toString('hex')}`;
}
function leakForms(secret: string): string[] {
  return [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url'), encodeURIComponent(secret)];
}

describe('binding', () => {
  it('refuses a non-loopback address without an access token, and says how to fix it', async () => {
    const store = await storeFactories()[0]!.open();
    await expect(startUiServer({ store, databaseLabel: 'x', host: '0.0.0.0' })).rejects.toThrow(UiServerConfigError);
    await expect(startUiServer({ store, databaseLabel: 'x', host: '0.0.0.0' })).rejects.toThrow(/without an access token.*CRM_SYNC_UI_TOKEN/);
    await expect(startUiServer({ store, databaseLabel: 'x', token: 'short' })).rejects.toThrow(/at least 16/);
    const open = await startUiServer({ store, databaseLabel: 'x', host: '0.0.0.0', token: TOKEN });
    expect(open.openUrl).toBe(`http://0.0.0.0:${open.port}/#token=${TOKEN}`);
    await open.close();
  });
});

describe.each(storeFactories().filter((f) => f.name !== 'postgres'))('server on $name', (factory) => {
  let store: TestStore;
  let server: UiServer;
  const secrets = { registered: canary('password'), pattern: canary('clientsecret'), key: canary('apikey'), payload: canary('payload'), bearer: canary('token'), extra: canary('extra') };
  const workers: WorkersStatus = {
    at: '2024-01-12T00:00:00.000Z',
    queues: [{ name: 'q-demo', account: 'demo', waiting: 1, active: 0, delayed: 0, failed: 0, completed: 3, paused: true, pauseReason: `429 with Authorization: Bearer ${secrets.bearer}` }],
    workers: [],
    schedules: [],
  };

  beforeAll(async () => {
    registerSecret(secrets.registered);
    store = await factory.open();
    await seed(store);
    // Secrets a careless writer could have left in the store.
    await store.history.startRun({ runId: 'leaky', jobId: 'default/contacts-in', activity: 'contacts-in', operation: 'import', host: 'h', pid: 1, startedAt: '2024-01-13T00:00:00.000Z' });
    await store.history.recordProgress('leaky', { rejects: [{ code: 'validation', message: `login failed for password ${secrets.registered}`, fields: [] }, { code: 'validation', message: `POST client_secret=${secrets.pattern}&x=1`, fields: [] }] });
    await store.history.finishRun('leaky', { status: 'failed', endedAt: '2024-01-13T00:00:01.000Z', error: { kind: 'crm', message: `token refused: {"access_token":"${secrets.extra}"}` }, notes: [`extra ${secrets.extra}`] });
    await store.options.setOption('LASTIMPORT_default_contacts-in', '2024-01-13T00:00:00.000Z', { apiKey: secrets.key });
    const journal = await store.journal.startRun('default/leaky-out');
    await store.journal.addPending(journal.runId, [{ seq: 0, localKey: 'z', mode: 'insert', payload: { Password__c: secrets.payload } }]);
    server = await startUiServer({ store, databaseLabel: 'test', token: TOKEN, secrets: [secrets.extra], workersStatus: async () => workers });
  });
  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  it('answers 401 on every API route without the token or with a wrong one, and serves it with the token', async () => {
    for (const route of [...ROUTES, '/api/v1/nope', '/api/v2/runs', '/api']) {
      expect((await get(server.url, route)).status, route).toBe(401);
      expect((await get(server.url, route, `${TOKEN}x`)).status, route).toBe(401);
      expect((await get(server.url, route, TOKEN.slice(0, -1))).status, route).toBe(401);
    }
    for (const route of ROUTES) expect((await get(server.url, route, TOKEN)).status, route).toBe(200);
  });

  it('sends no canary secret and not the token in any API answer', async () => {
    const texts: string[] = [];
    for (const route of [...ROUTES, '/api/v1/runs/leaky', '/api/v1/runs/leaky/rejects', '/api/v1/runs/leaky/rejects.csv', '/api/v1/runs/leaky/rejects?search=password']) {
      texts.push((await get(server.url, route, TOKEN)).text);
    }
    for (const path of ['/', '/app.js', '/app.css']) texts.push((await get(server.url, path)).text);
    const all = texts.join('\n');
    expect(all).toContain('leaky');
    for (const [kind, secret] of Object.entries({ ...secrets, token: TOKEN })) {
      for (const form of leakForms(secret)) expect(all.includes(form), `${kind} leaked`).toBe(false);
    }
  });

  it('serves only its own files: dot segments, encoded separators and other paths are refused', async () => {
    for (const path of ['/../package.json', '/app.js/../../package.json', '/%2e%2e/%2e%2e/package.json', '/..%2f..%2fpackage.json', '/vendor/..%5c..%5cpackage.json', '/static/app.js', '/src/server.ts', '/api/v1/runs/..%2F..%2Fetc%2Fpasswd', '/etc/passwd', '/app.js%00.html']) {
      const answer = await rawGet(server.port, path, { Authorization: `Bearer ${TOKEN}` });
      expect([400, 404], `${path}: ${answer.status}`).toContain(answer.status);
      expect(answer.body).not.toMatch(/"name": "@crm-sync|root:x:0|export async function/);
    }
    expect((await rawGet(server.port, '/app.js')).status).toBe(200);
  });

  it('refuses SQL-ish and unknown query parameters with 400, and searches literally', async () => {
    for (const query of [
      "status=running'%20OR%20'1'='1",
      'operation=import%20OR%201=1',
      "job=x';%20DROP%20TABLE%20crm_sync_runs;--",
      'limit=1;DROP%20TABLE%20crm_sync_runs',
      'offset=-1',
      'since=2024-01-01%20OR%201=1',
      'orderBy=started_at',
      'status=running&status=failed',
    ]) {
      const answer = await get(server.url, `/api/v1/runs?${query}`, TOKEN);
      expect(answer.status, query).toBe(400);
      expect((answer.json() as { error: { message: string } }).error.message).toMatch(/query parameter/);
    }
    expect((await get(server.url, `/api/v1/runs/${encodeURIComponent("imp-1' OR '1'='1")}`, TOKEN)).status).toBe(400);
    const search = await get(server.url, `/api/v1/runs/imp-1/rejects?search=${encodeURIComponent("' OR 1=1 --")}`, TOKEN);
    expect(search.status).toBe(200);
    expect(search.json()).toMatchObject({ matching: 0, rejects: [] });
    expect((await get(server.url, '/api/v1/runs', TOKEN)).json()).toMatchObject({ total: 5 });
  });

  it('is read-only: methods other than GET and HEAD are refused with 405 and change nothing', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const answer = await rawGet(server.port, '/api/v1/runs/imp-1', { Authorization: `Bearer ${TOKEN}` }, method);
      expect(answer.status, method).toBe(405);
    }
    expect(await store.history.getRun('imp-1')).toBeDefined();
  });

  it('refuses a Host header that does not name the loopback server (DNS rebinding)', async () => {
    const answer = await rawGet(server.port, '/api/v1/runs', { Host: 'evil.example:80', Authorization: `Bearer ${TOKEN}` });
    expect(answer.status).toBe(421);
  });

  it('shows the workers given, with secrets in their texts masked', async () => {
    const answer = (await get(server.url, '/api/v1/workers', TOKEN)).json() as { inUse: boolean; status: WorkersStatus };
    expect(answer.inUse).toBe(true);
    expect(answer.status.queues[0]).toMatchObject({ name: 'q-demo', paused: true, pauseReason: '429 with Authorization: Bearer [REDACTED]' });
  });
});

describe('errors', () => {
  it('answers a failing store with JSON naming the problem, never a stack trace', async () => {
    const store = await storeFactories()[0]!.open();
    const failing = new Proxy(store.history, {
      get(target, key, receiver) {
        if (key === 'countRuns') return async () => { throw new Error('[crm-sync] disk I/O error reading crm_sync_runs'); };
        return Reflect.get(target, key, receiver) as unknown;
      },
    }) as RunHistoryStore;
    const server = await startUiServer({ store: { ...store, history: failing }, databaseLabel: 'x' });
    try {
      const answer = await get(server.url, '/api/v1/runs');
      expect(answer.status).toBe(500);
      expect(answer.json()).toEqual({ error: { code: 'internal', message: 'the dashboard could not answer: [crm-sync] disk I/O error reading crm_sync_runs' } });
      expect(answer.text).not.toMatch(/\n\s+at /);
    } finally {
      await server.close();
    }
  });

  it('answers every data route with 503 and the problem when the store cannot be shown; the workers (in Redis) still show', async () => {
    const problem = { kind: 'newer-schema' as const, title: 'This database is from a newer crm-sync', message: 'schema version 99, newer than this release understands (6); upgrade' };
    const server = await startUiServer({ store: problem, databaseLabel: 'x' });
    try {
      expect((await get(server.url, '/api/v1/status')).json()).toMatchObject({ problem });
      for (const route of ROUTES.filter((r) => r !== '/api/v1/status' && r !== '/api/v1/workers' && !r.includes('?'))) {
        const answer = await get(server.url, route);
        expect(answer.status, route).toBe(503);
        expect(answer.json()).toMatchObject({ problem });
      }
      const workers = await get(server.url, '/api/v1/workers');
      expect(workers.status).toBe(200);
      expect(workers.json()).toEqual({ inUse: false });
    } finally {
      await server.close();
    }
  });

  it('says the distributed workers are not in use when no status function is given, and reports one that fails', async () => {
    const store = await storeFactories()[0]!.open();
    const absent = await startUiServer({ store, databaseLabel: 'x' });
    const failing = await startUiServer({ store, databaseLabel: 'x', workersStatus: async () => { throw new Error('Redis at 127.0.0.1:6379 refused the connection'); } });
    try {
      expect((await get(absent.url, '/api/v1/workers')).json()).toEqual({ inUse: false });
      expect((await get(failing.url, '/api/v1/workers')).json()).toEqual({ inUse: true, error: { code: 'workers-unreadable', message: "reading the workers' status failed: Redis at 127.0.0.1:6379 refused the connection" } });
    } finally {
      await absent.close();
      await failing.close();
    }
  });
});
