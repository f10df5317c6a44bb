/**
 * The pool and the transaction helper every store call goes through: one pooled client per
 * transaction, `BEGIN` ... `COMMIT`, the fence checked first, serialization failures and
 * deadlocks retried, a client whose connection broke discarded rather than returned to the pool.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { ClientBase, Pool, PoolClient, QueryConfig } from 'pg';
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

/**
 * Where the store's statements run: a pool (its own or the application's), or one client of the
 * application's (`pg.Client`, or a `PoolClient` it checked out), shared with the application.
 */
export type Connection = { readonly kind: 'pool'; readonly pool: Pool; readonly owned: boolean } | { readonly kind: 'client'; readonly client: ClientBase };

/** The connection, the schema (already quoted) and the table names in it. */
export class Database {
  /** The quoted schema, ready to prefix table names: `"crm_sync"`. */
  readonly q: string;
  private closed = false;
  /** On a shared client: the tail of the queue of store calls (one at a time on one connection). */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * @param connection - the pool or the shared client
   * @param schema - the (checked) schema name
   */
  constructor(
    readonly connection: Connection,
    readonly schema: string,
  ) {
    this.q = `"${schema}"`;
  }

  /** Runs `body` with a client: a pooled one, or the shared client once earlier store calls on it are done. */
  private async withClient<T>(operation: string, body: (client: PoolClient | ClientBase, release: (broken?: boolean) => void) => Promise<T>): Promise<T> {
    const connection = this.connection;
    if (connection.kind === 'pool') {
      let client: PoolClient;
      try {
        client = await connection.pool.connect();
      } catch (error) {
        throw toStoreError(error, operation);
      }
      // A checked-out client has no listener of the pool's: a connection the server ends between
      // two statements (its idle-in-transaction limit, a terminated backend) would emit 'error' with
      // none and crash the process. Its next statement reports the loss instead.
      const onError = (): void => undefined;
      client.on('error', onError);
      return body(client, (broken) => {
        client.off('error', onError);
        client.release(broken === true ? true : undefined);
      });
    }
    const previous = this.queue;
    let done!: () => void;
    this.queue = new Promise<void>((resolve) => {
      done = resolve;
    });
    await previous;
    try {
      return await body(connection.client, () => undefined);
    } finally {
      done();
    }
  }

  /**
   * True when the shared client is inside a transaction of the application's (`BEGIN` sent, no
   * `COMMIT` yet): the store's transaction then joins it as a savepoint.
   */
  private inApplicationTransaction(client: PoolClient | ClientBase): boolean {
    if (this.connection.kind !== 'client') return false;
    const status = client.getTransactionStatus();
    return status === 'T' || status === 'E';
  }

  /** A table of the schema, quoted: `"crm_sync"."options"`. */
  table(name: string): string {
    return `${this.q}."${name}"`;
  }

  /** True once {@link Database.end} was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * True while the application's shared client has a transaction open: what the store creates now
   * (a table) may still be rolled back with it, so it must not be cached as committed.
   */
  get applicationTransactionOpen(): boolean {
    return this.connection.kind === 'client' && this.inApplicationTransaction(this.connection.client);
  }

  /** Ends the pool the store opened; harmless twice. An application's pool or client stays open. */
  async end(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.connection.kind === 'pool' && this.connection.owned) await this.connection.pool.end();
  }

  /**
   * One statement outside a transaction (reads). `options.prepared` runs it as a named statement
   * ({@link prepared}): for statements run many times per job, whose result columns never change.
   */
  async query<R extends object>(operation: string, sql: string, params: readonly unknown[] = [], options: { readonly prepared?: boolean } = {}): Promise<R[]> {
    this.assertOpen(operation);
    const run = async (target: Pool | ClientBase): Promise<R[]> => {
      try {
        const result = options.prepared === true ? await target.query<R>(prepared(sql, [...params])) : await target.query<R>(sql, params as unknown[]);
        return result.rows;
      } catch (error) {
        throw toStoreError(error, operation);
      }
    };
    if (this.connection.kind === 'pool') return run(this.connection.pool);
    return this.withClient(operation, (client) => run(client));
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
      const outcome = await this.withClient(operation, async (client, release): Promise<{ value: T } | { retry: true }> => {
        // Inside the application's transaction: a savepoint, so that the application's COMMIT or
        // ROLLBACK decides for both, and a failure here undoes only this store call.
        const joined = this.inApplicationTransaction(client);
        let broken = false;
        try {
          await client.query(joined ? 'SAVEPOINT crm_sync_call' : 'BEGIN');
          if (fence !== undefined) await this.checkFence(client as PoolClient, fence);
          const value = await body(client as PoolClient);
          await client.query(joined ? 'RELEASE SAVEPOINT crm_sync_call' : 'COMMIT');
          return { value };
        } catch (error) {
          broken = isConnectionLoss(error);
          if (!broken) {
            try {
              await client.query(joined ? 'ROLLBACK TO SAVEPOINT crm_sync_call' : 'ROLLBACK');
            } catch {
              broken = true;
            }
          }
          // A retry inside the application's transaction cannot help: its snapshot is the application's.
          if (!joined && isRetryable(error) && attempt < TRANSACTION_RETRIES) return { retry: true };
          throw toStoreError(error, operation);
        } finally {
          release(broken);
        }
      });
      if ('value' in outcome) return outcome.value;
      await pause(10 * 2 ** attempt + Math.random() * 10);
    }
  }

  /** Throws {@link StaleFenceError} unless `fence.token` is the current unreleased token (inside a transaction). */
  async checkFence(client: PoolClient | ClientBase, fence: Fence): Promise<void> {
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
