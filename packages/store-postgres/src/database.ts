/**
 * The pool and the transaction helper every store call goes through: one pooled client per
 * transaction, `BEGIN` ... `COMMIT`, the fence checked first, serialization failures and
 * deadlocks retried, a client whose connection broke discarded rather than returned to the pool.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import { StaleFenceError, type Fence } from '@crm-sync/sdk';
import { isConnectionLoss, isRetryable, PostgresStoreError, toStoreError } from './errors.js';

/** How often a transaction that hit a serialization failure or deadlock is run again. */
export const TRANSACTION_RETRIES = 5;

/**
 * A query config for a statement the store runs again and again (a batch step, an import page, the
 * fence check): named after a hash of its text, so each pooled connection parses it once and the
 * server keeps its plan (after five runs PostgreSQL may switch to a generic plan) instead of
 * parsing and planning it on every call; with a batch of a few hundred array elements, that
 * parse-and-plan cost was most of a batch step's time. The same text always gets the same name, so
 * a name never stands for two statements on one connection.
 */
export function prepared(text: string, values: unknown[]): QueryConfig<unknown[]> {
  return { name: `crm_sync_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`, text, values };
}

/** The pool, the schema (already quoted) and the table names in it. */
export class Database {
  /** The quoted schema, ready to prefix table names: `"crm_sync"`. */
  readonly q: string;
  private closed = false;

  /**
   * @param pool - the pool of connections
   * @param schema - the (checked) schema name
   */
  constructor(
    readonly pool: Pool,
    readonly schema: string,
  ) {
    this.q = `"${schema}"`;
  }

  /** A table of the schema, quoted: `"crm_sync"."options"`. */
  table(name: string): string {
    return `${this.q}."${name}"`;
  }

  /** True once {@link Database.end} was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends the pool; harmless twice. */
  async end(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /**
   * One statement outside a transaction (reads). `options.prepared` runs it as a named statement
   * ({@link prepared}): for statements run many times per job, whose result columns never change.
   */
  async query<R extends object>(operation: string, sql: string, params: readonly unknown[] = [], options: { readonly prepared?: boolean } = {}): Promise<R[]> {
    this.assertOpen(operation);
    try {
      const result = options.prepared === true ? await this.pool.query<R>(prepared(sql, [...params])) : await this.pool.query<R>(sql, params as unknown[]);
      return result.rows;
    } catch (error) {
      throw toStoreError(error, operation);
    }
  }

  /**
   * Runs `body` in one transaction on one client. When `fence` is given it is checked first, with
   * the lease row locked `FOR SHARE` until the commit, so a takeover (which locks it `FOR UPDATE`)
   * waits for this write or this write sees the new token: never both. Retries the whole
   * transaction on a serialization failure or deadlock; any other failure rolls back and rejects.
   */
  async transaction<T>(operation: string, body: (client: PoolClient) => Promise<T>, fence?: Fence): Promise<T> {
    this.assertOpen(operation);
    for (let attempt = 0; ; attempt++) {
      let client: PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        throw toStoreError(error, operation);
      }
      let broken = false;
      try {
        await client.query('BEGIN');
        if (fence !== undefined) await this.checkFence(client, fence);
        const value = await body(client);
        await client.query('COMMIT');
        return value;
      } catch (error) {
        broken = isConnectionLoss(error);
        if (!broken) {
          try {
            await client.query('ROLLBACK');
          } catch {
            broken = true;
          }
        }
        if (isRetryable(error) && attempt < TRANSACTION_RETRIES) {
          await pause(10 * 2 ** attempt + Math.random() * 10);
          continue;
        }
        throw toStoreError(error, operation);
      } finally {
        client.release(broken ? true : undefined);
      }
    }
  }

  /**
   * One data-modifying statement of a journal batch step, in one round trip: it writes only when
   * the export run `runId` exists and (with a fence) the fence's token is the current unreleased
   * one, checked in the same statement with the lease row locked `FOR SHARE`; a single statement
   * commits or rolls back as a whole, like a transaction. `write(guard)` returns the statement
   * with `guard` (a boolean SQL expression) in its `WHERE`; its own parameters are `params`.
   * Returns whether the run exists; throws {@link StaleFenceError} when the fence is stale
   * (nothing written). Retried on a serialization failure or deadlock.
   */
  async guardedWrite(
    operation: string,
    guardOn: { readonly runTable: string; readonly runId: string; readonly fence?: Fence | undefined },
    write: (guard: string) => string,
    params: readonly unknown[],
  ): Promise<{ readonly runFound: boolean }> {
    this.assertOpen(operation);
    const values = [...params, guardOn.runId];
    let ctes = `run AS (SELECT 1 FROM ${guardOn.runTable} WHERE run_id = $${values.length})`;
    let guard = 'EXISTS (SELECT 1 FROM run)';
    let select = 'EXISTS (SELECT 1 FROM run) AS run_found';
    const fence = guardOn.fence;
    if (fence !== undefined) {
      values.push(fence.key, fence.token);
      ctes += `, fence AS (SELECT token, released FROM ${this.table('crm_sync_leases')} WHERE key = $${values.length - 1} FOR SHARE)`;
      guard += ` AND EXISTS (SELECT 1 FROM fence WHERE token = $${values.length}::bigint AND NOT released)`;
      select += ', (SELECT token FROM fence) AS token, (SELECT released FROM fence) AS released';
    }
    const sql = `WITH ${ctes}, written AS (${write(guard)}) SELECT ${select}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const row = (await this.pool.query<{ run_found: boolean; token?: string | null; released?: boolean | null }>(prepared(sql, values))).rows[0]!;
        if (fence !== undefined && (row.token === null || row.released === true || Number(row.token) !== fence.token)) {
          throw new StaleFenceError(fence, row.token === null || row.released === true ? undefined : Number(row.token));
        }
        return { runFound: row.run_found };
      } catch (error) {
        if (isRetryable(error) && attempt < TRANSACTION_RETRIES) {
          await pause(10 * 2 ** attempt + Math.random() * 10);
          continue;
        }
        throw toStoreError(error, operation);
      }
    }
  }

  /** Throws {@link StaleFenceError} unless `fence.token` is the current unreleased token (inside a transaction). */
  async checkFence(client: PoolClient, fence: Fence): Promise<void> {
    const rows = (
      await client.query<{ token: string; released: boolean }>(
        prepared(`SELECT token, released FROM ${this.table('crm_sync_leases')} WHERE key = $1 FOR SHARE`, [fence.key]),
      )
    ).rows;
    const row = rows[0];
    if (row === undefined || row.released || Number(row.token) !== fence.token) {
      throw new StaleFenceError(fence, row === undefined || row.released ? undefined : Number(row.token));
    }
  }

  private assertOpen(operation: string): void {
    if (this.closed) {
      throw new PostgresStoreError('closed', `${operation} failed: the store is closed. Open it again with openPostgresStore().`);
    }
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
