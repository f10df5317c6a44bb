// A worker process of the tests: `startSyncWorker` from the built package, on a PostgreSQL schema,
// with the emulators' connectors. The accounts (emulator URLs and tokens) come from the
// environment, as a real worker's come from its accounts file: the queued payload carries only the
// job (an SDK job as JSON) and the account's name. Prints `ready` once serving, one JSON line per
// finished delivery, and `closed` after a SIGTERM shutdown.
// Plain JavaScript so that a bare `node` runs it against the built packages; the scale-out
// benchmark (bench/scenarios/9-scale-out.mjs) spawns this same file.
// Settings (WORKER_SETTINGS, JSON): redis, prefix, db (with ?schema=), accounts { name: { connector,
// url, token | config, cap?, callsInFlight? } }, and the worker's options: concurrency, capacity,
// leaseTtlMs, lockDurationMs, stalledIntervalMs, graceMs.
import { ok } from 'neverthrow';
import { openPostgresStore } from '@crm-sync/store-postgres';
import { startSyncWorker } from '@crm-sync/worker-bullmq';

const settings = JSON.parse(process.env.WORKER_SETTINGS ?? '{}');
const url = new URL(settings.db);
const schema = url.searchParams.get('schema');
url.searchParams.delete('schema');
const store = (await openPostgresStore(url.toString(), { schema, poolSize: 6 }))._unsafeUnwrap();

// The accounts' connector modules are loaded before `ready`, as a long-running worker has them
// after its first job: start-up is not part of what the scale-out benchmark times.
const kinds = new Set(Object.values(settings.accounts).map((entry) => entry.connector));
const salesforce = kinds.has('salesforce') ? await import('@crm-sync/connector-salesforce') : undefined;
const dynamics = kinds.has('dynamics') ? { ...(await import('@crm-sync/connector-dynamics')), ...(await import('@crm-sync/connector-dynamics/emulator')) } : undefined;

async function connectorOf(account) {
  const entry = settings.accounts[account];
  if (entry.connector === 'salesforce') {
    const { SalesforceConnector } = salesforce;
    return new SalesforceConnector({ instanceUrl: entry.url, auth: { kind: 'access-token', accessToken: entry.token }, ...(entry.callsInFlight ? { concurrency: entry.callsInFlight } : {}) });
  }
  const { DynamicsConnector, loopbackNetworkClient } = dynamics;
  return new DynamicsConnector({ ...entry.config, networkClient: loopbackNetworkClient() });
}

const worker = await startSyncWorker({
  redis: settings.redis,
  prefix: settings.prefix,
  store,
  accounts: Object.entries(settings.accounts).map(([name, entry]) => ({ name, connector: entry.connector, ...(entry.cap ? { concurrencyCap: entry.cap } : {}) })),
  concurrency: settings.concurrency ?? 4,
  ...(settings.capacity ? { capacity: settings.capacity } : {}),
  leaseTtlMs: settings.leaseTtlMs ?? 3_000,
  lockDurationMs: settings.lockDurationMs ?? 2_000,
  stalledIntervalMs: settings.stalledIntervalMs ?? 1_000,
  maxStalledCount: 1_000,
  requeueDelayMs: 300,
  async prepareRun(payload) {
    const connector = await connectorOf(payload.account);
    return ok({ job: payload.definition, connector, close: async () => connector.close?.() });
  },
  onRunFinished(event) {
    process.stdout.write(`${JSON.stringify({ event: 'run', pid: process.pid, bullJobId: event.bullJobId, account: event.account, jobKey: event.jobKey, outcome: event.outcome, error: event.error?.kind, created: event.summary?.created, written: event.summary?.written })}\n`);
  },
});
process.on('SIGTERM', () => {
  void worker.close(settings.graceMs ?? 5_000).then(async () => {
    await store.close();
    process.stdout.write('closed\n');
    process.exit(0);
  });
});
process.stdout.write('ready\n');
