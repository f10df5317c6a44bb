/**
 * `enqueue --wait` reads a job and then its state. A job that completes (or fails) between the two
 * reads must still be reported with its return value (or its failure reason), never crash on the
 * stale copy read before it ended. The race is made certain here: the job is completed (or failed)
 * by a real BullMQ worker token right inside the first `getState` call.
 */
import { Job, Queue, Worker } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { accountQueueName, waitForSyncJob } from '../src/index.js';
import { redisOptions } from '../src/redis-connection.js';
import { freshPrefix, redisUrl, servicesUp } from './support/services.js';

describe.skipIf(!servicesUp)('waiting for a job that ends between its read and its state', () => {
  afterEach(() => vi.restoreAllMocks());

  async function activeJob(account: string): Promise<{ prefix: string; job: Job; token: string; close: () => Promise<void> }> {
    const prefix = freshPrefix();
    const connection = redisOptions(redisUrl!);
    const queue = new Queue(accountQueueName(account), { connection, prefix });
    await queue.add('k', { version: 1, account, jobKey: 'k', definition: 'x' });
    const worker = new Worker(accountQueueName(account), null, { connection, prefix, autorun: false });
    const token = 'test-token';
    const job = (await worker.getNextJob(token)) as Job;
    expect(job).toBeDefined();
    return { prefix, job, token, close: async () => { await worker.close(); await queue.close(); } };
  }

  it('reports the return value of a job that completed in between', async () => {
    const { prefix, job, token, close } = await activeJob('wait-a');
    const getState = Job.prototype.getState;
    let first = true;
    vi.spyOn(Job.prototype, 'getState').mockImplementation(async function (this: Job) {
      if (first) {
        first = false;
        await job.moveToCompleted({ worker: 'w-1', historyRunId: 'run-1' }, token, false);
      }
      return getState.call(this);
    });
    const waited = await waitForSyncJob('wait-a', job.id!, { redis: redisUrl!, prefix });
    expect(waited).toEqual({ ok: true, bullJobId: job.id, worker: 'w-1', historyRunId: 'run-1' });
    await close();
  });

  it('reports the failure reason of a job that failed in between', async () => {
    const { prefix, job, token, close } = await activeJob('wait-b');
    const getState = Job.prototype.getState;
    let first = true;
    vi.spyOn(Job.prototype, 'getState').mockImplementation(async function (this: Job) {
      if (first) {
        first = false;
        await job.moveToFailed(new Error('auth refused'), token, false);
      }
      return getState.call(this);
    });
    const waited = await waitForSyncJob('wait-b', job.id!, { redis: redisUrl!, prefix });
    expect(waited).toMatchObject({ ok: false, bullJobId: job.id, message: 'auth refused', exitCode: 1 });
    await close();
  });
});
