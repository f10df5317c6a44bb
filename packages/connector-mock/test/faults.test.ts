import { crmError } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { InMemoryCrm, MockConnector } from '../src/index.js';

const unavailable = crmError('transient', 'mock', 'service unavailable (scripted)', { httpStatus: 503 });
const insertOne = { object: 'contact', mode: 'insert' as const, records: [{ values: { lastName: 'Doe', externalKey: 'k-1' } }] };

describe('MockConnector faults', () => {
  it('fails the next N calls with the given error, then answers normally', async () => {
    const connector = new MockConnector(new InMemoryCrm());
    connector.faults.failNext(2, unavailable);
    expect((await connector.listObjects())._unsafeUnwrapErr()).toBe(unavailable);
    expect((await connector.describe('contact'))._unsafeUnwrapErr().kind).toBe('transient');
    expect((await connector.listObjects()).isOk()).toBe(true);
    expect(connector.faults.injected).toBe(2);
  });

  it('fails only the named operations, and the failed write is not applied', async () => {
    const crm = new InMemoryCrm();
    const connector = new MockConnector(crm);
    connector.faults.failNext(1, unavailable, { operations: ['upsertBatch'] });
    expect((await connector.query({ object: 'contact', fields: [] })).isOk()).toBe(true);
    expect((await connector.upsertBatch(insertOne)).isErr()).toBe(true);
    expect(crm.count('contact')).toBe(0);
    expect((await connector.upsertBatch(insertOne))._unsafeUnwrap()).toEqual([{ ok: true, id: 'CON-000001', action: 'created' }]);
  });

  it('with afterCommit applies the write, then returns the error marked in doubt', async () => {
    const crm = new InMemoryCrm();
    const connector = new MockConnector(crm);
    connector.faults.failNext(1, unavailable, { afterCommit: true });
    const error = (await connector.upsertBatch(insertOne))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'transient', inDoubt: true });
    expect(crm.count('contact')).toBe(1);
    expect(crm.findBy('contact', 'externalKey', 'k-1')).toHaveLength(1);
  });

  it('fails every n-th matching call until cleared, building the error per operation', async () => {
    const connector = new MockConnector(new InMemoryCrm());
    connector.faults.failEvery(3, (operation) => crmError('rate-limited', 'mock', `${operation} throttled`, { retryAfterMs: 10 }));
    const outcomes: string[] = [];
    for (let call = 0; call < 7; call++) {
      const result = await connector.serverTime();
      outcomes.push(result.isOk() ? 'ok' : result.error.message);
    }
    expect(outcomes).toEqual(['ok', 'ok', '[crm-sync] [mock] serverTime throttled', 'ok', 'ok', '[crm-sync] [mock] serverTime throttled', 'ok']);
    connector.faults.clear();
    expect(connector.faults.injected).toBe(0);
    expect((await connector.serverTime()).isOk()).toBe(true);
  });

  it('counts calls that failed by a fault as API calls', async () => {
    const crm = new InMemoryCrm();
    const connector = new MockConnector(crm);
    connector.faults.failNext(1, unavailable);
    await connector.listObjects();
    expect(crm.stats.byOperation.listObjects).toBe(1);
  });

  it('waits latencyMs and turns an abort during the wait into an error', async () => {
    const connector = new MockConnector(new InMemoryCrm(), { latencyMs: 5 });
    expect((await connector.serverTime()).isOk()).toBe(true);
    const controller = new AbortController();
    controller.abort();
    expect((await connector.serverTime({ signal: controller.signal }))._unsafeUnwrapErr().message).toContain('aborted');
  });
});
