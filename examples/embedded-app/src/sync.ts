// The glue: everything this application writes to embed crm-sync (test/glue.test.ts counts these lines).
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { Orchestrator, type CrmConnector, type ExportBatchResult, type RejectItem, type RunError } from '@crm-sync/sdk';
import { KyselyOptionStore, kyselyRecordTables } from '@crm-sync/store-kysely';
import { openSqliteStore, type SqliteStore } from '@crm-sync/store-sqlite';
import { openPostgresStore } from '@crm-sync/store-postgres';
import type { AppTables } from './app-db.js';

/** crm-sync's journal, leases and history in the application's database, on its own connection. */
export const crmStores = (database: Parameters<typeof openSqliteStore>[0]) => openSqliteStore(database)._unsafeUnwrap();
export const crmStoresPg = async (pool: string | pg.Pool, schema: string) => (await openPostgresStore(pool, { schema }))._unsafeUnwrap();

/** One sync round (export, then import, then deleted records); resolves the round's errors, none when it went through. */
export function createSync(db: Kysely<AppTables>, crm: Pick<SqliteStore, 'journal' | 'leases' | 'history'>, connector: CrmConnector, schema?: string) {
  const [on, app] = schema === undefined ? [{}, db] : [{ schema }, db.withSchema(schema)];
  const options = new KyselyOptionStore(db, on); // crm-sync's watermarks, committed with the rows
  const customers = { name: 'customers', ...on, key: { column: 'id', type: 'integer' }, crmId: 'crm_id', changedAt: 'updated_at', syncedAt: 'synced_at',
    crmChangedAt: 'crm_changed_at', deletedAt: 'deleted_at',
    fields: { first_name: 'text', last_name: { column: 'last_name', type: 'text', nullable: false, maxLength: 40 }, email: 'text' } } as const;
  const tables = kyselyRecordTables(db, { options, tables: [customers] });
  const toRow = (r: RejectItem) => ({ activity: r.activity, crm_id: r.crmId ?? null, local_key: r.localKey ?? null, code: r.code, message: r.message, rejected_at: new Date().toISOString() });
  const rejects = { write: async (items: readonly RejectItem[]) => void (items.length > 0 && (await app.insertInto('sync_rejects').values(items.map(toRow)).execute())) };
  const sync = new Orchestrator({ connector, options, journal: crm.journal, leases: crm.leases, history: crm.history, sink: tables, source: tables, rejects });
  const fields = [{ local: 'first_name', remote: 'FirstName' }, { local: 'last_name', remote: 'LastName' }, { local: 'email', remote: 'Email' }] as const;
  const job = { object: 'Contact', table: 'customers', processRejects: true, fields };
  // Every settled outcome, at least once (again after a crash), in the app's own transaction: idempotent by key.
  const markSynced = ({ outcomes }: ExportBatchResult) => app.transaction().execute(async (trx) => {
    for (const o of outcomes) if (o.outcome !== 'rejected' && o.crmId !== undefined) await trx.updateTable('customers').set({ crm_id: o.crmId, synced_at: new Date().toISOString() }).where('id', '=', Number(o.key)).execute();
  });
  return async (): Promise<RunError[]> => {
    const exported = await sync.runExport({ ...job, kind: 'export', activity: 'exportCustomers', mode: 'auto', syncKey: { remoteField: 'Sync_Key__c' }, changedSince: 'last-export' }, { onBatchSettled: markSynced });
    if (exported.isErr()) return [exported.error]; // import only once the export settled, so an echo finds its row linked
    const imported = await sync.runImport({ ...job, kind: 'import', activity: 'importCustomers', automaticIndex: { enabled: true } });
    const start = new Date(Date.now() - 86_400_000).toISOString(); // the first run only; then the watermark's covered end
    const deleted = await sync.runImportDeleted({ ...job, kind: 'import-deleted', activity: 'importDeletedCustomers', start, automaticIndex: { enabled: true } });
    return [imported, deleted].flatMap((result) => (result.isErr() ? [result.error] : []));
  };
}

/** Runs `round` every `everyMs` (never two at once) until the returned stop, which waits for a running round. */
export function startSyncLoop(round: () => Promise<RunError[]>, everyMs: number, report: (errors: RunError[]) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  const fail = (thrown: unknown) => report([{ kind: 'store', message: String(thrown) }]);
  const timer = setInterval(() => void (running ??= round().then(report, fail).finally(() => (running = undefined))), everyMs);
  return async () => (clearInterval(timer), await running);
}
