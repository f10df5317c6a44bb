/**
 * A 429 storm on one account, two workers (in this process, each with its own Redis connections,
 * so what they share goes through Redis): after the emulator answered a 429 with Retry-After, no
 * worker sends that account a request until the wait is over (read from the emulator's request
 * log), while the other account's jobs keep finishing during the pause.
 */
import { exportJobId, type CrmConnector, type SyncJob } from '@crm-sync/sdk';
import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { ok } from 'neverthrow';
import { afterAll, describe, expect, it } from 'vitest';
import { enqueueSyncJobs, readWorkersStatus, startSyncWorker, type SyncWorker } from '../src/index.js';
import { emulatedAccount, exportJob, until, type EmulatedAccount } from './support/cluster.js';
import { freshPrefix, freshStore, redisUrl, servicesUp } from './support/services.js';

const RETRY_AFTER_S = 3;
const ROWS = 300;
/**
 * A request that passed its worker's pause check before the 429 was answered is already on its way
 * and may arrive just after it (on this loaded 2-core machine, up to a few hundred ms); none may
 * arrive after that, until the wait is over.
 */
const IN_FLIGHT_SLACK_MS = 600;

describe.skipIf(!servicesUp)('a 429 storm on one account', () => {
  const accounts: EmulatedAccount[] = [];
  const workers: SyncWorker[] = [];
  afterAll(async () => {
    for (const worker of workers) await worker.close(1_000);
    for (const account of accounts) await account.close();
  });

  it('pauses that account on every worker for the Retry-After time; the other account keeps finishing', async () => {
    const stormy = await emulatedAccount('stormy', 'salesforce', 10);
    const calm = await emulatedAccount('calm', 'salesforce', 10);
    accounts.push(stormy, calm);
    const prefix = freshPrefix();
    const { store } = await freshStore();
    const connectorOf = (name: string): CrmConnector => {
      const settings = (name === 'stormy' ? stormy : calm).settings as { url: string; token: string };
      return new SalesforceConnector({ instanceUrl: settings.url, auth: { kind: 'access-token', accessToken: settings.token } });
    };
    for (let w = 0; w < 2; w += 1) {
      workers.push(await startSyncWorker({
        redis: redisUrl!, prefix, store, concurrency: 2, leaseTtlMs: 10_000,
        accounts: [{ name: 'stormy', connector: 'salesforce' }, { name: 'calm', connector: 'salesforce' }],
        prepareRun: async (payload) => ok({ job: payload.definition as SyncJob, connector: connectorOf(payload.account), close: async () => undefined }),
      }));
    }
    const jobs = [];
    for (const account of accounts) {
      for (let j = 0; j < 4; j += 1) {
        const table = `rl_${account.name}_${j}`;
        for (let row = 0; row < ROWS; row += 1) await store.records.upsertLocal(table, `${table}-${row}`, { last_name: `R ${row}`, email: `r${row}@x.test` });
        const job = exportJob(account, `rl_${account.name}_${j}`, table);
        jobs.push({ account: account.name, jobKey: exportJobId(job), definition: job, activity: job.activity, operation: 'export' as const });
      }
    }
    // Three 429s on the stormy account's writes, spread out; the calm one is never limited.
    stormy.salesforce!.faults.add({ kind: 'rate-limit', route: 'collections', retryAfter: String(RETRY_AFTER_S), times: 3, probability: 0.1 });
    await enqueueSyncJobs(jobs, { redis: redisUrl!, prefix });
    let sawPause = false;
    await until(async () => {
      const status = await readWorkersStatus({ redis: redisUrl!, prefix });
      if (status.queues.find((queue) => queue.account === 'stormy')?.pausedUntil !== undefined) sawPause = true;
      return status.queues.reduce((sum, queue) => sum + queue.completed + queue.failed, 0) >= jobs.length;
    }, 'all jobs finished', 90_000);

    const log = stormy.salesforce!.requestLog;
    const limited = log.filter((entry) => entry.status === 429);
    expect(limited.length, 'the storm happened').toBeGreaterThan(0);
    expect(sawPause, 'workers status showed the pause').toBe(true);
    for (const hit of limited) {
      const start = Date.parse(hit.at) + IN_FLIGHT_SLACK_MS;
      const end = Date.parse(hit.at) + RETRY_AFTER_S * 1_000;
      const inside = log.filter((entry) => entry.route !== 'token' && Date.parse(entry.at) > start && Date.parse(entry.at) < end);
      expect(inside.map((entry) => `${entry.at} ${entry.method} ${entry.path}`), `requests to the stormy account inside the Retry-After window after ${hit.at}`).toEqual([]);
      // The calm account kept working during that window.
      const calmInside = calm.salesforce!.requestLog.filter((entry) => Date.parse(entry.at) > start && Date.parse(entry.at) < end);
      expect(calmInside.length + Number(calm.crm.count('Contact') === 4 * ROWS), 'the calm account worked during the pause (or was already done)').toBeGreaterThan(0);
    }
    const status = await readWorkersStatus({ redis: redisUrl!, prefix });
    expect(status.queues.map((queue) => [queue.account, queue.completed, queue.failed])).toEqual([['calm', 4, 0], ['stormy', 4, 0]]);
    expect(stormy.crm.count('Contact')).toBe(4 * ROWS);
    expect(calm.crm.count('Contact')).toBe(4 * ROWS);
    await store.close();
  }, 120_000);
});
