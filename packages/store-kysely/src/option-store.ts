/**
 * crm-sync's options (watermarks among them) in a table reached through Kysely: the same layout
 * as the `options` table of `@crm-sync/store-sqlite` and `@crm-sync/store-postgres` (name, value,
 * meta, updated_at), so it can be that very table when those stores share the application's
 * database. The table adapter writes its checkpoints here in its own transaction.
 *
 * @module
 */
import { sql, type Kysely } from 'kysely';
import { StaleFenceError, type Fence, type OptionStore, type StoredOption } from '@crm-sync/sdk';
import { detectDialect, type KyselyDialectName } from './dialect.js';

/** Options of {@link KyselyOptionStore}. */
export interface KyselyOptionStoreOptions {
  /** The options table. Default `options` (the crm-sync stores' own table). */
  readonly table?: string;
  /** Its PostgreSQL schema (e.g. the crm-sync store's schema, `crm_sync`). Default: the search path. */
  readonly schema?: string;
  /**
   * The run-lease table fenced writes are checked against, in the same schema: `crm_sync_leases`
   * of the crm-sync stores (default). `false` when there is none: fences are then not checked,
   * which gives no protection against a run that lost its lease.
   */
  readonly leasesTable?: string | false;
  /** Default: detected from the Kysely instance. */
  readonly dialect?: KyselyDialectName;
  /** The clock for `updated_at`. Default the system clock. */
  readonly now?: () => Date;
}

/** The SQL to create an options table of this layout, for applications that keep their own. */
export const OPTIONS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS options (
  name       text PRIMARY KEY,
  value      text NOT NULL,
  meta       text,
  updated_at text NOT NULL
)`;

interface OptionRow {
  name: string;
  value: string;
  meta: unknown;
  updated_at: string;
}

/**
 * Named options over a Kysely table. Every write runs in a transaction (or in the one it was
 * bound to with {@link KyselyOptionStore.inTransaction}) and checks its fence there first.
 */
export class KyselyOptionStore implements OptionStore {
  /** The dialect in use. */
  readonly dialect: KyselyDialectName;
  private readonly table: string;
  private readonly schema: string | undefined;
  private readonly leasesTable: string | false;
  private readonly now: () => Date;

  /**
   * @param db - the application's Kysely instance, or a transaction of it
   * @param options - where the table is; see {@link KyselyOptionStoreOptions}
   */
  constructor(
    readonly db: Kysely<any>,
    private readonly options: KyselyOptionStoreOptions = {},
  ) {
    this.dialect = detectDialect(db, options.dialect);
    this.table = options.table ?? 'options';
    this.schema = options.schema;
    this.leasesTable = options.leasesTable ?? 'crm_sync_leases';
    this.now = options.now ?? (() => new Date());
  }

  /** The same store, running on `trx` (the application's transaction): its writes commit with it. */
  inTransaction(trx: Kysely<any>): KyselyOptionStore {
    return new KyselyOptionStore(trx, { ...this.options, dialect: this.dialect });
  }

  private on(db: Kysely<any>): Kysely<any> {
    return this.schema === undefined ? db : db.withSchema(this.schema);
  }

  /** See {@link @crm-sync/sdk!OptionStore.getOption}. */
  async getOption(name: string): Promise<StoredOption | undefined> {
    const row = (await this.on(this.db).selectFrom(this.table).selectAll().where('name', '=', name).executeTakeFirst()) as OptionRow | undefined;
    return row === undefined ? undefined : toOption(row);
  }

  /** See {@link @crm-sync/sdk!OptionStore.setOption}. */
  async setOption(name: string, value: string, meta?: Readonly<Record<string, unknown>>, fence?: Fence): Promise<void> {
    await this.transaction(async (trx) => {
      if (fence !== undefined) await this.checkFence(trx, fence);
      await this.writeOption(trx, name, value, meta);
    });
  }

  /** See {@link @crm-sync/sdk!OptionStore.listOptions}. */
  async listOptions(prefix?: string): Promise<readonly StoredOption[]> {
    let query = this.on(this.db).selectFrom(this.table).selectAll().orderBy('name');
    if (prefix !== undefined && prefix !== '') query = query.where(sql<string>`substr(name, 1, ${prefix.length})`, '=', prefix);
    return ((await query.execute()) as OptionRow[]).map(toOption);
  }

  /** See {@link @crm-sync/sdk!OptionStore.deleteOption}. */
  async deleteOption(name: string, fence?: Fence): Promise<void> {
    await this.transaction(async (trx) => {
      if (fence !== undefined) await this.checkFence(trx, fence);
      await this.on(trx).deleteFrom(this.table).where('name', '=', name).execute();
    });
  }

  /**
   * Creates or replaces an option on `executor` (a transaction the caller holds): how the table
   * adapter commits a checkpoint with its rows. Checks no fence: the caller checked it in that
   * transaction.
   */
  async writeOption(executor: Kysely<any>, name: string, value: string, meta?: Readonly<Record<string, unknown>>): Promise<void> {
    const row = { name, value, meta: meta === undefined ? null : JSON.stringify(meta), updated_at: this.now().toISOString() };
    await this.on(executor)
      .insertInto(this.table)
      .values(row)
      .onConflict((conflict) => conflict.column('name').doUpdateSet({ value: row.value, meta: row.meta, updated_at: row.updated_at }))
      .execute();
  }

  /**
   * Throws `StaleFenceError` unless `fence.token` is the current unreleased lease token of
   * `fence.key`; call it inside the write's transaction, before writing (PostgreSQL locks the
   * lease row `FOR SHARE` until the commit, so a takeover waits for the write). A no-op with
   * `leasesTable: false`.
   */
  async checkFence(executor: Kysely<any>, fence: Fence): Promise<void> {
    if (this.leasesTable === false) return;
    let query = this.on(executor).selectFrom(this.leasesTable).select(['token', 'released']).where('key', '=', fence.key);
    if (this.dialect === 'postgres') query = query.forShare();
    const row = (await query.executeTakeFirst()) as { token: unknown; released: unknown } | undefined;
    const released = row === undefined || row.released === true || row.released === 1 || row.released === '1';
    if (released || Number(row.token) !== fence.token) throw new StaleFenceError(fence, released ? undefined : Number(row.token));
  }

  /** Runs `body` in a transaction, or directly when this store is bound to one. */
  private async transaction<T>(body: (trx: Kysely<any>) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return body(this.db);
    return this.db.transaction().execute(body);
  }
}

function toOption(row: OptionRow): StoredOption {
  const meta = row.meta === null || row.meta === undefined ? undefined : ((typeof row.meta === 'string' ? JSON.parse(row.meta) : row.meta) as Record<string, unknown>);
  return { name: row.name, value: row.value, ...(meta === undefined ? {} : { meta }), updatedAt: row.updated_at };
}
