import { describe, expect, it } from 'vitest';
import { cursorPage, decodeFakeCursor, FakeRecordStore, FakeTokenIssuer, keysetPage, resetAtHeader, startFakeServer, json } from '../src/fake-server/index.js';

const DAY = 24 * 60 * 60 * 1000;

describe('the fake-server kit', () => {
  it('assigns ids and change times on the server side, and stamps a new change time on update', () => {
    let now = 1_000;
    const store = new FakeRecordStore({ now: () => now, newId: (n) => `x${n}` });
    const a = store.insert({ name: 'A' });
    now = 2_000;
    const updated = store.update(a.id, { city: 'Lyon' });
    expect([a.id, a.changedAt, updated?.changedAt, updated?.createdAt, updated?.values]).toEqual(['x0', 1_000, 2_000, 1_000, { name: 'A', city: 'Lyon' }]);
    expect(store.update('missing', {})).toBeUndefined();
    store.reset();
    expect(store.insert({}).id).toBe('x1');
  });

  it('keeps deletions for its retention: a window from just inside is answered, from just outside is refused', () => {
    const now = 100 * DAY;
    const store = new FakeRecordStore({ now: () => now, retentionDays: 7 });
    const id = store.insert({}).id;
    store.delete(id, now - DAY);
    expect(store.deletedBetween(now - 7 * DAY + 1, now)).toEqual([{ id, deletedAt: now - DAY }]);
    expect(store.deletedBetween(now - 7 * DAY - 1, now)).toBeUndefined();
    expect(store.delete(id)).toBe(false);
  });

  it('pages by keyset in either direction, and behind an opaque cursor refuses one it did not make', () => {
    const items = [3, 1, 2, 5, 4].map((v) => ({ v, id: `i${v}` }));
    const desc = keysetPage(items, (item) => [item.v], 2, undefined, [true]);
    expect(desc.items.map((item) => item.v)).toEqual([5, 4]);
    expect(keysetPage(items, (item) => [item.v], 2, desc.nextKey, [true]).items.map((item) => item.v)).toEqual([3, 2]);
    const first = cursorPage(items, (item) => [item.v, item.id], 3);
    expect(decodeFakeCursor(first?.nextCursor ?? '')).toEqual([3, 'i3']);
    expect(cursorPage(items, (item) => [item.v, item.id], 3, first?.nextCursor)).toEqual({ items: [items[4], items[3]] });
    expect(cursorPage(items, (item) => [item.v], 3, '%%%')).toBeUndefined();
  });

  it('issues tokens that expire on their own time, can be expired early, and die with their revoked credential', () => {
    let now = 0;
    const issuer = new FakeTokenIssuer({ credentials: ['key'], ttlMs: 1_000, now: () => now });
    const token = issuer.issue('key')?.token;
    expect(issuer.issue('other')).toBeUndefined();
    expect(issuer.verify(`Bearer ${token}`)).toBe('valid');
    now = 1_000;
    expect(issuer.verify(token)).toBe('expired');
    const second = issuer.issue('key')?.token;
    issuer.expireAll();
    expect(issuer.verify(second)).toBe('expired');
    issuer.revoke('key');
    expect([issuer.verify(second), issuer.issue('key'), issuer.issued]).toEqual(['revoked', undefined, 2]);
  });

  it('plays a queued fault once on the first matching request, and rounds a reset time up to a whole second', async () => {
    const server = await startFakeServer(() => json(200, { ok: true }));
    try {
      server.faults.push({ match: (r) => r.path === '/b', respond: json(503, { error: 'busy' }, { 'x-why': 'test' }) });
      expect((await fetch(`${server.url}/a`)).status).toBe(200);
      const faulted = await fetch(`${server.url}/b`);
      expect([faulted.status, faulted.headers.get('x-why')]).toEqual([503, 'test']);
      expect((await fetch(`${server.url}/b`)).status).toBe(200);
      expect(server.log.map((entry) => [entry.call, entry.status, entry.fault])).toEqual([['GET /a', 200, false], ['GET /b', 503, true], ['GET /b', 200, false]]);
    } finally {
      await server.close();
    }
    expect(resetAtHeader(2_000, 10_500)).toEqual({ resetAtMs: 13_000, seconds: '13' });
  });
});
