/**
 * Scenario 9, scale-out on BullMQ workers (issue 14 calls it "scenario 7"; 7 and 8 were taken):
 * 40 export jobs of 5,000 records each over 8 Salesforce accounts (one emulator process per
 * account, 25 ms latency per request, as a remote org would be), run by 1 worker process and then
 * by 4 worker processes on this machine, each run on its own PostgreSQL schema and queue prefix.
 *
 * Every worker has the same fixed capacity, as an operator would configure a fleet: at most
 * CAPACITY jobs at once in the process over all its accounts (`capacity` of startSyncWorker,
 * `crm-sync worker --capacity`), and each job's connector keeps CALLS_IN_FLIGHT requests in flight
 * (the Salesforce connector's `concurrency`). So 1 worker is bound by the CRM's latency times its
 * own capacity, and 4 workers bring 4 times the capacity: the question is whether the system adds
 * anything that does not scale (the queue, the shared store, the fencing) and whether any work is
 * done twice. Ratio = time of 1 worker / time of 4 workers (target >= 3, ceiling 4); API calls of
 * the 4-worker run must equal the 1-worker run's (the single-process lower bound).
 *
 * The workers are the tests' worker child (packages/worker-bullmq/test/support/worker-child.mjs),
 * so the benchmark measures the same process the kill and scale-out tests run.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { enqueueSyncJobs, readWorkersStatus } from '@crm-sync/worker-bullmq';
import { Redis } from 'ioredis';
import { check, formatMs, formatRate, formatRatio, log, QUICK, report, size } from '../lib/harness.mjs';
import { freshPostgresStore, PG_URL, requirePostgres } from '../lib/postgres.mjs';
import { startSalesforceHost } from '../lib/salesforce-client.mjs';

// Quick mode: 20 jobs over 4 accounts, 500 records each (same capacity per worker).
const JOBS = QUICK ? 20 : 40;
const ACCOUNTS = QUICK ? 4 : 8;
const RECORDS = size(5_000);
const LATENCY_MS = 25;
/** Jobs one worker process runs at once, over all its accounts. The same for every worker. */
const CAPACITY = Number(process.env.BENCH_SCALE_CAPACITY ?? 1);
/** Requests one job keeps in flight (the Salesforce connector's `concurrency`). */
const CALLS_IN_FLIGHT = Number(process.env.BENCH_SCALE_CALLS ?? 1);
const WORKERS = 4;
const TARGET = 3;
const REDIS_URL = process.env.CRM_SYNC_REDIS_URL || 'redis://127.0.0.1:6379';
const WORKER = fileURLToPath(new URL('../../packages/worker-bullmq/test/support/worker-child.mjs', import.meta.url));
const title = `9. Scale-out: ${JOBS} export jobs x ${RECORDS.toLocaleString('en-US')} records over ${ACCOUNTS} accounts (25 ms latency), ${WORKERS} worker processes vs 1, ${CAPACITY} job${CAPACITY === 1 ? '' : 's'} at a time per worker`;
await requirePostgres('scale-out', title, String(TARGET));
{
  const probe = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    const reason = `Redis (CRM_SYNC_REDIS_URL) is not reachable: ${error.message}`;
    if (process.env.CRM_SYNC_REQUIRE_SERVICES === '1') throw new Error(reason);
    report({ id: 'scale-out', title, line: { ratio: 'n/a', target: String(TARGET) }, met: false, rows: [{ scenario: title, crmSync: 'skipped', baseline: '', ratio: 'n/a', apiCalls: '', lowerBound: '', peakRss: '', target: `>= ${TARGET}`, verdict: 'skipped' }], details: { skipped: reason }, notes: [`Skipped: ${reason}.`] });
    process.exit(0);
  } finally {
    probe.disconnect();
  }
}

const hosts = [];
for (let a = 0; a < ACCOUNTS; a += 1) hosts.push(await startSalesforceHost());

/** Deletes every key under `prefix` (the run's queues, schedules, marks and heartbeats). */
async function dropPrefix(prefix) {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** One measured run with `workers` worker processes; resolves with its time, API calls and jobs per worker. */
async function runWith(workers) {
  const accounts = [];
  for (const [a, host] of hosts.entries()) {
    const { url, accessToken } = await host.call('start', { latencyMs: LATENCY_MS });
    accounts.push({ name: `acct${a}`, url, token: accessToken });
  }
  const pg = await freshPostgresStore('scaleout');
  const prefix = `bench-so-${randomBytes(4).toString('hex')}`;
  const children = [];
  try {
    const { store } = pg;
    const schema = store.schema;
    const jobs = [];
    for (let j = 0; j < JOBS; j += 1) {
      const account = accounts[j % ACCOUNTS];
      const table = `t${j}`;
      await store.records.upsertLocal(table, `${table}-0`, { last_name: 'L0', email: 'e0@x.test' });
      await store.pool.query(
        `INSERT INTO "${schema}"."${table}" (key, data, local_changed_at)
         SELECT $1 || '-' || i, jsonb_build_object('last_name', 'L' || i, 'email', 'e' || i || '@x.test'), $2 FROM generate_series(1, $3 - 1) AS i`,
        [table, new Date().toISOString(), RECORDS],
      );
      const job = {
        kind: 'export', activity: `scale_${j}`, object: 'Contact', table, mode: 'upsert', syncKey: { remoteField: 'Sync_Key__c' }, processRejects: true,
        fields: [{ local: 'last_name', remote: 'LastName' }, { local: 'email', remote: 'Email' }],
      };
      jobs.push({ account: account.name, jobKey: `default/${job.activity}`, definition: job, activity: job.activity, operation: 'export' });
    }
    const url = new URL(PG_URL);
    url.searchParams.set('schema', schema);
    const settings = {
      redis: REDIS_URL, prefix, db: url.toString(), concurrency: CAPACITY, capacity: CAPACITY, leaseTtlMs: 60_000, lockDurationMs: 60_000, stalledIntervalMs: 30_000,
      accounts: Object.fromEntries(accounts.map(({ name, url: instanceUrl, token }) => [name, { connector: 'salesforce', url: instanceUrl, token, callsInFlight: CALLS_IN_FLIGHT }])),
    };
    // Progress comes from the workers' own lines (one per finished delivery), so the bench adds
    // no polling of Redis to the machine it measures.
    const finished = { succeeded: 0, other: [], byPid: new Map() };
    let allDone;
    const done = new Promise((resolve) => (allDone = resolve));
    await Promise.all(Array.from({ length: workers }, () => new Promise((ready, fail) => {
      const child = spawn(process.execPath, [...(process.env.BENCH_SCALE_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SCALE_PROFILE}`] : []), WORKER], { env: { ...process.env, WORKER_SETTINGS: JSON.stringify(settings) }, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line === 'ready') return ready();
        if (!line.startsWith('{')) return;
        const event = JSON.parse(line);
        if (event.outcome === 'succeeded') {
          finished.succeeded += 1;
          finished.byPid.set(event.pid, (finished.byPid.get(event.pid) ?? 0) + 1);
        } else finished.other.push(event);
        if (finished.succeeded + finished.other.length >= JOBS) allDone();
      });
      child.on('exit', (code) => fail(new Error(`a worker exited (${code}) before it was ready`)));
    })));
    for (const host of hosts) await host.call('resetCounters');
    const started = performance.now();
    await enqueueSyncJobs(jobs, { redis: REDIS_URL, prefix, attempts: 1 });
    let stuck;
    await Promise.race([done, new Promise((_resolve, reject) => (stuck = setTimeout(() => reject(new Error(`[crm-sync] [bench] ${finished.succeeded} of ${JOBS} jobs finished after 10 minutes`)), 600_000)))]);
    clearTimeout(stuck);
    const elapsedMs = performance.now() - started;
    check(finished.other.length === 0, `deliveries that did not succeed: ${JSON.stringify(finished.other.slice(0, 3))}`);
    // BullMQ marks a job completed a moment after the worker's line: wait for that, then check.
    let status;
    for (let tries = 0; tries < 100; tries += 1) {
      status = await readWorkersStatus({ redis: REDIS_URL, prefix });
      if (status.queues.reduce((sum, queue) => sum + queue.completed + queue.failed, 0) >= JOBS) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    check(status.queues.reduce((sum, queue) => sum + queue.completed, 0) === JOBS && status.queues.every((queue) => queue.failed === 0), `BullMQ counts: ${JSON.stringify(status.queues.map((queue) => [queue.account, queue.completed, queue.failed]))}`);
    let apiCalls = 0;
    let created = 0;
    for (const host of hosts) {
      apiCalls += await host.call('apiCalls');
      created += await host.call('count');
    }
    check(created === JOBS * RECORDS, `${created} of ${JOBS * RECORDS} records in the CRMs`);
    return { elapsedMs, apiCalls, jobsPerWorker: [...finished.byPid.values()].sort((a, b) => b - a) };
  } finally {
    await Promise.all(children.map((child) => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    })));
    await dropPrefix(prefix);
    await pg.drop();
  }
}

let one;
let four;
try {
  log(`1 worker process (capacity ${CAPACITY}, ${CALLS_IN_FLIGHT} request(s) in flight per job)`);
  one = await runWith(1);
  log(`1 worker: ${formatMs(one.elapsedMs)}; ${WORKERS} worker processes`);
  four = await runWith(WORKERS);
  log(`${WORKERS} workers: ${formatMs(four.elapsedMs)}, jobs per worker ${four.jobsPerWorker.join('/')}`);
} finally {
  for (const host of hosts) await host.stop();
}
const ratio = one.elapsedMs / four.elapsedMs;
const total = JOBS * RECORDS;
const met = ratio >= TARGET && four.apiCalls === one.apiCalls;
const waves = (slots) => Math.ceil(JOBS / slots);
report({
  id: 'scale-out',
  title,
  line: { ratio: formatRatio(ratio), target: String(TARGET), apiCalls: four.apiCalls, lowerBound: one.apiCalls },
  met,
  rows: [
    {
      scenario: `9. ${JOBS} exports x ${RECORDS.toLocaleString('en-US')} over ${ACCOUNTS} accounts, ${WORKERS} workers vs 1 (${CAPACITY} job${CAPACITY === 1 ? '' : 's'} at a time per worker)`,
      crmSync: `${WORKERS} workers: ${formatMs(four.elapsedMs)} (${formatRate(total, four.elapsedMs)})`,
      baseline: `1 worker: ${formatMs(one.elapsedMs)} (${formatRate(total, one.elapsedMs)})`,
      ratio: formatRatio(ratio),
      apiCalls: four.apiCalls,
      lowerBound: one.apiCalls,
      peakRss: '',
      target: `>= ${TARGET} x the throughput of 1 worker; API calls = 1 worker's`,
      verdict: met ? 'ok' : 'short',
    },
  ],
  details: { jobs: JOBS, accounts: ACCOUNTS, records: RECORDS, latencyMs: LATENCY_MS, capacityPerWorker: CAPACITY, callsInFlightPerJob: CALLS_IN_FLIGHT, workers: WORKERS, one, four },
  notes: [
    `Ratio = 1-worker time / ${WORKERS}-worker time, one run each (enqueue to the last job's end, worker start-up and seeding not timed). Every worker has the same capacity: ${CAPACITY} jobs at once over all its accounts (startSyncWorker's capacity, crm-sync worker --capacity), each job keeping ${CALLS_IN_FLIGHT} request(s) in flight (the Salesforce connector's concurrency). 1 worker runs the ${JOBS} jobs in ${waves(CAPACITY)} waves of ${CAPACITY}, ${WORKERS} workers in ${waves(CAPACITY * WORKERS)} of ${CAPACITY * WORKERS}: ${formatRatio(waves(CAPACITY) / waves(CAPACITY * WORKERS))} is the ceiling when the work is purely latency-bound.`,
    `Emulators: one process per account (the CRM is another machine in production); the workers are packages/worker-bullmq/test/support/worker-child.mjs; progress is read from the workers' own lines, not by polling Redis.`,
    `Jobs per worker in the ${WORKERS}-worker run: ${four.jobsPerWorker.join(', ')}.`,
    `API calls: ${one.apiCalls} with 1 worker, ${four.apiCalls} with ${WORKERS} (equal: no job ran twice).`,
  ],
});
