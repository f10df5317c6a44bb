/**
 * Named options (the seed's Administration > Options) in the `options` table; watermarks are
 * options named `LASTIMPORT_<instance>_<activity>`.
 *
 * @module
 */
import type { PoolClient } from 'pg';
import type { Fence, OptionStore, StoredOption } from '@crm-sync/sdk';
import { prepared, type Database } from './database.js';

interface OptionRow {
  readonly name: string;
  readonly value: string;
  readonly meta: Record<string, unknown> | null;
  readonly updated_at: string;
}

/** Writes one option row inside an open transaction; shared with the record sink for checkpoints. */
export class OptionWriter {
  /** `now` stamps `updated_at`. */
  constructor(
    private readonly db: Database,
    private readonly now: () => Date,
  ) {}

  /** Creates or replaces an option, in the caller's transaction. */
  async write(client: PoolClient, name: string, value: string, meta?: Readonly<Record<string, unknown>>): Promise<void> {
    await client.query(
      prepared(
        `INSERT INTO ${this.db.table('options')} (name, value, meta, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, meta = excluded.meta, updated_at = excluded.updated_at`,
        [name, value, meta === undefined ? null : JSON.stringify(meta), this.now().toISOString()],
      ),
    );
  }
}

/** {@link OptionStore} over the `options` table of a PostgreSQL store. */
export class PostgresOptionStore implements OptionStore {
  /** The writer is shared with the record sink. */
  constructor(
    private readonly db: Database,
    private readonly writer: OptionWriter,
  ) {}

  /** The option, or `undefined` when it was never set. */
  async getOption(name: string): Promise<StoredOption | undefined> {
    const rows = await this.db.query<OptionRow>(`Reading option "${name}"`, `SELECT * FROM ${this.db.table('options')} WHERE name = $1`, [name]);
    return rows[0] === undefined ? undefined : toStoredOption(rows[0]);
  }

  /** Creates or replaces an option; durable when the promise resolves. A stale `fence` writes nothing. */
  async setOption(name: string, value: string, meta?: Readonly<Record<string, unknown>>, fence?: Fence): Promise<void> {
    await this.db.transaction(`Setting option "${name}"`, (client) => this.writer.write(client, name, value, meta), fence);
  }

  /** Options whose name starts with `prefix` (case-sensitive), sorted by name (byte order). */
  async listOptions(prefix?: string): Promise<readonly StoredOption[]> {
    const all = prefix === undefined || prefix === '';
    // left() instead of LIKE: `_` (common in option names) is a LIKE wildcard.
    const rows = await this.db.query<OptionRow>(
      'Listing options',
      `SELECT * FROM ${this.db.table('options')} ${all ? '' : 'WHERE left(name, length($1)) = $1'} ORDER BY name COLLATE "C"`,
      all ? [] : [prefix],
    );
    return rows.map(toStoredOption);
  }

  /** Removes an option; removing a missing option is harmless. */
  async deleteOption(name: string, fence?: Fence): Promise<void> {
    await this.db.transaction(
      `Deleting option "${name}"`,
      async (client) => {
        await client.query(`DELETE FROM ${this.db.table('options')} WHERE name = $1`, [name]);
      },
      fence,
    );
  }
}

function toStoredOption(row: OptionRow): StoredOption {
  return row.meta === null
    ? { name: row.name, value: row.value, updatedAt: row.updated_at }
    : { name: row.name, value: row.value, meta: row.meta, updatedAt: row.updated_at };
}
