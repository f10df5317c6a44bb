/**
 * A cluster of worker processes for the tests: emulators in this process (so the CRM outlives any
 * worker), worker children spawned from `worker-child.mjs`, their output parsed, killed and
 * restarted on demand.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { InMemoryCrm, SystemClock } from '@crm-sync/connector-mock';
import { salesforceEmulatorSchemas, startSalesforceEmulator, type SalesforceEmulator } from '@crm-sync/connector-salesforce/emulator';
import { dataverseSchemas, startDataverseEmulator, type DataverseEmulator } from '@crm-sync/connector-dynamics/emulator';
import type { ExportJob, ImportJob } from '@crm-sync/sdk';

const CHILD = resolve(import.meta.dirname, 'worker-child.mjs');

/** One emulated CRM account. */
export interface EmulatedAccount {
  readonly name: string;
  readonly connector: 'salesforce' | 'dynamics';
  readonly crm: InMemoryCrm;
  readonly object: string;
  readonly syncKey: string;
  readonly lastName: string;
  readonly email: string;
  readonly salesforce?: SalesforceEmulator;
  readonly dynamics?: DataverseEmulator;
  /** What the worker child's environment gets (URLs and tokens stay out of the queue). */
  readonly settings: Record<string, unknown>;
  close(): Promise<void>;
}

/** Starts an emulated account. */
export async function emulatedAccount(name: string, connector: 'salesforce' | 'dynamics', latencyMs = 5): Promise<EmulatedAccount> {
  if (connector === 'salesforce') {
    const crm = new InMemoryCrm({ schemas: salesforceEmulatorSchemas(), clock: new SystemClock() });
    const emulator = await startSalesforceEmulator({ crm, latencyMs });
    return {
      name, connector, crm, object: 'Contact', syncKey: 'Sync_Key__c', lastName: 'LastName', email: 'Email', salesforce: emulator,
      settings: { connector, url: emulator.url, token: emulator.issueAccessToken() },
      close: () => emulator.close(),
    };
  }
  const crm = new InMemoryCrm({ schemas: dataverseSchemas(), clock: new SystemClock(), deletedRetentionDays: 30 });
  const emulator = await startDataverseEmulator({ crm, latencyMs });
  const { networkClient: _client, ...config } = emulator.connectorConfig({ batchSize: 100 });
  return {
    name, connector, crm, object: 'contact', syncKey: 'crm_synckey', lastName: 'lastname', email: 'emailaddress1', dynamics: emulator,
    settings: { connector, config },
    close: () => emulator.close(),
  };
}

/** An export job of `table` to `account`'s contacts, by sync key. */
export function exportJob(account: EmulatedAccount, activity: string, table: string): ExportJob {
  return {
    kind: 'export', activity, object: account.object, table, mode: 'upsert', syncKey: { remoteField: account.syncKey }, processRejects: true, batchSize: 25,
    fields: [{ local: 'last_name', remote: account.lastName }, { local: 'email', remote: account.email }],
  } as ExportJob;
}

/**
 * The imports' safety lag. The emulators stamp records as they store them, while an export batch
 * may still be in flight when an import asks the CRM's time: with no lag, a record stamped just
 * before the window's end but stored after the query ran falls behind the watermark for good (the
 * reason the SDK's default lag exists). The tests wait this long before their last import.
 */
export const IMPORT_SAFETY_LAG_MS = 1_500;

/** The change-time fields the emulators stamp (Salesforce, Dataverse). */
const CHANGE_FIELDS = ['SystemModstamp', 'LastModifiedDate', 'modifiedon'];

/**
 * Waits until an import started from now on has a window that ends after every record the
 * accounts' CRMs hold, so a last import must hold them all. A fixed wait of the safety lag is not
 * enough: the connectors read the CRM's time from the HTTP `Date` header, in whole seconds (and
 * Node's server refreshes that header by a timer, late when its event loop is busy), so a window
 * ends up to a second and more before `now - lag`. A record stamped just before the last job
 * finished then falls in the next import's window, not this one (CI saw a last import miss the
 * 100 records of the last export this way).
 */
export async function untilImportsCoverEveryRecord(accounts: readonly EmulatedAccount[]): Promise<void> {
  let last = 0;
  for (const account of accounts) {
    for (const record of account.crm.records(account.object)) {
      for (const field of CHANGE_FIELDS) {
        const value = record.values[field];
        if (typeof value === 'string') last = Math.max(last, Date.parse(value));
      }
    }
  }
  // 500 ms for a Date header refreshed late; then the header's second, minus the lag, is past `last`.
  await until(() => Math.floor((Date.now() - 500) / 1_000) * 1_000 - IMPORT_SAFETY_LAG_MS > last, `an import window ends after the last record's change time (${new Date(last).toISOString()})`, 30_000);
}

/** An incremental import of `account`'s contacts into `table`. */
export function importJob(account: EmulatedAccount, activity: string, table: string): ImportJob {
  return {
    kind: 'import', activity, object: account.object, table, pageSize: 50, automaticIndex: { enabled: true, safetyLagMs: IMPORT_SAFETY_LAG_MS },
    fields: [{ remote: account.lastName, local: 'last_name' }, { remote: account.syncKey, local: 'sync_key' }],
  } as ImportJob;
}

/** A line a worker child printed about a finished delivery. */
export interface RunEvent {
  readonly pid: number;
  readonly bullJobId: string;
  readonly account: string;
  readonly jobKey: string;
  readonly outcome: 'succeeded' | 'retry' | 'fail' | 'requeue';
  readonly error?: string;
  readonly created?: number;
  readonly written?: number;
}

/** Worker children sharing one queue prefix and one PostgreSQL schema. */
export class WorkerCluster {
  readonly children = new Set<ChildProcessWithoutNullStreams>();
  readonly events: RunEvent[] = [];
  readonly stderr: string[] = [];

  constructor(private readonly settings: Record<string, unknown>) {}

  /** Spawns a worker; resolves once it serves its queues. */
  spawn(extra: Record<string, unknown> = {}): Promise<ChildProcessWithoutNullStreams> {
    const child = spawn(process.execPath, [CHILD], { env: { ...process.env, WORKER_SETTINGS: JSON.stringify({ ...this.settings, ...extra }) }, cwd: import.meta.dirname });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    child.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    return new Promise((ready, fail) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line === 'ready') ready(child);
        else if (line.startsWith('{')) this.events.push(JSON.parse(line) as RunEvent);
      });
      child.on('exit', (code, signal) => fail(new Error(`worker exited before it was ready (${code ?? signal}): ${this.stderr.join('').slice(-2000)}`)));
    });
  }

  /** Kills `child` with SIGKILL and waits for it to be gone. */
  async kill(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const gone = new Promise((done) => child.once('exit', done));
    child.kill(signal);
    await gone;
  }

  /** Stops every worker (SIGTERM, then SIGKILL after 10 s). */
  async stop(): Promise<void> {
    await Promise.all([...this.children].map(async (child) => {
      const gone = new Promise((done) => child.once('exit', done));
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }));
  }
}

/** Polls `check` every 100 ms until it is true, failing after `timeoutMs` with `what`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}
