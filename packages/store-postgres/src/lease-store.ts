/**
 * Run leases in the `crm_sync_leases` table of the same schema as the journal, the options and the
 * local tables, so that every fenced write checks its token in its own transaction.
 *
 * Acquisition locks the lease row `FOR UPDATE` (inserting a released placeholder first, so that
 * there is a row to lock) and decides expiry with the server's `now()`: expiry never depends on a
 * worker's clock. Fenced writes lock the row `FOR SHARE` (see `Database.checkFence`).
 *
 * @module
 */
import {
  StaleFenceError,
  type AcquireLeaseOptions,
  type AcquireLeaseResult,
  type Fence,
  type LeaseOwner,
  type LeaseStore,
  type RunLease,
} from '@crm-sync/sdk';
import type { Database } from './database.js';
import { PostgresStoreError } from './errors.js';

interface LeaseRow {
  readonly key: string;
  readonly token: string;
  readonly host: string;
  readonly pid: number;
  readonly run_id: string;
  readonly acquired_at: Date;
  readonly renewed_at: Date;
  readonly expires_at: Date;
  readonly released: boolean;
  readonly live?: boolean;
}

/** {@link LeaseStore} over the `crm_sync_leases` table, on the database's clock. */
export class PostgresLeaseStore implements LeaseStore {
  /** @param db - the store's database */
  constructor(private readonly db: Database) {}

  /** See {@link LeaseStore.acquireLease}. */
  async acquireLease(key: string, owner: LeaseOwner, options: AcquireLeaseOptions): Promise<AcquireLeaseResult> {
    checkTtl(options.ttlMs);
    const table = this.db.table('crm_sync_leases');
    return this.db.transaction(`Acquiring the run lease of job "${key}"`, async (client): Promise<AcquireLeaseResult> => {
      await client.query(
        `INSERT INTO ${table} (key, token, host, pid, run_id, acquired_at, renewed_at, expires_at, released)
         VALUES ($1, 0, '', 0, '', now(), now(), now(), true) ON CONFLICT (key) DO NOTHING`,
        [key],
      );
      const row = (await client.query<LeaseRow>(`SELECT *, expires_at > now() AS live FROM ${table} WHERE key = $1 FOR UPDATE`, [key])).rows[0]!;
      const held = !row.released;
      if (held && row.live === true && options.takeOverToken !== Number(row.token)) return { acquired: false, holder: toLease(row) };
      const updated = (
        await client.query<LeaseRow>(
          `UPDATE ${table} SET token = token + 1, host = $2, pid = $3, run_id = $4, acquired_at = now(), renewed_at = now(),
             expires_at = now() + $5 * interval '1 millisecond', released = false
           WHERE key = $1 RETURNING *`,
          [key, owner.host, owner.pid, owner.runId, options.ttlMs],
        )
      ).rows[0]!;
      const lease = toLease(updated);
      return held ? { acquired: true, lease, previous: toLease(row) } : { acquired: true, lease };
    });
  }

  /** See {@link LeaseStore.renewLease}. */
  async renewLease(fence: Fence, ttlMs: number): Promise<RunLease> {
    checkTtl(ttlMs);
    const table = this.db.table('crm_sync_leases');
    return this.db.transaction(`Renewing the run lease of job "${fence.key}"`, async (client) => {
      const row = (
        await client.query<LeaseRow>(
          `UPDATE ${table} SET renewed_at = now(), expires_at = now() + $3 * interval '1 millisecond'
           WHERE key = $1 AND token = $2 AND NOT released RETURNING *`,
          [fence.key, fence.token, ttlMs],
        )
      ).rows[0];
      if (row === undefined) {
        const current = (await client.query<LeaseRow>(`SELECT * FROM ${table} WHERE key = $1`, [fence.key])).rows[0];
        throw new StaleFenceError(fence, current === undefined || current.released ? undefined : Number(current.token));
      }
      return toLease(row);
    });
  }

  /** See {@link LeaseStore.releaseLease}. */
  async releaseLease(fence: Fence): Promise<void> {
    await this.db.transaction(`Releasing the run lease of job "${fence.key}"`, async (client) => {
      await client.query(`UPDATE ${this.db.table('crm_sync_leases')} SET released = true WHERE key = $1 AND token = $2`, [fence.key, fence.token]);
    });
  }

  /** See {@link LeaseStore.getLease}. */
  async getLease(key: string): Promise<RunLease | undefined> {
    const rows = await this.db.query<LeaseRow>(
      `Reading the run lease of job "${key}"`,
      `SELECT * FROM ${this.db.table('crm_sync_leases')} WHERE key = $1 AND NOT released`,
      [key],
    );
    return rows[0] === undefined ? undefined : toLease(rows[0]);
  }
}

function toLease(row: LeaseRow): RunLease {
  return {
    key: row.key,
    owner: { host: row.host, pid: row.pid, runId: row.run_id },
    token: Number(row.token),
    acquiredAt: row.acquired_at.toISOString(),
    renewedAt: row.renewed_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
  };
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new PostgresStoreError('invalid-argument', `ttlMs must be a number of milliseconds > 0, got ${ttlMs}; e.g. 30000.`);
  }
}
