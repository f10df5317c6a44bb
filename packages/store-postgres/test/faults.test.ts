// Server-side failures inside a transaction: a connection killed mid-write (pg_terminate_backend),
// serialization failures and deadlocks (retried), unique violations. Nothing half-written, the
// watermark never ahead of the records, and the store usable afterwards.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRecord } from '@crm-sync/sdk';
import { TRANSACTION_RETRIES, type PostgresStore } from '../src/index.js';
import { Database } from '../src/database.js';
import { toStoreError } from '../src/errors.js';
import { adminQuery, openTestStore, pgUrl } from './helpers.js';

const open: PostgresStore[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
});

async function store(applicationName: string): Promise<PostgresStore> {
  const opened = await openTestStore({ applicationName });
  open.push(opened);
  return opened;
}

function page(from: number, count: number): LocalRecord[] {
  return Array.from({ length: count }, (_, i) => ({ crmId: `C${from + i}`, changedAt: '2026-01-01T00:00:00.000Z', values: { n: from + i } }));
}

/**
 * Holds an exclusive lock on `table` from a separate connection, starts `write`, waits until the
 * store's connection is blocked on that lock (mid-transaction: BEGIN and the fence check done),
 * kills that backend with pg_terminate_backend, then releases the lock. Returns how `write` settled.
 */
async function killMidTransaction(applicationName: string, table: string, write: () => Promise<unknown>): Promise<unknown> {
  const locker = new pg.Client({ connectionString: pgUrl });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    const settled = write().then(
      () => undefined,
      (error: unknown) => error,
    );
    let pid: number | undefined;
    for (let i = 0; i < 200 && pid === undefined; i++) {
      const rows = await adminQuery<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [applicationName],
      );
      pid = rows[0]?.pid;
      if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(pid, 'the store connection should be waiting on the lock').toBeDefined();
    await adminQuery('SELECT pg_terminate_backend($1)', [pid]);
    return await settled;
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end();
  }
}

describe.skipIf(pgUrl === undefined)('faults against a real PostgreSQL', () => {
  it('a connection killed during an import page loses the whole page and its watermark, and the retry stores all of it', async () => {
    const s = await store('crm-sync-fault-import');
    await s.records.write('contacts', page(0, 10), { optionName: 'LASTIMPORT_default_contacts', value: 'first' });
    const error = await killMidTransaction('crm-sync-fault-import', `"${s.schema}"."contacts"`, () =>
      s.records.write('contacts', page(10, 2_000), { optionName: 'LASTIMPORT_default_contacts', value: 'second' }),
    );
    expect(error).toMatchObject({ code: 'connection-lost' });
    expect((error as Error).message).toMatch(/connection to PostgreSQL was lost.*nothing of it was stored/);
    expect(await s.records.countLocal('contacts')).toBe(10);
    expect((await s.options.getOption('LASTIMPORT_default_contacts'))?.value).toBe('first');
    // The pool dropped the dead connection: the same page now commits, watermark with it.
    await s.records.write('contacts', page(10, 2_000), { optionName: 'LASTIMPORT_default_contacts', value: 'second' });
    expect(await s.records.countLocal('contacts')).toBe(2_010);
    expect((await s.options.getOption('LASTIMPORT_default_contacts'))?.value).toBe('second');
  });

  it('a connection killed during a journal step leaves the step wholly unapplied; repeating it applies it once', async () => {
    const s = await store('crm-sync-fault-journal');
    const run = await s.journal.startRun('default/export');
    const entries = Array.from({ length: 500 }, (_, seq) => ({ seq, localKey: `k${seq}`, mode: 'upsert' as const, payload: { n: seq } }));
    await s.journal.addPending(run.runId, entries);
    const seqs = entries.map((entry) => entry.seq);
    const error = await killMidTransaction('crm-sync-fault-journal', `"${s.schema}"."journal_chunks"`, () => s.journal.markSent(run.runId, seqs, 'b1'));
    expect(error).toMatchObject({ code: 'connection-lost' });
    expect(await s.journal.countByState(run.runId)).toMatchObject({ pending: 500, sent: 0 });
    await s.journal.markSent(run.runId, seqs, 'b1');
    const sent = await s.journal.listEntries(run.runId, { states: ['sent'] });
    expect(sent).toHaveLength(500);
    expect(sent.every((entry) => entry.attempts === 1)).toBe(true);
  });

  it('a transaction whose session the server ends while it is idle (idle-in-transaction limit) fails as connection-lost, never as an uncaught error', async () => {
    const s = await store('crm-sync-fault-idle');
    const pool = new pg.Pool({ connectionString: pgUrl, max: 1, idle_in_transaction_session_timeout: 200 });
    pool.on('error', () => undefined);
    const db = new Database({ kind: 'pool', pool: pool, owned: true }, s.schema);
    try {
      const failed = await db
        .transaction('Test step', async (client) => {
          await client.query('SELECT 1');
          // Stopped between two statements longer than the limit: the server ends the session meanwhile.
          await new Promise((resolve) => setTimeout(resolve, 700));
          await client.query('SELECT 2');
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(failed).toMatchObject({ code: 'connection-lost' });
      // The broken client was discarded: the store goes on with a new one.
      expect(await db.query<{ n: number }>('Test read', 'SELECT 1 AS n')).toEqual([{ n: 1 }]);
    } finally {
      await db.end();
    }
  });

  it('retries a transaction that hit a serialization failure or a deadlock, and gives up with code serialization', async () => {
    const s = await store('crm-sync-fault-retry');
    const pool = new pg.Pool({ connectionString: pgUrl, max: 2 });
    const db = new Database({ kind: 'pool', pool: pool, owned: true }, s.schema);
    try {
      for (const state of ['40001', '40P01']) {
        let attempts = 0;
        const value = await db.transaction('Test step', async (client) => {
          attempts++;
          if (attempts < 3) await client.query(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '${state}'; END $$`);
          await client.query(`INSERT INTO "${s.schema}".options (name, value, updated_at) VALUES ($1, 'v', 'now')`, [`retry-${state}`]);
          return attempts;
        });
        expect(value).toBe(3);
        expect((await s.options.getOption(`retry-${state}`))?.value).toBe('v');
      }
      let always = 0;
      await expect(
        db.transaction('Always conflicting step', async (client) => {
          always++;
          await client.query(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$`);
        }),
      ).rejects.toMatchObject({ code: 'serialization', sqlState: '40001' });
      expect(always).toBe(TRANSACTION_RETRIES + 1);
    } finally {
      await db.end();
    }
  });

  it('a real deadlock between two writers is resolved: both commit (one after a retry)', async () => {
    const s = await store('crm-sync-fault-deadlock');
    await s.options.setOption('a', '0');
    await s.options.setOption('b', '0');
    const pool = new pg.Pool({ connectionString: pgUrl, max: 4 });
    const db = new Database({ kind: 'pool', pool: pool, owned: true }, s.schema);
    const t = `"${s.schema}".options`;
    let ready = 0;
    const both = new Promise<void>((resolve) => {
      const tick = (): void => {
        if (ready >= 2) resolve();
        else setTimeout(tick, 5);
      };
      tick();
    });
    const step = (first: string, second: string) =>
      db.transaction(`Deadlock ${first}`, async (client) => {
        await client.query(`UPDATE ${t} SET value = value || '+' WHERE name = $1`, [first]);
        ready++;
        await both;
        await client.query(`UPDATE ${t} SET value = value || '+' WHERE name = $1`, [second]);
      });
    try {
      await Promise.all([step('a', 'b'), step('b', 'a')]);
      expect((await s.options.getOption('a'))?.value).toBe('0++');
      expect((await s.options.getOption('b'))?.value).toBe('0++');
    } finally {
      await db.end();
    }
  });

  it('maps a unique violation to code constraint and writes nothing of the batch', async () => {
    const s = await store('crm-sync-fault-unique');
    await s.records.upsertLocal('contacts', 'C5', { local: true });
    await s.records.linkCrmIds('contacts', [{ key: 'C5', crmId: 'OTHER' }]);
    const error = await s.records.write('contacts', page(0, 10), { optionName: 'W', value: 'moved' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'constraint' });
    expect((error as Error).message).toMatch(/already has key "C5" linked to CRM id "OTHER"/);
    expect(await s.records.countLocal('contacts')).toBe(1);
    expect(await s.options.getOption('W')).toBeUndefined();
    // A raw unique violation from the server (SQLSTATE 23505) gets the same code.
    await s.journal.startRun('job');
    const raw = await adminQuery(`INSERT INTO "${s.schema}".journal_runs (run_id, job_id, status, started_at) VALUES ('x', 'job', 'open', 'now')`).catch((e: unknown) => e);
    expect(raw).toMatchObject({ code: '23505' });
    expect(toStoreError(raw, 'Inserting')).toMatchObject({ code: 'constraint', sqlState: '23505' });
    await expect(s.journal.startRun('job')).rejects.toMatchObject({ code: 'run-conflict' });
  });
});
