// Whole runs on the PostgreSQL store while the server kills the store's connection mid-transaction
// (pg_terminate_backend from the test): during an import page and during an export journal step.
// The run fails cleanly (a store error), the watermark never moves past records that did not
// commit, and running again loses nothing and duplicates nothing.
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InMemoryCrm, ManualClock, MockConnector } from '@crm-sync/connector-mock';
import { Orchestrator, type ExportJob, type ImportJob } from '@crm-sync/sdk';
import type { PostgresStore } from '../src/index.js';
import { adminQuery, openTestStore, pgUrl } from './helpers.js';

const open: PostgresStore[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
});

const IMPORT: ImportJob = {
  kind: 'import',
  activity: 'importContacts',
  object: 'contact',
  table: 'contacts',
  fields: [
    { remote: 'lastName', local: 'last_name' },
    { remote: 'email', local: 'email' },
  ],
  automaticIndex: { enabled: true, safetyLagMs: 1000 },
  pageSize: 2_000,
};

const EXPORT: ExportJob = {
  kind: 'export',
  activity: 'exportContacts',
  object: 'contact',
  table: 'people',
  mode: 'upsert',
  syncKey: { remoteField: 'externalKey' },
  fields: [
    { local: 'last_name', remote: 'lastName' },
    { local: 'email', remote: 'email' },
  ],
};

/**
 * Locks `table` from another connection once `armed()` says so, waits for the store's connection
 * to block on it (inside a transaction), terminates that backend, and releases the lock.
 */
async function terminateWhenBlocked(applicationName: string, table: string, armed: () => boolean, onLocked: () => void = () => undefined): Promise<boolean> {
  while (!armed()) await new Promise((resolve) => setTimeout(resolve, 2));
  const locker = new pg.Client({ connectionString: pgUrl });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    onLocked();
    for (let i = 0; i < 400; i++) {
      const rows = await adminQuery<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [applicationName]);
      if (rows[0] !== undefined) {
        await adminQuery('SELECT pg_terminate_backend($1)', [rows[0].pid]);
        return true;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return false;
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end();
  }
}

describe.skipIf(pgUrl === undefined)('runs on PostgreSQL with the connection killed mid-transaction', () => {
  it('import: a page cut off fails the run, the watermark stays behind it, the next run imports everything exactly once', async () => {
    const clock = new ManualClock();
    const crm = new InMemoryCrm({ clock });
    for (let i = 0; i < 6_000; i++) {
      crm.insert('contact', { lastName: `L${i}`, email: `c${i}@example.test` });
      if (i % 500 === 0) clock.advance(1_000);
    }
    clock.advance(60_000);
    const store = await openTestStore({ applicationName: 'crm-sync-run-fault-import' });
    open.push(store);
    const orchestrator = new Orchestrator({ connector: new MockConnector(crm), options: store.options, journal: store.journal, sink: store.records, source: store.records, leases: store.leases });
    // The second page's write (the first one is committed by then: one write at a time) waits
    // until the table is locked, so the kill hits its transaction however fast the pages go.
    let secondPage = false;
    let lockHeld!: () => void;
    const locked = new Promise<void>((resolve) => {
      lockHeld = resolve;
    });
    const write = store.records.write.bind(store.records);
    let writes = 0;
    const gate = vi.spyOn(store.records, 'write').mockImplementation(async (...args) => {
      writes += 1;
      if (writes === 2) {
        expect(await store.records.countLocal('contacts')).toBe(2_000);
        secondPage = true;
        await locked;
      }
      return write(...args);
    });
    const killed = terminateWhenBlocked('crm-sync-run-fault-import', `"${store.schema}"."contacts"`, () => secondPage, lockHeld);
    const failed = await orchestrator.runImport(IMPORT);
    gate.mockRestore();
    expect(await killed).toBe(true);
    expect(failed.isErr()).toBe(true);
    expect(failed._unsafeUnwrapErr()).toMatchObject({ kind: 'store' });
    expect(failed._unsafeUnwrapErr().message).toMatch(/connection to PostgreSQL was lost/);
    const count = await store.records.countLocal('contacts');
    expect(count % 2_000, 'only whole pages committed').toBe(0);
    expect(count).toBeLessThan(6_000);
    // The watermark names the last committed record at most: its meta instant is not past the newest row's change time.
    const watermark = await store.options.getOption('LASTIMPORT_default_importContacts');
    const rows = await adminQuery<{ max: string | null }>(`SELECT max(crm_changed_at) AS max FROM "${store.schema}".contacts`);
    if (watermark?.meta?.['at'] !== undefined) expect(String(watermark.meta['at']) <= String(rows[0]!.max)).toBe(true);

    const again = (await orchestrator.runImport(IMPORT))._unsafeUnwrap();
    expect(again.read).toBeGreaterThan(0);
    expect(await store.records.countLocal('contacts')).toBe(6_000);
    const distinct = await adminQuery<{ n: string }>(`SELECT count(DISTINCT crm_id) AS n FROM "${store.schema}".contacts`);
    expect(Number(distinct[0]!.n)).toBe(6_000);
  });

  it('export: a journal step cut off fails the run; resuming sends every record exactly once', async () => {
    const crm = new InMemoryCrm({ clock: new ManualClock() });
    const store = await openTestStore({ applicationName: 'crm-sync-run-fault-export' });
    open.push(store);
    await store.records.upsertLocal('people', 'k00000', { last_name: 'P0', email: 'p0@example.test' });
    await store.pool.query(
      `INSERT INTO "${store.schema}".people (key, data, local_changed_at)
       SELECT 'k' || lpad(i::text, 5, '0'), jsonb_build_object('last_name', 'P' || i, 'email', 'p' || i || '@example.test'), $1
       FROM generate_series(1, 2999) AS i`,
      [new Date().toISOString()],
    );
    // Small batches answered after 10 ms: the export takes several send windows (8 batches of
    // 50), so the lock below lands while most records are still to be sent, however fast the
    // journal's steps are (concurrent steps are written together).
    const connector = new MockConnector(crm, { latencyMs: 10 });
    const orchestrator = new Orchestrator({ connector, options: store.options, journal: store.journal, sink: store.records, source: store.records, leases: store.leases });
    // Arm once some records reached the CRM: the kill hits a later journal transaction.
    const killed = terminateWhenBlocked('crm-sync-run-fault-export', `"${store.schema}"."journal_chunks"`, () => crm.count('contact') >= 400);
    const failed = await orchestrator.runExport({ ...EXPORT, batchSize: 50 });
    expect(await killed).toBe(true);
    expect(failed.isErr()).toBe(true);
    expect(failed._unsafeUnwrapErr()).toMatchObject({ kind: 'store' });
    expect(crm.count('contact')).toBeLessThan(3_000);
    const open1 = await store.journal.findOpenRun('default/exportContacts');
    expect(open1, 'the interrupted run stays open to resume').toBeDefined();

    const resumed = (await orchestrator.runExport({ ...EXPORT, batchSize: 50 }))._unsafeUnwrap();
    expect(resumed.rejected).toBe(0);
    const keys = crm.records('contact').map((record) => String(record.values['externalKey']));
    expect(keys).toHaveLength(3_000);
    expect(new Set(keys).size).toBe(3_000);
    expect(await store.journal.findOpenRun('default/exportContacts')).toBeUndefined();
  });
});
