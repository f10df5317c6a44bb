/**
 * A 1-second schedule with three workers fires once per period: the runs in the run history are
 * exactly the scheduler's firings (one BullMQ job each, each run once), and there are no more of
 * them than periods that passed.
 */
import { exportJobId, type CrmConnector, type SyncJob } from '@crm-sync/sdk';
import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { ok } from 'neverthrow';
import { afterAll, describe, expect, it } from 'vitest';
import { readWorkersStatus, removeSchedule, startSyncWorker, upsertSchedule, type SyncWorker } from '../src/index.js';
import { emulatedAccount, importJob, until, type EmulatedAccount } from './support/cluster.js';
import { freshPrefix, freshStore, redisUrl, servicesUp } from './support/services.js';

describe.skipIf(!servicesUp)('schedules', () => {
  const workers: SyncWorker[] = [];
  let account: EmulatedAccount | undefined;
  afterAll(async () => {
    for (const worker of workers) await worker.close(1_000);
    await account?.close();
  });

  it('fire once per period however many workers run', async () => {
    account = await emulatedAccount('sched', 'salesforce', 2);
    const prefix = freshPrefix();
    const { store } = await freshStore();
    const settings = account.settings as { url: string; token: string };
    const connector = (): CrmConnector => new SalesforceConnector({ instanceUrl: settings.url, auth: { kind: 'access-token', accessToken: settings.token } });
    for (let w = 0; w < 3; w += 1) {
      workers.push(await startSyncWorker({
        redis: redisUrl!, prefix, store, leaseTtlMs: 5_000,
        accounts: [{ name: 'sched', connector: 'salesforce' }],
        prepareRun: async (payload) => ok({ job: payload.definition as SyncJob, connector: connector(), close: async () => undefined }),
      }));
    }
    const job = importJob(account, 'scheduled_import', 'scheduled');
    const started = Date.now();
    await upsertSchedule('every-second', { account: 'sched', jobKey: exportJobId(job), definition: job, activity: job.activity, operation: 'import' }, { every: 1_000 }, { redis: redisUrl!, prefix });
    const listed = await readWorkersStatus({ redis: redisUrl!, prefix });
    expect(listed.schedules).toMatchObject([{ id: 'every-second', queue: 'account.sched', job: exportJobId(job), every: 1_000 }]);
    await until(async () => (await readWorkersStatus({ redis: redisUrl!, prefix })).queues[0]!.completed >= 4, 'four firings ran', 60_000);
    expect(await removeSchedule('every-second', { redis: redisUrl!, prefix })).toBe(true);
    const periods = Math.ceil((Date.now() - started) / 1_000) + 1;
    // Let a firing that was already queued finish.
    await until(async () => {
      const queue = (await readWorkersStatus({ redis: redisUrl!, prefix })).queues[0]!;
      return queue.waiting + queue.active + queue.delayed === 0;
    }, 'the queue drained', 30_000);
    const status = await readWorkersStatus({ redis: redisUrl!, prefix });
    const firings = status.queues[0]!.completed + status.queues[0]!.failed;
    const runs = await store.history.listRuns({ jobId: exportJobId(job), limit: 1_000 });
    expect(status.schedules).toEqual([]);
    expect(status.queues[0]!.failed).toBe(0);
    expect(runs.filter((run) => run.status === 'succeeded'), 'one run per firing').toHaveLength(firings);
    expect(firings, `no more firings than the ${periods} periods that passed`).toBeLessThanOrEqual(periods);
    await store.close();
  }, 90_000);
});
