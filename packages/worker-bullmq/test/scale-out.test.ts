/**
 * Three worker processes, thirty export jobs across three accounts (two Salesforce orgs and a
 * Dataverse environment, each on its emulator): every job runs once, and what lands in the CRMs
 * equals what one process running the same jobs one after the other produces.
 */
import { Orchestrator, exportJobId } from '@crm-sync/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSyncJob, readWorkersStatus } from '../src/index.js';
import { emulatedAccount, exportJob, until, WorkerCluster, type EmulatedAccount } from './support/cluster.js';
import { buildForChildren, freshPrefix, freshStore, redisUrl, servicesUp } from './support/services.js';

const ACCOUNTS = [['org-a', 'salesforce'], ['org-b', 'salesforce'], ['env-c', 'dynamics']] as const;
const JOBS_PER_ACCOUNT = 10;
const ROWS = 20;

/** What a CRM holds, in a form two CRMs can be compared by. */
function contents(account: EmulatedAccount): string[] {
  return account.crm.records(account.object).map((record) => `${String(record.values[account.syncKey])}|${String(record.values[account.lastName])}|${String(record.values[account.email])}`).sort();
}

async function seed(store: Awaited<ReturnType<typeof freshStore>>['store']): Promise<void> {
  for (const [account] of ACCOUNTS) {
    for (let job = 0; job < JOBS_PER_ACCOUNT; job += 1) {
      const table = `t_${account.replace('-', '_')}_${job}`;
      for (let row = 0; row < ROWS; row += 1) await store.records.upsertLocal(table, `${table}-${row}`, { last_name: `Name ${table} ${row}`, email: `r${row}@${account}.test` });
    }
  }
}

describe.skipIf(!servicesUp)('three workers, thirty jobs, three accounts', () => {
  const distributed: EmulatedAccount[] = [];
  const single: EmulatedAccount[] = [];
  let cluster: WorkerCluster | undefined;

  beforeAll(() => buildForChildren(), 300_000);
  afterAll(async () => {
    await cluster?.stop();
    for (const account of [...distributed, ...single]) await account.close();
  });

  it('runs every job once on the workers, with the same result as a single process', async () => {
    for (const [name, connector] of ACCOUNTS) {
      distributed.push(await emulatedAccount(name, connector));
      single.push(await emulatedAccount(name, connector));
    }
    const prefix = freshPrefix();
    const shared = await freshStore();
    await seed(shared.store);
    cluster = new WorkerCluster({
      redis: redisUrl, prefix, db: shared.url,
      accounts: Object.fromEntries(distributed.map((account) => [account.name, account.settings])),
    });
    await Promise.all([cluster.spawn(), cluster.spawn(), cluster.spawn()]);

    const jobs = ACCOUNTS.flatMap(([name], index) =>
      Array.from({ length: JOBS_PER_ACCOUNT }, (_, job) => ({ account: distributed[index]!, job: exportJob(distributed[index]!, `export_${name.replace('-', '_')}_${job}`, `t_${name.replace('-', '_')}_${job}`) })),
    );
    for (const { account, job } of jobs) await enqueueSyncJob({ account: account.name, jobKey: exportJobId(job), definition: job, activity: job.activity, operation: 'export' }, { redis: redisUrl!, prefix });
    const started = Date.now();
    // Done when BullMQ has marked them completed (the worker's event comes a moment before).
    let status = await readWorkersStatus({ redis: redisUrl!, prefix });
    await until(async () => {
      status = await readWorkersStatus({ redis: redisUrl!, prefix });
      return status.queues.reduce((sum, queue) => sum + queue.completed + queue.failed, 0) >= jobs.length;
    }, 'all 30 jobs finished', 90_000);
    console.info(`[worker-bullmq] 30 jobs on 3 workers: ${Date.now() - started} ms`);
    expect(status.queues.map((queue) => [queue.account, queue.completed, queue.failed])).toEqual([['env-c', 10, 0], ['org-a', 10, 0], ['org-b', 10, 0]]);
    expect(new Set(status.workers.map((worker) => worker.pid)).size).toBe(3);

    // Every job exactly once, in the run history the workers share.
    const runs = await shared.store.history.listRuns({ limit: 1_000 });
    expect(runs.filter((run) => run.status === 'succeeded').map((run) => run.jobId).sort()).toEqual(jobs.map(({ job }) => exportJobId(job)).sort());
    expect(new Set(cluster.events.filter((event) => event.outcome === 'succeeded').map((event) => event.pid)).size, 'the work was shared').toBeGreaterThan(1);

    const aloneStarted = Date.now();
    // The same jobs in one process, one after the other, on fresh emulators.
    const alone = await freshStore();
    await seed(alone.store);
    for (const { account, job } of jobs) {
      const emulated = single[distributed.indexOf(account)]!;
      const { SalesforceConnector } = await import('@crm-sync/connector-salesforce');
      const { DynamicsConnector } = await import('@crm-sync/connector-dynamics');
      const { loopbackNetworkClient } = await import('@crm-sync/connector-dynamics/emulator');
      const settings = emulated.settings as { url: string; token: string; config: Record<string, unknown> };
      const connector = emulated.connector === 'salesforce'
        ? new SalesforceConnector({ instanceUrl: settings.url, auth: { kind: 'access-token', accessToken: settings.token } })
        : new DynamicsConnector({ ...(settings.config as unknown as ConstructorParameters<typeof DynamicsConnector>[0]), networkClient: loopbackNetworkClient() });
      const orchestrator = new Orchestrator({ connector, options: alone.store.options, journal: alone.store.journal, sink: alone.store.records, source: alone.store.records, leases: alone.store.leases });
      (await orchestrator.runExport({ ...job, object: emulated.object, syncKey: { remoteField: emulated.syncKey } }))._unsafeUnwrap();
      await connector.close?.();
    }
    console.info(`[worker-bullmq] 30 jobs in one process: ${Date.now() - aloneStarted} ms`);
    for (let index = 0; index < ACCOUNTS.length; index += 1) {
      expect(contents(distributed[index]!)).toEqual(contents(single[index]!));
      expect(contents(distributed[index]!)).toHaveLength(JOBS_PER_ACCOUNT * ROWS);
    }
    await shared.store.close();
    await alone.store.close();
  }, 150_000);
});
