/**
 * A worker's capacity: two worker processes of capacity 1 (and concurrency 4 per account) serving
 * two accounts run no two jobs at once in one process, and a process at capacity leaves the
 * waiting jobs to the other, so both share the work.
 */
import { exportJobId } from '@crm-sync/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSyncJobs, readWorkersStatus } from '../src/index.js';
import { emulatedAccount, exportJob, until, WorkerCluster, type EmulatedAccount } from './support/cluster.js';
import { buildForChildren, freshPrefix, freshStore, redisUrl, servicesUp } from './support/services.js';

const JOBS_PER_ACCOUNT = 4;
const ROWS = 50;

describe.skipIf(!servicesUp)('a worker process with a capacity', () => {
  const accounts: EmulatedAccount[] = [];
  let cluster: WorkerCluster | undefined;

  beforeAll(() => buildForChildren(), 300_000);
  afterAll(async () => {
    await cluster?.stop();
    for (const account of accounts) await account.close();
  });

  it('runs at most that many jobs at once over all its accounts, leaving the rest to other workers', async () => {
    accounts.push(await emulatedAccount('cap-a', 'salesforce', 10), await emulatedAccount('cap-b', 'salesforce', 10));
    const prefix = freshPrefix();
    const { store, url } = await freshStore();
    cluster = new WorkerCluster({ redis: redisUrl, prefix, db: url, accounts: Object.fromEntries(accounts.map((account) => [account.name, account.settings])) });
    await Promise.all([cluster.spawn({ concurrency: 4, capacity: 1 }), cluster.spawn({ concurrency: 4, capacity: 1 })]);

    const jobs = [];
    for (const account of accounts) {
      for (let j = 0; j < JOBS_PER_ACCOUNT; j += 1) {
        const table = `c_${account.name.replace('-', '_')}_${j}`;
        for (let row = 0; row < ROWS; row += 1) await store.records.upsertLocal(table, `${table}-${row}`, { last_name: `Cap ${table} ${row}`, email: `c${row}@${account.name}.test` });
        const job = exportJob(account, `export_${account.name.replace('-', '_')}_${j}`, table);
        jobs.push({ account: account.name, jobKey: exportJobId(job), definition: job, activity: job.activity, operation: job.kind });
      }
    }
    await enqueueSyncJobs(jobs, { redis: redisUrl!, prefix });
    await until(async () => (await readWorkersStatus({ redis: redisUrl!, prefix })).queues.reduce((sum, queue) => sum + queue.completed + queue.failed, 0) >= jobs.length, `all ${jobs.length} jobs finished`, 90_000);

    const runs = (await store.history.listRuns({ limit: 100 })).filter((run) => run.status === 'succeeded');
    expect(runs).toHaveLength(jobs.length);
    const pids = new Set(runs.map((run) => run.pid));
    expect(pids.size, 'both workers ran jobs').toBe(2);
    for (const pid of pids) {
      const spans = runs.filter((run) => run.pid === pid).map((run) => [Date.parse(run.startedAt), Date.parse(run.endedAt!)] as const).sort((x, y) => x[0] - y[0]);
      for (let index = 1; index < spans.length; index += 1) {
        expect(spans[index]![0], `worker ${pid} started a run while another of its runs was going`).toBeGreaterThanOrEqual(spans[index - 1]![1]);
      }
    }
    await store.close();
  }, 150_000);
});

