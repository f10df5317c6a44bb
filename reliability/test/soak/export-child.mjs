// The process the kill -9 soak kills: exports the `people` table of a SQLite store (a file path)
// or a PostgreSQL store (a postgres:// URL with ?schema=) to the CRM emulator named on the command
// line, with the durable journal, and prints the run summary.
// Plain JavaScript so that a bare `node` runs it against the built packages.
import { Orchestrator } from '@crm-sync/sdk';
import { openSqliteStore } from '@crm-sync/store-sqlite';

const [kind, db] = process.argv.slice(2);
const settings = JSON.parse(process.env.SOAK_SETTINGS ?? '{}');
let connector;
if (kind === 'salesforce') {
  const { SalesforceConnector } = await import('@crm-sync/connector-salesforce');
  connector = new SalesforceConnector({ instanceUrl: settings.url, auth: { kind: 'access-token', accessToken: settings.token } });
} else {
  const { DynamicsConnector } = await import('@crm-sync/connector-dynamics');
  const { loopbackNetworkClient } = await import('@crm-sync/connector-dynamics/emulator');
  connector = new DynamicsConnector({ ...settings.config, networkClient: loopbackNetworkClient() });
}
let store;
if (/^postgres(ql)?:\/\//.test(db)) {
  const { openPostgresStore } = await import('@crm-sync/store-postgres');
  const url = new URL(db);
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  store = (await openPostgresStore(url.toString(), schema === undefined ? {} : { schema }))._unsafeUnwrap();
} else {
  store = openSqliteStore(db)._unsafeUnwrap();
}
// With the store's leases: a restart after a kill takes the dead child's lease over at once (same host, pid gone).
const orchestrator = new Orchestrator({ connector, options: store.options, journal: store.journal, sink: store.records, source: store.records, leases: store.leases });
const result = await orchestrator.runExport({
  kind: 'export',
  activity: 'soakExport',
  object: settings.object,
  table: 'people',
  mode: 'upsert',
  syncKey: { remoteField: settings.syncKey },
  processRejects: true,
  fields: [
    { local: 'last_name', remote: settings.lastName },
    { local: 'email', remote: settings.email },
  ],
});
await store.close();
await connector.close?.();
if (result.isErr()) {
  process.stderr.write(`${result.error.message}\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(result.value)}\n`);
process.exit(0);
