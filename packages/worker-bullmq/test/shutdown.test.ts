/**
 * Graceful shutdown: SIGTERM to a worker in the middle of an export stops it taking jobs; the
 * running export gets the grace period, then stops at a safe point and goes back on the queue; the
 * worker exits 0. Another worker finishes the export from the journal: every row once in the CRM,
 * nothing failed, no journal run left open.
 */
import { exportJobId } from '@crm-sync/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSyncJob, readWorkersStatus } from '../src/index.js';
import { emulatedAccount, exportJob, until, WorkerCluster, type EmulatedAccount } from './support/cluster.js';
import { buildForChildren, freshPrefix, freshStore, redisUrl, servicesUp } from './support/services.js';

const ROWS = 2_000;

describe.skipIf(!servicesUp)('graceful shutdown', () => {
  let account: EmulatedAccount | undefined;
  let cluster: WorkerCluster | undefined;
  beforeAll(() => buildForChildren(), 300_000);
  afterAll(async () => {
    await cluster?.stop();
    await account?.close();
  });

  it('hands a running job back at a safe point within the grace period; another worker finishes it', async () => {
    account = await emulatedAccount('term', 'salesforce', 200);
    const prefix = freshPrefix();
    const { store, url } = await freshStore();
    const { schema } = store;
    await store.records.upsertLocal('term_rows', 't-0', { last_name: 'T 0', email: 't0@x.test' });
    await store.pool.query(
      `INSERT INTO "${schema}".term_rows (key, data, local_changed_at)
       SELECT 't-' || i, jsonb_build_object('last_name', 'T ' || i, 'email', 't' || i || '@x.test'), $1 FROM generate_series(1, $2 - 1) AS i`,
      [new Date().toISOString(), ROWS],
    );
    cluster = new WorkerCluster({ redis: redisUrl, prefix, db: url, accounts: { term: account.settings }, concurrency: 1, graceMs: 300 });
    const first = await cluster.spawn();
    const job = exportJob(account, 'term_export', 'term_rows');
    await enqueueSyncJob({ account: 'term', jobKey: exportJobId(job), definition: job, activity: job.activity, operation: 'export' }, { redis: redisUrl!, prefix });
    await until(() => account!.crm.count('Contact') >= 25, 'the worker wrote', 60_000);
    const exited = new Promise<number | null>((done) => first.once('exit', (code) => done(code)));
    first.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(account.crm.count('Contact'), 'stopped before the end').toBeLessThan(ROWS);
    expect(cluster.events.find((event) => event.pid === first.pid)).toMatchObject({ outcome: 'requeue', error: 'aborted' });
    const handedBack = (await readWorkersStatus({ redis: redisUrl!, prefix })).queues[0]!;
    expect(handedBack.waiting + handedBack.delayed, 'the job is back on the queue').toBe(1);

    await cluster.spawn();
    await until(async () => (await readWorkersStatus({ redis: redisUrl!, prefix })).queues[0]!.completed === 1, 'another worker finished the job', 60_000);
    const keys = account.crm.records('Contact').map((record) => String(record.values['Sync_Key__c']));
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(ROWS);
    expect(await store.journal.findOpenRun(exportJobId(job))).toBeUndefined();
    expect((await readWorkersStatus({ redis: redisUrl!, prefix })).queues[0]).toMatchObject({ completed: 1, failed: 0 });
    await store.close();
  }, 120_000);
});
