/**
 * Named options (the seed's Administration > Options) in the `options` table; watermarks are
 * options named `LASTIMPORT_<instance>_<activity>`.
 *
 * @module
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Fence, OptionStore, StoredOption } from '@crm-sync/sdk';
import { toStoreError } from './errors.js';
import { fromJsonColumn, toJsonColumn } from './json-column.js';
import type { SqliteLeaseStore } from './lease-store.js';

interface OptionRow {
  readonly name: string;
  readonly value: string;
  readonly meta: string | null;
  readonly updated_at: string;
}

/** Writes one option row; shared with the record sink so a checkpoint joins its transaction. */
export class OptionWriter {
  private readonly upsert: Statement<[string, string, string | null, string]>;

  /** Prepares the statement once; `now` stamps `updated_at`. */
  constructor(
    db: Database,
    private readonly now: () => Date,
  ) {
    this.upsert = db.prepare(
      `INSERT INTO options (name, value, meta, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value, meta = excluded.meta, updated_at = excluded.updated_at`,
    );
  }

  /** Creates or replaces an option. Runs inside whatever transaction is open. */
  write(name: string, value: string, meta?: Readonly<Record<string, unknown>>): void {
    this.upsert.run(name, value, toJsonColumn(meta), this.now().toISOString());
  }
}

/** {@link OptionStore} over the `options` table of a SQLite store. */
export class SqliteOptionStore implements OptionStore {
  private readonly selectOne: Statement<[string], OptionRow>;
  private readonly selectAll: Statement<[], OptionRow>;
  private readonly selectByPrefix: Statement<[string, string], OptionRow>;
  private readonly deleteOne: Statement<[string]>;

  /** Prepares the statements; the writer is shared with the record sink; `leases` checks fences. */
  constructor(
    private readonly db: Database,
    private readonly writer: OptionWriter,
    private readonly leases: SqliteLeaseStore,
  ) {
    this.selectOne = db.prepare('SELECT name, value, meta, updated_at FROM options WHERE name = ?');
    this.selectAll = db.prepare('SELECT name, value, meta, updated_at FROM options ORDER BY name');
    // substr() instead of LIKE: LIKE is case-insensitive and treats `_` (common in option names) as a wildcard.
    this.selectByPrefix = db.prepare(
      'SELECT name, value, meta, updated_at FROM options WHERE substr(name, 1, length(?)) = ? ORDER BY name',
    );
    this.deleteOne = db.prepare('DELETE FROM options WHERE name = ?');
  }

  /** The option, or `undefined` when it was never set. */
  async getOption(name: string): Promise<StoredOption | undefined> {
    try {
      const row = this.selectOne.get(name);
      return row === undefined ? undefined : toStoredOption(row);
    } catch (error) {
      throw toStoreError(error, `Reading option "${name}"`);
    }
  }

  /** Creates or replaces an option; durable when the promise resolves. A stale `fence` writes nothing. */
  async setOption(name: string, value: string, meta?: Readonly<Record<string, unknown>>, fence?: Fence): Promise<void> {
    try {
      this.db.transaction(() => {
        this.leases.check(fence);
        this.writer.write(name, value, meta);
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Setting option "${name}"`);
    }
  }

  /** Options whose name starts with `prefix` (case-sensitive), sorted by name. */
  async listOptions(prefix?: string): Promise<readonly StoredOption[]> {
    try {
      const rows = prefix === undefined || prefix === '' ? this.selectAll.all() : this.selectByPrefix.all(prefix, prefix);
      return rows.map(toStoredOption);
    } catch (error) {
      throw toStoreError(error, 'Listing options');
    }
  }

  /** Removes an option; removing a missing option is harmless. */
  async deleteOption(name: string, fence?: Fence): Promise<void> {
    try {
      this.db.transaction(() => {
        this.leases.check(fence);
        this.deleteOne.run(name);
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Deleting option "${name}"`);
    }
  }
}

function toStoredOption(row: OptionRow): StoredOption {
  const meta = fromJsonColumn<Record<string, unknown>>(row.meta, `options.meta of "${row.name}"`);
  return meta === undefined
    ? { name: row.name, value: row.value, updatedAt: row.updated_at }
    : { name: row.name, value: row.value, meta, updatedAt: row.updated_at };
}
