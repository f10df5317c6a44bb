/** What scenarios 3 and 6 share: local contact rows and the crm-sync export run against the emulator host. */
import { performance } from 'node:perf_hooks';
import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { MemoryExportJournal, MemoryOptionStore, MemoryRecordStore, Orchestrator } from '@crm-sync/sdk';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { check, unwrap } from './harness.mjs';
import { ArraySource } from './mock-data.mjs';

/** The export mapping onto the emulator's Contact. */
export const SALESFORCE_EXPORT_FIELDS = [
  { remote: 'FirstName', local: 'first_name' },
  { remote: 'LastName', local: 'last_name' },
  { remote: 'Email', local: 'email' },
  { remote: 'Phone', local: 'phone' },
  { remote: 'Score__c', local: 'score' },
  { remote: 'DoNotCall', local: 'do_not_call' },
];

/** `count` local rows, as the Salesforce payloads the jsforce baseline sends. */
export function salesforcePayloads(rows) {
  return rows.map((row) => ({ FirstName: row.values.first_name, LastName: row.values.last_name, Email: row.values.email, Phone: row.values.phone, Score__c: row.values.score, DoNotCall: row.values.do_not_call }));
}

/**
 * One crm-sync export (mode insert) into a freshly started emulator; the clock covers the
 * orchestrator run only. `connectorOptions` e.g. `{ maxUpsertBatch: 10000 }` for Bulk API 2.0;
 * `journal: 'sqlite'` uses the durable SQLite journal (a fresh file) instead of the in-memory one.
 */
export async function crmSyncSalesforceExport(host, rows, { latencyMs, faults = [], connectorOptions = {}, journal: journalKind = 'memory' }) {
  const directory = journalKind === 'sqlite' ? mkdtempSync(path.join(os.tmpdir(), 'crm-sync-bench-sf-')) : undefined;
  const store = directory === undefined ? undefined : unwrap(openSqliteStore(path.join(directory, 'journal.db')), 'opening the SQLite store');
  try {
    return await exportOnce(host, rows, { latencyMs, faults, connectorOptions, journal: store?.journal ?? new MemoryExportJournal() });
  } finally {
    store?.close();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  }
}

async function exportOnce(host, rows, { latencyMs, faults, connectorOptions, journal }) {
  const { url } = await host.call('start', { latencyMs, faults });
  const accessToken = await host.call('issueToken');
  const connector = new SalesforceConnector({ instanceUrl: url, auth: { kind: 'access-token', accessToken }, ...connectorOptions });
  const orchestrator = new Orchestrator({ connector, options: new MemoryOptionStore(), journal, sink: new MemoryRecordStore(), source: new ArraySource(rows) });
  const job = { kind: 'export', activity: 'bench-sf-export', object: 'Contact', table: 'contacts', fields: SALESFORCE_EXPORT_FIELDS, mode: 'insert' };
  const emulatorCpu = await host.call('cpuMs');
  const cpu = process.cpuUsage();
  const started = performance.now();
  const summary = unwrap(await orchestrator.runExport(job), 'crm-sync export to Salesforce');
  const elapsedMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  // CPU of each side during the run: on 2 shared cores the client and the emulator compete.
  const clientCpuMs = (used.user + used.system) / 1000;
  const emulatorCpuMs = (await host.call('cpuMs')) - emulatorCpu;
  await connector.close?.();
  const count = await host.call('count');
  check(count === rows.length && summary.created === rows.length, `crm-sync created ${summary.created} of ${rows.length} contacts (emulator holds ${count})`);
  const log = await host.call('requestLog');
  const byRoute = {};
  for (const entry of log) byRoute[entry.route] = (byRoute[entry.route] ?? 0) + 1;
  const wire = await host.call('wireLog');
  return { elapsedMs, clientCpuMs, emulatorCpuMs, apiCalls: summary.apiCalls, retries: summary.retries, requests: { total: log.length, byRoute }, log, wire };
}
