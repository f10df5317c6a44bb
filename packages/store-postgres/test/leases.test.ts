// Run leases on PostgreSQL: atomic across connections, expiry on the server's clock, tokens never reused.
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../src/index.js';
import { isConnectionLoss } from '../src/errors.js';
import { freshSchema, pgUrl } from './helpers.js';

const open: PostgresStore[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
});

describe.skipIf(pgUrl === undefined)('PostgreSQL run leases', () => {
  it('of 8 workers (separate pools) acquiring one job at once, exactly one gets it; after release the next token is higher', async () => {
    const schema = freshSchema();
    const workers = await Promise.all(Array.from({ length: 8 }, async () => (await openPostgresStore(pgUrl!, { schema, poolSize: 1 }))._unsafeUnwrap()));
    open.push(...workers);
    const results = await Promise.all(workers.map((worker, i) => worker.leases.acquireLease('default/job', { host: `h${i}`, pid: i, runId: `r${i}` }, { ttlMs: 60_000 })));
    const winners = results.filter((result) => result.acquired);
    expect(winners).toHaveLength(1);
    const lease = winners[0]!.acquired ? winners[0]!.lease : undefined;
    for (const result of results) if (!result.acquired) expect(result.holder.token).toBe(lease!.token);
    await workers[0]!.leases.releaseLease({ key: 'default/job', token: lease!.token });
    const next = await workers[1]!.leases.acquireLease('default/job', { host: 'h', pid: 1, runId: 'r' }, { ttlMs: 60_000 });
    expect(next.acquired && next.lease.token).toBe(lease!.token + 1);
  });

  it('a process stopped inside a transaction (holding the lease row for its fence) does not block a takeover past its idle-in-transaction limit', async () => {
    const schema = freshSchema();
    const stopped = (await openPostgresStore(pgUrl!, { schema, idleInTransactionTimeoutMs: 300 }))._unsafeUnwrap();
    const taker = (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap();
    open.push(stopped, taker);
    const first = await stopped.leases.acquireLease('job', { host: 'a', pid: 1, runId: 'a' }, { ttlMs: 50 });
    expect(first.acquired).toBe(true);
    // What a journal step does first, then the process is stopped (SIGSTOP): the transaction stays open.
    const client = await stopped.pool.connect();
    client.on('error', () => undefined);
    await client.query('BEGIN');
    await client.query(`SELECT token FROM "${schema}".crm_sync_leases WHERE key = $1 FOR SHARE`, ['job']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The lease has expired; the takeover waits on the row lock only until the server ends the idle session.
    const takeover = await taker.leases.acquireLease('job', { host: 'b', pid: 2, runId: 'b' }, { ttlMs: 60_000 });
    expect(takeover).toMatchObject({ acquired: true, previous: { owner: { runId: 'a' } } });
    // The stopped process, resumed, finds its transaction gone: its next statement fails as a lost connection.
    const resumed = await client.query('SELECT 1').then(
      () => undefined,
      (error: unknown) => error,
    );
    client.release(true);
    expect(isConnectionLoss(resumed)).toBe(true);
    expect(await openPostgresStore(pgUrl!, { schema, idleInTransactionTimeoutMs: -1 }).then((r) => r._unsafeUnwrapErr().message)).toMatch(/idleInTransactionTimeoutMs must be a whole number/);
  }, 20_000);

  it("decides expiry with the server's now(), not the caller's clock", async () => {
    // A store whose own clock is a year ahead: a live lease must still be refused to it.
    const schema = freshSchema();
    const honest = (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap();
    const skewed = (await openPostgresStore(pgUrl!, { schema, now: () => new Date(Date.now() + 365 * 86_400_000) }))._unsafeUnwrap();
    open.push(honest, skewed);
    const first = await honest.leases.acquireLease('job', { host: 'a', pid: 1, runId: 'a' }, { ttlMs: 60_000 });
    expect(first.acquired).toBe(true);
    const second = await skewed.leases.acquireLease('job', { host: 'b', pid: 2, runId: 'b' }, { ttlMs: 60_000 });
    expect(second.acquired).toBe(false);
    const short = await honest.leases.acquireLease('other', { host: 'a', pid: 1, runId: 'a' }, { ttlMs: 50 });
    expect(short.acquired).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    const takeover = await honest.leases.acquireLease('other', { host: 'b', pid: 2, runId: 'b' }, { ttlMs: 60_000 });
    expect(takeover).toMatchObject({ acquired: true, previous: { owner: { runId: 'a' } } });
  });
});
