/**
 * Run leases in the `crm_sync_leases` table of the same SQLite file as the journal, the options and
 * the local tables, so that every fenced write checks its token in its own transaction.
 *
 * Acquisition runs in an IMMEDIATE transaction: SQLite's write lock makes read-check-write atomic
 * across processes. Expiry is decided by this store's clock; on one host all processes share it.
 * A PostgreSQL store does the same with `SELECT ... FOR UPDATE` on the lease row (or an
 * `INSERT ... ON CONFLICT DO NOTHING` first) and the database's `now()`, so that expiry never
 * depends on a worker's clock; fenced writes there check the token with `SELECT token, released
 * FROM leases WHERE key = $1 FOR SHARE` inside the write's transaction.
 *
 * @module
 */
import type { Database, Statement } from 'better-sqlite3';
import {
  StaleFenceError,
  type AcquireLeaseOptions,
  type AcquireLeaseResult,
  type Fence,
  type LeaseOwner,
  type LeaseStore,
  type RunLease,
} from '@crm-sync/sdk';
import { SqliteStoreError, toStoreError } from './errors.js';

interface LeaseRow {
  readonly key: string;
  readonly token: number;
  readonly host: string;
  readonly pid: number;
  readonly run_id: string;
  readonly acquired_at: string;
  readonly renewed_at: string;
  readonly expires_at: string;
  readonly released: number;
}

/** {@link LeaseStore} over the `crm_sync_leases` table; also checks the fences of the other stores. */
export class SqliteLeaseStore implements LeaseStore {
  private readonly selectOne: Statement<[string], LeaseRow>;
  private readonly upsert: Statement<[string, number, string, number, string, string, string, string]>;
  private readonly updateRenewed: Statement<[string, string, string, number]>;
  private readonly updateReleased: Statement<[string, number]>;

  /** Prepares the statements; `now` is the store's clock, which decides expiry. */
  constructor(
    private readonly db: Database,
    private readonly now: () => Date,
  ) {
    this.selectOne = db.prepare('SELECT * FROM crm_sync_leases WHERE key = ?');
    this.upsert = db.prepare(
      `INSERT INTO crm_sync_leases (key, token, host, pid, run_id, acquired_at, renewed_at, expires_at, released)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
       ON CONFLICT (key) DO UPDATE SET token = excluded.token, host = excluded.host, pid = excluded.pid, run_id = excluded.run_id,
         acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at, released = 0`,
    );
    this.updateRenewed = db.prepare('UPDATE crm_sync_leases SET renewed_at = ?, expires_at = ? WHERE key = ? AND token = ? AND released = 0');
    this.updateReleased = db.prepare('UPDATE crm_sync_leases SET released = 1 WHERE key = ? AND token = ?');
  }

  /** See {@link LeaseStore.acquireLease}. */
  async acquireLease(key: string, owner: LeaseOwner, options: AcquireLeaseOptions): Promise<AcquireLeaseResult> {
    checkTtl(options.ttlMs);
    try {
      return this.db.transaction((): AcquireLeaseResult => {
        const now = this.now();
        const row = this.selectOne.get(key);
        const live = row !== undefined && row.released === 0;
        if (live && Date.parse(row.expires_at) > now.getTime() && options.takeOverToken !== row.token) {
          return { acquired: false, holder: toLease(row) };
        }
        const stamp = now.toISOString();
        const token = (row?.token ?? 0) + 1;
        const expiresAt = new Date(now.getTime() + options.ttlMs).toISOString();
        this.upsert.run(key, token, owner.host, owner.pid, owner.runId, stamp, stamp, expiresAt);
        const lease: RunLease = { key, owner: { ...owner }, token, acquiredAt: stamp, renewedAt: stamp, expiresAt };
        return live ? { acquired: true, lease, previous: toLease(row) } : { acquired: true, lease };
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Acquiring the run lease of job "${key}"`);
    }
  }

  /** See {@link LeaseStore.renewLease}. */
  async renewLease(fence: Fence, ttlMs: number): Promise<RunLease> {
    checkTtl(ttlMs);
    try {
      return this.db.transaction((): RunLease => {
        const row = this.assertFence(fence);
        const now = this.now();
        const renewedAt = now.toISOString();
        const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
        this.updateRenewed.run(renewedAt, expiresAt, fence.key, fence.token);
        return { ...toLease(row), renewedAt, expiresAt };
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Renewing the run lease of job "${fence.key}"`);
    }
  }

  /** See {@link LeaseStore.releaseLease}. */
  async releaseLease(fence: Fence): Promise<void> {
    try {
      this.updateReleased.run(fence.key, fence.token);
    } catch (error) {
      throw toStoreError(error, `Releasing the run lease of job "${fence.key}"`);
    }
  }

  /** See {@link LeaseStore.getLease}. */
  async getLease(key: string): Promise<RunLease | undefined> {
    try {
      const row = this.selectOne.get(key);
      return row === undefined || row.released !== 0 ? undefined : toLease(row);
    } catch (error) {
      throw toStoreError(error, `Reading the run lease of job "${key}"`);
    }
  }

  /**
   * Throws {@link StaleFenceError} unless `fence.token` is the current unreleased token of
   * `fence.key`. Call it inside the write's transaction, before writing.
   */
  assertFence(fence: Fence): LeaseRow {
    const row = this.selectOne.get(fence.key);
    if (row === undefined || row.released !== 0 || row.token !== fence.token) {
      throw new StaleFenceError(fence, row === undefined || row.released !== 0 ? undefined : row.token);
    }
    return row;
  }

  /** Checks `fence` (when given) inside an open transaction; a no-op without one. */
  check(fence: Fence | undefined): void {
    if (fence !== undefined) this.assertFence(fence);
  }
}

function toLease(row: LeaseRow): RunLease {
  return {
    key: row.key,
    owner: { host: row.host, pid: row.pid, runId: row.run_id },
    token: row.token,
    acquiredAt: row.acquired_at,
    renewedAt: row.renewed_at,
    expiresAt: row.expires_at,
  };
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new SqliteStoreError('invalid-argument', `ttlMs must be a number of milliseconds > 0, got ${ttlMs}; e.g. 30000.`);
  }
}
