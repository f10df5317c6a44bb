// The run the zombie test pauses: exports the `contacts` table of a SQLite store to the Salesforce
// emulator named in ZOMBIE_SETTINGS, as job default/raceExport (the same job the CLI runs), with a
// short lease TTL so that a pause (SIGSTOP) outlasts it. Prints the summary, or the run error and
// exits 2. Plain JavaScript so that a bare `node` runs it against the built packages.
import { Orchestrator } from '@crm-sync/sdk';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { SalesforceConnector } from '@crm-sync/connector-salesforce';

const [db] = process.argv.slice(2);
const settings = JSON.parse(process.env.ZOMBIE_SETTINGS ?? '{}');
const connector = new SalesforceConnector({ instanceUrl: settings.url, auth: { kind: 'access-token', accessToken: settings.token } });
const store = openSqliteStore(db)._unsafeUnwrap();
const orchestrator = new Orchestrator({
  connector,
  options: store.options,
  journal: store.journal,
  sink: store.records,
  source: store.records,
  leases: store.leases,
  leaseTtlMs: settings.ttlMs,
});
const result = await orchestrator.runExport({
  kind: 'export',
  activity: 'raceExport',
  object: 'Contact',
  table: 'contacts',
  mode: 'auto',
  batchSize: 5,
  syncKey: { remoteField: 'Sync_Key__c' },
  fields: [
    { local: 'last_name', remote: 'LastName' },
    { local: 'email', remote: 'Email' },
  ],
});
store.close();
await connector.close?.();
if (result.isErr()) {
  process.stdout.write(`${JSON.stringify({ error: { kind: result.error.kind, message: result.error.message } })}\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify({ summary: result.value })}\n`);
process.exit(0);
