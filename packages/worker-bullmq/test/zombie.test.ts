/**
 * A zombie worker: a worker process paused with SIGSTOP in the middle of an export, past its lease
 * TTL and its BullMQ lock. Another worker is handed the stalled job, takes the lease over and
 * finishes the export. When the paused worker is resumed (SIGCONT) it changes nothing: not the
 * journal, not the local rows, not the CRM's records; its run stops with lease-lost, and the CRM
 * holds every row once. (A request it had already handed to its HTTP client before the pause may
 * still go out: an upsert by sync key of the same values, which changes nothing.)
 */
import { exportJobId } from '@crm-sync/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSyncJob, readWorkersStatus } from '../src/index.js';
import { emulatedAccount, exportJob, until, WorkerCluster, type EmulatedAccount } from './support/cluster.js';
import { buildForChildren, freshPrefix, freshStore, redisUrl, servicesUp } from './support/services.js';

const ROWS = 400;
const TTL_MS = 1_500;

describe.skipIf(!servicesUp)('a zombie worker', () => {
  let account: EmulatedAccount | undefined;
  let cluster: WorkerCluster | undefined;
  beforeAll(() => buildForChildren(), 300_000);
  afterAll(async () => {
    await cluster?.stop();
    await account?.close();
  });

  it('cannot write after another worker took its job over', async () => {
    account = await emulatedAccount('zorg', 'salesforce', 100);
    const prefix = freshPrefix();
    const { store, url } = await freshStore();
    for (let row = 0; row < ROWS; row += 1) await store.records.upsertLocal('zombie_rows', `z-${row}`, { last_name: `Z ${row}`, email: `z${row}@x.test` });
    const timing = { leaseTtlMs: TTL_MS, lockDurationMs: TTL_MS, stalledIntervalMs: 500, concurrency: 1 };
    cluster = new WorkerCluster({ redis: redisUrl, prefix, db: url, accounts: { zorg: account.settings }, ...timing });
    const zombie = await cluster.spawn();
    const job = exportJob(account, 'zombie_export', 'zombie_rows');
    await enqueueSyncJob({ account: 'zorg', jobKey: exportJobId(job), definition: job, activity: job.activity, operation: 'export' }, { redis: redisUrl!, prefix });
    await until(() => account!.crm.count('Contact') >= 50, 'the first worker wrote', 60_000);
    zombie.kill('SIGSTOP');
    const snapshot = async () => {
      const runs = await store.journal.listRuns(exportJobId(job));
      const counts = await Promise.all(runs.map((run) => store.journal.countByState(run.runId)));
      const rows = [];
      for await (const batch of store.records.read('zombie_rows')) rows.push(...batch.map((row) => [row.key, row.crmId]));
      const crm = account!.crm.records('Contact').map((record) => [record.id, record.values['Sync_Key__c'], record.values['LastName'], record.values['Email']]).sort();
      return { runs, counts, rows, crm };
    };
    await cluster.spawn();
    await until(async () => (await readWorkersStatus({ redis: redisUrl!, prefix })).queues[0]!.completed === 1, 'the second worker finished the job', 60_000);
    const before = await snapshot();
    zombie.kill('SIGCONT');
    await until(() => cluster!.events.some((event) => event.pid === zombie.pid), 'the resumed worker ended its run', 30_000);
    await new Promise((done) => setTimeout(done, 1_000));

    expect(await snapshot(), 'the resumed zombie changed something').toEqual(before);
    expect(cluster.events.find((event) => event.pid === zombie.pid)).toMatchObject({ outcome: 'retry', error: 'lease-lost' });
    const keys = account.crm.records('Contact').map((record) => String(record.values['Sync_Key__c']));
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(ROWS);
    expect(await store.journal.findOpenRun(exportJobId(job))).toBeUndefined();
    const status = await readWorkersStatus({ redis: redisUrl!, prefix });
    expect(status.queues[0]).toMatchObject({ completed: 1, failed: 0 });
    await store.close();
  }, 150_000);
});
