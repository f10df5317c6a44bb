import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRelataFake, type RelataFake } from './relata-fake.js';

const DAY = 24 * 60 * 60 * 1000;
let fake: RelataFake;
let token: string;

async function call(method: string, path: string, body?: unknown, bearer: string = token): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${fake.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

async function newToken(): Promise<string> {
  const answer = await call('POST', '/oauth/token', { client_id: fake.client.id, client_secret: fake.client.secret }, '');
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
}

beforeEach(async () => {
  fake = await startRelataFake();
  token = await newToken();
});
afterEach(() => fake.close());

describe('the Relata fake of issue 15, written on the fake-server kit', () => {
  it('fits in under 200 lines (the hand-written one had 574)', () => {
    const lines = readFileSync(new URL('./relata-fake.ts', import.meta.url), 'utf8').trimEnd().split('\n').length;
    expect(lines).toBeLessThan(200);
  });

  it('pages by (modifiedAt, id) behind opaque cursors, with epoch-millisecond change times, and a record inserted mid-read shifts nothing', async () => {
    const at = Date.now() - DAY;
    const ids = fake.seed('person', Array.from({ length: 7 }, (_, i) => ({ name: `P${i}` })), at);
    const first = await call('GET', `/api/records/person?modifiedSince=${at}&modifiedBefore=${at + 1}&limit=3`);
    expect(first.body.data.map((r: { id: string }) => r.id)).toEqual(ids.slice(0, 3));
    expect(first.body.data[0].modifiedAt).toBe(at);
    expect(first.body.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    fake.seed('person', [{ name: 'late' }], at - 1);
    const read = [...first.body.data];
    for (let cursor = first.body.nextCursor; cursor; ) {
      const page = await call('GET', `/api/records/person?modifiedSince=${at}&modifiedBefore=${at + 1}&limit=3&cursor=${cursor}`);
      read.push(...page.body.data);
      cursor = page.body.nextCursor;
    }
    expect(read.map((r) => r.id)).toEqual(ids);
    expect((await call('GET', '/api/records/person?cursor=not-a-cursor')).status).toBe(400);
  });

  it('answers a batch with 207 and one result per operation, in order: created, validation, required, duplicate, not found', async () => {
    const [existing] = fake.seed('person', [{ name: 'Holder', email: 'a@x.test' }]);
    const answer = await call('POST', '/api/records/person/batch', {
      operations: [
        { op: 'create', fields: { name: 'New', score: 3 } },
        { op: 'create', fields: { name: 'Bad', score: 'three' } },
        { op: 'create', fields: { city: 'Nowhere' } },
        { op: 'create', fields: { name: 'Copy', email: 'a@x.test' } },
        { op: 'update', id: 'R-FFFF', fields: { name: 'Ghost' } },
        { op: 'update', id: existing, fields: { city: 'Lyon' } },
      ],
    });
    expect(answer.status).toBe(207);
    expect(answer.body.results.map((r: { status: number; error?: { type: string } }) => `${r.status} ${r.error?.type ?? ''}`.trim())).toEqual([
      '201',
      '422 validation_error',
      '422 required',
      '409 duplicate',
      '404 not_found',
      '200',
    ]);
    expect(answer.body.results[5].data.fields).toEqual({ name: 'Holder', email: 'a@x.test', city: 'Lyon' });
  });

  it('keeps 7 days of deletions: both ends inclusive inside, 410 history_expired beyond', async () => {
    const now = Date.now();
    const [a, b] = fake.seed('person', [{ name: 'A' }, { name: 'B' }]);
    fake.deleteDirect('person', a ?? '', now - 6 * DAY);
    fake.deleteDirect('person', b ?? '', now - 60_000);
    const inside = await call('GET', `/api/deleted/person?since=${now - 6 * DAY}&until=${now - 60_000}`);
    expect(inside.body.data).toEqual([{ id: a, deletedAt: now - 6 * DAY }, { id: b, deletedAt: now - 60_000 }]);
    const beyond = await call('GET', `/api/deleted/person?since=${now - 7 * DAY - 3_600_000}`);
    expect(beyond.status).toBe(410);
    expect(beyond.body.error.type).toBe('history_expired');
  });

  it('expires tokens (a new one works) and revokes the client (no new one)', async () => {
    fake.tokens.expireAll();
    const expired = await call('GET', '/api/records/person');
    expect([expired.status, expired.body.error.type]).toEqual([401, 'token_expired']);
    token = await newToken();
    expect((await call('GET', '/api/records/person')).status).toBe(200);
    fake.tokens.revoke(`${fake.client.id}:${fake.client.secret}`);
    expect((await call('GET', '/api/records/person')).body.error.type).toBe('invalid_token');
    expect((await call('POST', '/oauth/token', { client_id: fake.client.id, client_secret: fake.client.secret }, '')).status).toBe(401);
  });

  it('announces a rate limit by its reset time in X-RateLimit-Reset-At, without Retry-After, and leaves the token call alone', async () => {
    const resetAt = Date.now() + 2000;
    fake.rateLimitUntil(1, resetAt);
    expect((await newToken()).length).toBeGreaterThan(0);
    const limited = await call('GET', '/api/records/person');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-reset-at')).toBe(String(resetAt));
    expect(limited.headers.get('retry-after')).toBeNull();
    expect((await call('GET', '/api/records/person')).status).toBe(200);
  });

  it('commits a write and then resets the connection, with latency, and logs every request', async () => {
    fake.server.faults.push({ match: (r) => r.path.endsWith('/batch'), latencyMs: 50, resetAfterCommit: true });
    const started = Date.now();
    await expect(call('POST', '/api/records/person/batch', { operations: [{ op: 'create', fields: { name: 'Committed' } }] })).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    const listed = await call('GET', '/api/records/person');
    expect(listed.body.data.map((r: { fields: { name: string } }) => r.fields.name)).toEqual(['Committed']);
    expect(fake.server.log.map((entry) => `${entry.call} ${entry.status ?? 'reset'}`)).toEqual([
      'POST /oauth/token 200',
      'POST /api/records/person/batch reset',
      'GET /api/records/person 200',
    ]);
  });
});
