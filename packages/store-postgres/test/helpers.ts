/**
 * PostgreSQL for the tests: the URL from `CRM_SYNC_PG_URL` (probed once per file; a missing server
 * skips with one line, or fails with `CRM_SYNC_REQUIRE_SERVICES=1`), and one schema per test file,
 * dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { POSTGRES_SERVICE, requireService } from '@crm-sync/testkit';
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../src/index.js';

/** The server's URL, or `undefined` when the tests of this file are skipped. */
export const pgUrl: string | undefined = await requireService(POSTGRES_SERVICE);

/**
 * A fresh schema name prefix for this file; every schema made with {@link freshSchema} is dropped
 * after the file's tests.
 */
const prefix = `t_${randomBytes(4).toString('hex')}`;
const made: string[] = [];
let counter = 0;

/** A new schema name, dropped (with everything in it) after the file. */
export function freshSchema(): string {
  const schema = `${prefix}_${counter++}`;
  made.push(schema);
  return schema;
}

afterAll(async () => {
  if (pgUrl === undefined || made.length === 0) return;
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    for (const schema of made) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

/** Opens a store in a fresh schema (or `options.schema`), failing the test with the store's own message. */
export async function openTestStore(options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  if (pgUrl === undefined) throw new Error('PostgreSQL is not reachable');
  const opened = await openPostgresStore(pgUrl, { schema: freshSchema(), ...options });
  if (opened.isErr()) throw opened.error;
  return opened.value;
}

/** One statement on a separate connection (for setup and fault injection). */
export async function adminQuery<R extends object = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Collects every batch of an async iterable. */
export async function collectBatches<T>(iterable: AsyncIterable<readonly T[]>): Promise<T[][]> {
  const batches: T[][] = [];
  for await (const batch of iterable) batches.push([...batch]);
  return batches;
}
