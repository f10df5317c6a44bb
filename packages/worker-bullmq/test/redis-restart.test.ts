/**
 * Redis restart during a run: two worker processes run exports and imports for a Salesforce org and
 * a Dataverse environment (emulators in this process) against a private `redis-server` of this test
 * (never the shared one), with an append-only file fsynced on every write, as a deployment keeps its
 * Redis data. Mid-run the harness kills Redis with SIGKILL, waits, and starts it again on the same
 * port from the same data directory. Oracle: every BullMQ job completed (none lost, none failed),
 * every local row exactly once in its CRM by sync key and linked to it, no export journal run left
 * open, a last import holds every CRM record, and the run history holds exactly one successful run
 * per queued job (none run twice to success).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJobId } from '@crm-sync/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { accountQueueName, enqueueSyncJobs, readWorkersStatus } from '../src/index.js';
import { emulatedAccount, exportJob, importJob, until, untilImportsCoverEveryRecord, WorkerCluster, type EmulatedAccount } from './support/cluster.js';
import { buildForChildren, freshStore, pgUrl } from './support/services.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const redisInstalled = spawnSync(REDIS_SERVER, ['--version']).status === 0;
if (!redisInstalled) {
  const message = `[worker-bullmq] redis-restart: ${REDIS_SERVER} is not installed; skipping the Redis restart test (apt-get install redis-server)`;
  if (process.env['CRM_SYNC_REQUIRE_SERVICES'] === '1') throw new Error(`${message}, but CRM_SYNC_REQUIRE_SERVICES=1`);
  console.info(message);
}
// PostgreSQL: `pgUrl` is undefined (one line printed) when unreachable; CRM_SYNC_REQUIRE_SERVICES=1 fails.
const up = redisInstalled && pgUrl !== undefined;

const ROWS = 150;
const EXPORTS_PER_ACCOUNT = 2;
const DOWN_MS = 3_000;

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** A private redis-server keeping its data in `dir` (AOF, fsync on every write), or no data at all. */
class PrivateRedis {
  private process: ChildProcess | undefined;
  readonly url: string;
  constructor(readonly port: number, readonly dir: string, readonly persist = true) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const child = spawn(REDIS_SERVER, ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', this.persist ? 'yes' : 'no', '--appendfsync', 'always', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    await new Promise<void>((ready, fail) => {
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          ready();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.resume();
      child.once('exit', (code) => fail(new Error(`redis-server on port ${this.port} exited (${code}) before it was ready: ${output.slice(-1000)}`)));
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((done) => child.once('exit', done));
    child.kill(signal);
    await gone;
    this.process = undefined;
  }
}

describe.skipIf(!up)('Redis restart during a run', () => {
  const accounts: EmulatedAccount[] = [];
  let cluster: WorkerCluster | undefined;
  let redis: PrivateRedis | undefined;
  let bare: PrivateRedis | undefined;

  beforeAll(() => buildForChildren(), 300_000);
  afterAll(async () => {
    await cluster?.stop();
    for (const server of [redis, bare]) {
      await server?.kill();
      if (server !== undefined) rmSync(server.dir, { recursive: true, force: true });
    }
    for (const account of accounts) await account.close();
  });

  it('workers reconnect after Redis is killed and restarted: no job lost, failed or run twice', async () => {
    redis = new PrivateRedis(await freePort(), mkdtempSync(join(tmpdir(), 'crm-sync-redis-restart-')));
    await redis.start();
    accounts.push(await emulatedAccount('org', 'salesforce', 20), await emulatedAccount('env', 'dynamics', 20));
    const prefix = 't-wb-restart';
    const { store, url, schema } = await freshStore();
    cluster = new WorkerCluster({ redis: redis.url, prefix, db: url, accounts: Object.fromEntries(accounts.map((account) => [account.name, account.settings])) });
    const workerOptions = { concurrency: 2, lockDurationMs: 4_000, stalledIntervalMs: 1_500 };
    await Promise.all([cluster.spawn(workerOptions), cluster.spawn(workerOptions)]);

    let rows = 0;
    const exportKeys: string[] = [];
    const queuedKeys: string[] = [];
    const enqueue = async (jobs: { account: EmulatedAccount; job: ReturnType<typeof exportJob> | ReturnType<typeof importJob> }[]): Promise<void> => {
      await enqueueSyncJobs(jobs.map(({ account, job }) => ({ account: account.name, jobKey: exportJobId(job), definition: job, activity: job.activity, operation: job.kind })), { redis: redis!.url, prefix });
      queuedKeys.push(...jobs.map(({ job }) => exportJobId(job)));
    };
    const jobs = [];
    for (const account of accounts) {
      for (let e = 0; e < EXPORTS_PER_ACCOUNT; e += 1) {
        const table = `x_${account.name}_${e}`;
        await store.records.upsertLocal(table, `${table}-0`, { last_name: `R ${table} 0`, email: `r0@${account.name}.test` });
        await store.pool.query(
          `INSERT INTO "${schema}"."${table}" (key, data, local_changed_at)
           SELECT $1 || '-' || i, jsonb_build_object('last_name', 'R ' || $1 || ' ' || i, 'email', 'r' || i || '@' || $2 || '.test'), $3
           FROM generate_series(1, $4 - 1) AS i`,
          [table, account.name, new Date().toISOString(), ROWS],
        );
        const job = exportJob(account, `export_${account.name}_${e}`, table);
        exportKeys.push(exportJobId(job));
        rows += ROWS;
        jobs.push({ account, job });
      }
      jobs.push({ account, job: importJob(account, `import_${account.name}`, `imported_${account.name}`) });
    }
    await enqueue(jobs);

    // Mid-run: the exports have started writing to the CRMs, and are far from done.
    const created = (): number => accounts.reduce((sum, account) => sum + account.crm.count(account.object), 0);
    await until(() => created() >= 40, 'the exports started writing', 30_000);
    const atKill = created();
    await redis.kill('SIGKILL');
    await new Promise((done) => setTimeout(done, DOWN_MS));
    await redis.start();
    console.info(`[worker-bullmq] redis-restart: Redis killed with ${atKill} of ${rows} rows in the CRMs, down ${DOWN_MS} ms, restarted from its AOF`);

    const finished = async (): Promise<number> => (await readWorkersStatus({ redis: redis!.url, prefix })).queues.reduce((sum, queue) => sum + queue.completed + queue.failed, 0);
    await until(async () => (await finished()) >= queuedKeys.length, `all ${queuedKeys.length} jobs finished`, 25_000);
    // A last import per account, once the safety lag has passed the exports' writes.
    await untilImportsCoverEveryRecord(accounts);
    await enqueue(accounts.map((account) => ({ account, job: importJob(account, `import_${account.name}`, `imported_${account.name}`) })));
    await until(async () => (await finished()) >= queuedKeys.length, 'the last imports finished', 15_000);

    const status = await readWorkersStatus({ redis: redis.url, prefix });
    expect(status.queues.map((queue) => queue.failed), `failed jobs: ${cluster.stderr.join('').slice(-3000)}`).toEqual([0, 0]);
    expect(status.queues.reduce((sum, queue) => sum + queue.completed, 0), 'completed jobs').toBe(queuedKeys.length);
    expect(status.queues.reduce((sum, queue) => sum + queue.active + queue.waiting + queue.delayed, 0), 'jobs left in the queues').toBe(0);
    for (const account of accounts) {
      const keys = account.crm.records(account.object).map((record) => String(record.values[account.syncKey]));
      expect(new Set(keys).size, `a sync key exists twice in ${account.name}`).toBe(keys.length);
      expect(await store.records.countLocal(`imported_${account.name}`), `records of ${account.name} missing from the last import`).toBe(keys.length);
    }
    expect(created(), 'exported rows lost').toBe(rows);
    for (const account of accounts) {
      for (let e = 0; e < EXPORTS_PER_ACCOUNT; e += 1) {
        const unlinked = await store.pool.query(`SELECT count(*)::int AS n FROM "${schema}"."x_${account.name}_${e}" WHERE crm_id IS NULL`);
        expect(unlinked.rows[0].n, `rows of x_${account.name}_${e} not linked to their CRM record`).toBe(0);
      }
    }
    for (const key of exportKeys) expect(await store.journal.findOpenRun(key), `journal of ${key} left open`).toBeUndefined();
    // Exactly one successful run per queued job: none lost, none run twice to success.
    const runs = await store.history.listRuns({ limit: 1_000 });
    const succeeded = runs.filter((run) => run.status === 'succeeded').map((run) => run.jobId).sort();
    expect(succeeded, 'successful runs in the run history').toEqual([...queuedKeys].sort());
    console.info(`[worker-bullmq] redis-restart: ${queuedKeys.length} jobs (${exportKeys.length} exports of ${ROWS} rows, ${queuedKeys.length - exportKeys.length} imports) on 2 workers, ${runs.length} runs in history, 0 failed, 0 duplicates, 0 lost, all linked, no journal left open`);
    await store.close();
  }, 120_000);

  it('a Redis restarted without its data gets the accounts and their caps back from the live workers', async () => {
    bare = new PrivateRedis(await freePort(), mkdtempSync(join(tmpdir(), 'crm-sync-redis-bare-')), false);
    await bare.start();
    const account = await emulatedAccount('lone', 'salesforce');
    accounts.push(account);
    const prefix = 't-wb-bare';
    const { url } = await freshStore();
    const lone = new WorkerCluster({ redis: bare.url, prefix, db: url, accounts: { lone: { ...account.settings, cap: 3 } } });
    try {
      await lone.spawn({ concurrency: 1 });
      const queue = new Queue(accountQueueName('lone'), { connection: { host: '127.0.0.1', port: bare.port, maxRetriesPerRequest: null }, prefix });
      queue.on('error', () => undefined);
      try {
        expect(await queue.getGlobalConcurrency()).toBe(3);
        await bare.kill('SIGKILL');
        await bare.start();
        // Everything Redis held is gone; the worker's next heartbeat writes its part again.
        await until(async () => (await readWorkersStatus({ redis: bare!.url, prefix })).queues.length === 1, 'the account is listed again', 15_000);
        expect((await readWorkersStatus({ redis: bare.url, prefix })).queues.map((entry) => entry.account)).toEqual(['lone']);
        expect(await queue.getGlobalConcurrency(), 'the account cap after the restart').toBe(3);
      } finally {
        await queue.close();
      }
    } finally {
      await lone.stop();
    }
  }, 40_000);
});
