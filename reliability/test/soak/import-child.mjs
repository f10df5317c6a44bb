// The process the import kill -9 soak kills: an incremental import of a deterministic mock CRM
// (the same records, ids and change times on every start) into a PostgreSQL local table, with the
// store's leases, and prints the run summary. Plain JavaScript so that a bare `node` runs it
// against the built packages.
import { InMemoryCrm, ManualClock, MockConnector } from '@crm-sync/connector-mock';
import { Orchestrator } from '@crm-sync/sdk';
import { openPostgresStore } from '@crm-sync/store-postgres';

const [url, schema, count] = process.argv.slice(2);
const clock = new ManualClock('2024-01-01T00:00:00.000Z');
const crm = new InMemoryCrm({ clock });
// Seven records share each change time, so page boundaries fall inside shared timestamps.
for (let i = 0; i < Number(count); i++) {
  crm.insert('contact', { lastName: `L${i}`, email: `c${i}@example.test` });
  if (i % 7 === 6) clock.advance(1);
}
clock.advance(60_000);
const store = (await openPostgresStore(url, { schema }))._unsafeUnwrap();
const orchestrator = new Orchestrator({ connector: new MockConnector(crm), options: store.options, journal: store.journal, sink: store.records, source: store.records, leases: store.leases });
const result = await orchestrator.runImport({
  kind: 'import',
  activity: 'soakImport',
  object: 'contact',
  table: 'contacts',
  fields: [
    { remote: 'lastName', local: 'last_name' },
    { remote: 'email', local: 'email' },
  ],
  automaticIndex: { enabled: true, safetyLagMs: 1000 },
  pageSize: 500,
});
await store.close();
if (result.isErr()) {
  process.stderr.write(`${result.error.message}\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(result.value)}\n`);
process.exit(0);
