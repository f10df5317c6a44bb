// The glue: everything this application writes to embed crm-sync (the test counts these lines).
import type Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { Orchestrator, type CrmConnector, type JobField, type RejectItem, type RunError } from '@crm-sync/sdk';
import { KyselyOptionStore, kyselyRecordTables } from '@crm-sync/store-kysely';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { openPostgresStore } from '@crm-sync/store-postgres';
import type { AppTables } from './app-db.js';

/** crm-sync's journal, leases and history in the application's database, on its connection. */
export const crmStores = (database: Database.Database) => openSqliteStore(database)._unsafeUnwrap();
export const crmStoresPg = async (pool: pg.Pool, schema: string) => (await openPostgresStore(pool, { schema }))._unsafeUnwrap();

/** One sync round (export, import, deleted records): the errors of the round, none when it went through. */
export function createSync(db: Kysely<AppTables>, crm: Pick<ReturnType<typeof crmStores>, 'journal' | 'leases' | 'history'>, connector: CrmConnector, schema?: string): () => Promise<RunError[]> {
  const on = schema === undefined ? {} : { schema }, app = schema === undefined ? db : db.withSchema(schema);
  const options = new KyselyOptionStore(db, on);
  const tables = kyselyRecordTables(db, { options, tables: [{ name: 'customers', ...on, key: { column: 'id', type: 'integer' }, crmId: 'crm_id', changedAt: 'updated_at', syncedAt: 'synced_at',
    crmChangedAt: 'crm_changed_at', deletedAt: 'deleted_at', fields: { first_name: 'text', last_name: { column: 'last_name', type: 'text', nullable: false, maxLength: 40 }, email: 'text' } }] });
  const toRow = (r: RejectItem) => ({ activity: r.activity, crm_id: r.crmId ?? null, local_key: r.localKey ?? null, code: r.code, message: r.message, rejected_at: new Date().toISOString() });
  const rejects = { write: async (items: readonly RejectItem[]) => void (items.length > 0 && (await app.insertInto('sync_rejects').values(items.map(toRow)).execute())) };
  const sync = new Orchestrator({ connector, options, journal: crm.journal, leases: crm.leases, history: crm.history, sink: tables, source: tables, rejects });
  const fields: JobField[] = [{ local: 'first_name', remote: 'FirstName' }, { local: 'last_name', remote: 'LastName' }, { local: 'email', remote: 'Email' }];
  const job = { object: 'Contact', table: 'customers', processRejects: true } as const;
  return async () => {
    const exported = await sync.runExport({ ...job, kind: 'export', activity: 'exportCustomers', fields, mode: 'auto', syncKey: { remoteField: 'Sync_Key__c' }, changedSince: 'last-export' }, {
      onBatchSettled: ({ outcomes }) => app.transaction().execute(async (trx) => {
        for (const o of outcomes) if (o.crmId !== undefined && o.outcome !== 'rejected') await trx.updateTable('customers').set({ crm_id: o.crmId, synced_at: new Date().toISOString() }).where('id', '=', Number(o.key)).execute();
      }),
    });
    if (exported.isErr()) return [exported.error]; // nothing imported before the export settled: its records come back linked
    const imported = await sync.runImport({ ...job, kind: 'import', activity: 'importCustomers', fields: fields.map((f) => ({ local: f.local, remote: f.remote })), automaticIndex: { enabled: true } });
    const deleted = await sync.runImportDeleted({ ...job, kind: 'import-deleted', activity: 'importDeletedCustomers', start: new Date(Date.now() - 86_400_000).toISOString(), automaticIndex: { enabled: true } });
    return [imported, deleted].flatMap((result) => (result.isErr() ? [result.error] : []));
  };
}

/** Runs `round` every `everyMs` until the returned stop is called (which waits for a running round). */
export function startSyncLoop(round: () => Promise<RunError[]>, everyMs: number, report: (errors: RunError[]) => void): () => Promise<void> {
  let stopped = false, running: Promise<void> = Promise.resolve(), timer = setTimeout(function tick() { running = round().then(report, (e: unknown) => report([{ kind: 'store', message: String(e) }])).then(() => void (stopped || (timer = setTimeout(tick, everyMs)))); }, 0);
  return async () => void ((stopped = true), clearTimeout(timer), await running);
}
