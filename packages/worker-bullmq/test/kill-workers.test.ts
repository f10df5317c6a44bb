/**
 * Kill -9 across workers: three worker processes run exports and imports for a Salesforce org and
 * a Dataverse environment (emulators in this process, so the CRMs outlive every worker) while the
 * harness kills a random worker with SIGKILL and starts a new one, 20 times in `pnpm test`, 200
 * with CRM_SYNC_SOAK=1. BullMQ's stalled-job check hands each killed job to another worker, whose
 * run takes the dead run's lease over and resumes from the PostgreSQL journal / watermark.
 * Oracle: every BullMQ job completed (none lost, none failed), every local row exactly once in its
 * CRM by sync key, no export journal run left open, and a last import holds every CRM record.
 */
import { exportJobId } from '@crm-sync/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSyncJobs, readWorkersStatus, type WorkersStatus } from '../src/index.js';
import { emulatedAccount, exportJob, importJob, until, untilImportsCoverEveryRecord, WorkerCluster, type EmulatedAccount } from './support/cluster.js';
import { buildForChildren, freshPrefix, freshStore, redisUrl, servicesUp } from './support/services.js';

const SOAK = process.env['CRM_SYNC_SOAK'] === '1';
const KILLS = SOAK ? 200 : 20;
const ROWS = 100;
const EXPORTS_PER_ROUND = 2;

const finishedJobs = (status: WorkersStatus): number => status.queues.reduce((sum, queue) => sum + queue.completed + queue.failed, 0);

describe.skipIf(!servicesUp)('kill -9 across workers', () => {
  const accounts: EmulatedAccount[] = [];
  let cluster: WorkerCluster | undefined;

  beforeAll(() => buildForChildren(), 300_000);
  afterAll(async () => {
    await cluster?.stop();
    for (const account of accounts) await account.close();
  });

  it(`survives ${KILLS} kills of workers: no job lost or failed, no duplicate, no journal left open`, async () => {
    accounts.push(await emulatedAccount('org', 'salesforce', 20), await emulatedAccount('env', 'dynamics', 20));
    const prefix = freshPrefix();
    const { store, url, schema } = await freshStore();
    cluster = new WorkerCluster({ redis: redisUrl, prefix, db: url, accounts: Object.fromEntries(accounts.map((account) => [account.name, account.settings])) });
    await Promise.all([cluster.spawn({ concurrency: 2, lockDurationMs: 4_000, stalledIntervalMs: 1_500 }), cluster.spawn({ concurrency: 2, lockDurationMs: 4_000, stalledIntervalMs: 1_500 }), cluster.spawn({ concurrency: 2, lockDurationMs: 4_000, stalledIntervalMs: 1_500 })]);

    let queued = 0;
    let rows = 0;
    const exportKeys: string[] = [];
    const round = async (r: number): Promise<void> => {
      const jobs = [];
      for (const account of accounts) {
        for (let e = 0; e < EXPORTS_PER_ROUND; e += 1) {
          const table = `x_${account.name}_${r}_${e}`;
          await store.records.upsertLocal(table, `${table}-0`, { last_name: `K ${table} 0`, email: `k0@${account.name}.test` });
          await store.pool.query(
            `INSERT INTO "${schema}"."${table}" (key, data, local_changed_at)
             SELECT $1 || '-' || i, jsonb_build_object('last_name', 'K ' || $1 || ' ' || i, 'email', 'k' || i || '@' || $2 || '.test'), $3
             FROM generate_series(1, $4 - 1) AS i`,
            [table, account.name, new Date().toISOString(), ROWS],
          );
          const job = exportJob(account, `export_${account.name}_${r}_${e}`, table);
          exportKeys.push(exportJobId(job));
          rows += ROWS;
          jobs.push({ account, job });
        }
        jobs.push({ account, job: importJob(account, `import_${account.name}`, `imported_${account.name}`) });
      }
      await enqueueSyncJobs(jobs.map(({ account, job }) => ({ account: account.name, jobKey: exportJobId(job), definition: job, activity: job.activity, operation: job.kind })), { redis: redisUrl!, prefix });
      queued += jobs.length;
    };

    let kills = 0;
    let rounds = 0;
    await round(rounds++);
    const ready = new Set(cluster.children);
    const replace = (): void => {
      // A replacement may itself be killed before it is ready: that is one more kill, not an error.
      cluster!.spawn({ concurrency: 2, lockDurationMs: 4_000, stalledIntervalMs: 1_500 }).then((child) => ready.add(child), () => undefined);
    };
    while (kills < KILLS) {
      await new Promise((done) => setTimeout(done, 600 + Math.floor(Math.random() * 900)));
      const status = await readWorkersStatus({ redis: redisUrl!, prefix });
      // Keep work going: a new round before the queues run dry.
      if (status.queues.reduce((sum, queue) => sum + queue.waiting + queue.delayed, 0) < 2) await round(rounds++);
      // Any live worker, also one still starting, while at least one other serves.
      const victims = [...cluster.children].filter((child) => child.exitCode === null);
      if (victims.length < 2 || [...ready].filter((child) => child.exitCode === null).length < 1) continue;
      const victim = victims[Math.floor(Math.random() * victims.length)]!;
      ready.delete(victim);
      await cluster.kill(victim);
      kills += 1;
      replace();
      if (process.env['DEBUG_KILLS'] === '1') console.info(`kill ${kills} at ${Date.now() % 1_000_000}: queued ${queued}, finished ${finishedJobs(status)}, ${JSON.stringify(status.queues.map((q) => [q.active, q.waiting, q.delayed, q.completed, q.failed]))}`);
    }
    await until(async () => finishedJobs(await readWorkersStatus({ redis: redisUrl!, prefix })) >= queued, `all ${queued} jobs finished`, 120_000);
    // A last import per account, with no kill: it must hold every record of its CRM (once the
    // safety lag has passed the last export's writes).
    await untilImportsCoverEveryRecord(accounts);
    await enqueueSyncJobs(accounts.map((account) => {
      const job = importJob(account, `import_${account.name}`, `imported_${account.name}`);
      return { account: account.name, jobKey: exportJobId(job), definition: job, activity: job.activity, operation: job.kind };
    }), { redis: redisUrl!, prefix });
    queued += accounts.length;
    await until(async () => finishedJobs(await readWorkersStatus({ redis: redisUrl!, prefix })) >= queued, 'the last imports finished', 60_000);

    const status = await readWorkersStatus({ redis: redisUrl!, prefix });
    expect(status.queues.map((queue) => queue.failed), `failed jobs: ${cluster.stderr.join('').slice(-3000)}`).toEqual([0, 0]);
    for (const account of accounts) {
      const keys = account.crm.records(account.object).map((record) => String(record.values[account.syncKey]));
      expect(new Set(keys).size, `a sync key exists twice in ${account.name}`).toBe(keys.length);
      expect(await store.records.countLocal(`imported_${account.name}`), `records of ${account.name} missing from the last import`).toBe(keys.length);
    }
    expect(accounts.reduce((sum, account) => sum + account.crm.count(account.object), 0), 'exported rows lost').toBe(rows);
    for (const key of exportKeys) expect(await store.journal.findOpenRun(key), `journal of ${key} left open`).toBeUndefined();
    console.info(`[worker-bullmq] kill -9 across workers: ${kills} kills, ${queued} jobs (${exportKeys.length} exports of ${ROWS} rows, ${queued - exportKeys.length} imports) over ${rounds} rounds, 0 failed, 0 duplicates, 0 lost, no journal left open`);
    expect(kills).toBe(KILLS);
    await store.close();
  }, SOAK ? 3_600_000 : 240_000);
});
