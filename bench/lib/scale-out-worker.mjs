// A worker process of scenario 9: `startSyncWorker` of @crm-sync/worker-bullmq on a PostgreSQL schema,
// with Salesforce emulator accounts from the environment (the queue carries only the job and the
// account name). Prints `ready`, one JSON line per finished delivery, `closed` after SIGTERM.
import { ok } from 'neverthrow';
import { openPostgresStore } from '@crm-sync/store-postgres';
import { startSyncWorker } from '@crm-sync/worker-bullmq';

const settings = JSON.parse(process.env.WORKER_SETTINGS ?? '{}');
const url = new URL(settings.db);
const schema = url.searchParams.get('schema');
url.searchParams.delete('schema');
const store = (await openPostgresStore(url.toString(), { schema, poolSize: 6 }))._unsafeUnwrap();

async function connectorOf(account) {
  const entry = settings.accounts[account];
  if (entry.connector === 'salesforce') {
    const { SalesforceConnector } = await import('@crm-sync/connector-salesforce');
    return new SalesforceConnector({ instanceUrl: entry.url, auth: { kind: 'access-token', accessToken: entry.token } });
  }
  const { DynamicsConnector } = await import('@crm-sync/connector-dynamics');
  const { loopbackNetworkClient } = await import('@crm-sync/connector-dynamics/emulator');
  return new DynamicsConnector({ ...entry.config, networkClient: loopbackNetworkClient() });
}

const worker = await startSyncWorker({
  redis: settings.redis,
  prefix: settings.prefix,
  store,
  accounts: Object.entries(settings.accounts).map(([name, entry]) => ({ name, connector: entry.connector, ...(entry.cap ? { concurrencyCap: entry.cap } : {}) })),
  concurrency: settings.concurrency ?? 4,
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
