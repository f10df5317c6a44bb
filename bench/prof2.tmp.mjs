import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { MemoryExportJournal, MemoryOptionStore, MemoryRecordStore, Orchestrator } from '@crm-sync/sdk';
import { startSalesforceHost } from './lib/salesforce-client.mjs';
const N = Number(process.env.N ?? 100000);
const fields = ['Id','FirstName','LastName','Email','Phone','Birthdate','Score__c','DoNotCall','Sync_Key__c','CreatedDate','LastModifiedDate'].map((r,i)=>({remote:r, local:'f'+i, ...(r==='Birthdate'?{conversion:'date-only'}:{})}));
const host = await startSalesforceHost();
const { url } = await host.call('start', { latencyMs: Number(process.env.LAT ?? 0) });
await host.call('seed', { count: N });
class Sink { atomicCheckpoint=false; records=0; async write(_t,r){this.records+=r.length;} async markDeleted(){} }
for (let rep=0; rep<Number(process.env.REPS ?? 3); rep++) {
  const accessToken = await host.call('issueToken');
  const connector = new SalesforceConnector({ instanceUrl: url, auth: { kind: 'access-token', accessToken }, pageSize: 2000 });
  const sink = new Sink();
  const o = new Orchestrator({ connector, options: new MemoryOptionStore(), journal: new MemoryExportJournal(), sink, source: new MemoryRecordStore() });
  const t = performance.now();
  const r = await o.runImport({ kind: 'import', activity: 'p', object: 'Contact', table: 'contacts', fields, pageSize: 2000, automaticIndex: { enabled: true } });
  console.error(rep, Math.round(performance.now()-t), 'ms', sink.records, r.isErr() ? r.error.message : '');
}
await host.stop();
