/**
 * openPostgresStore on the application's own pool or client: on a client, crm-sync's writes join
 * the application's transaction (savepoints); the store never ends a pool or client it did not open.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresClientStore } from '../src/index.js';
import { collectBatches, freshSchema, pgUrl } from './helpers.js';

describe.runIf(pgUrl !== undefined)('openPostgresStore on a shared connection', () => {
  let client: pg.Client;
  let schema: string;
  let store: PostgresClientStore;
  beforeEach(async () => {
    schema = freshSchema();
    client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    store = (await openPostgresStore(client, { schema }))._unsafeUnwrap();
    await client.query(`CREATE TABLE "${schema}".customers (id serial PRIMARY KEY, name text NOT NULL)`);
  });
  afterEach(async () => {
    await store.close();
    await client.end();
  });

  const customers = async (): Promise<number> => Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".customers`)).rows[0]!.n);

  it('writes a page of new records on an application client in pipeline mode (no COPY there: one INSERT)', async () => {
    const pipelined = new pg.Client({ connectionString: pgUrl, pipeline: true } as pg.ClientConfig);
    await pipelined.connect();
    const pipeSchema = freshSchema();
    const piped = (await openPostgresStore(pipelined, { schema: pipeSchema }))._unsafeUnwrap();
    try {
      await piped.records.write('contacts', [{ crmId: '003P', values: { email: 'p@x.test', n: 1 } }], { optionName: 'LASTIMPORT_app_piped', value: '2024/06/03 00:00:00' });
      expect(await piped.records.getLocal('contacts', '003P')).toMatchObject({ crmId: '003P', values: { email: 'p@x.test', n: 1 } });
      expect((await piped.options.getOption('LASTIMPORT_app_piped'))?.value).toBe('2024/06/03 00:00:00');
    } finally {
      await piped.close();
      await pipelined.query(`DROP SCHEMA "${pipeSchema}" CASCADE`).catch(() => undefined);
      await pipelined.end();
    }
  });

  it("commits the application's write and the watermark together", async () => {
    await client.query('BEGIN');
    await client.query(`INSERT INTO "${schema}".customers (name) VALUES ('Ada')`);
    await store.options.setOption('LASTIMPORT_app_customers', '2024/06/01 00:00:00', { at: '2024-06-01T00:00:00.000Z' });
    await client.query('COMMIT');
    expect(await customers()).toBe(1);
    expect((await store.options.getOption('LASTIMPORT_app_customers'))?.value).toBe('2024/06/01 00:00:00');
  });

  it("rolls back the watermark and crm-sync's records with the application's transaction", async () => {
    await client.query('BEGIN');
    await client.query(`INSERT INTO "${schema}".customers (name) VALUES ('Ada')`);
    await store.options.setOption('LASTIMPORT_app_customers', '2024/06/01 00:00:00');
    await store.records.write('contacts', [{ crmId: '003A', values: { email: 'a@x.test' } }], { optionName: 'LASTIMPORT_app_contacts', value: '2024/06/02 00:00:00' });
    await client.query('ROLLBACK');
    expect(await customers()).toBe(0);
    expect(await store.options.getOption('LASTIMPORT_app_customers')).toBeUndefined();
    expect(await store.options.getOption('LASTIMPORT_app_contacts')).toBeUndefined();
    expect((await collectBatches(store.records.read('contacts'))).flat()).toEqual([]);
  });

  it("a failing store call inside the application's transaction undoes only itself", async () => {
    await client.query('BEGIN');
    await client.query(`INSERT INTO "${schema}".customers (name) VALUES ('Ada')`);
    await expect(store.options.setOption('o', 'x', undefined, { key: 'default/none', token: 1 })).rejects.toMatchObject({ code: 'stale-fence' });
    await store.options.setOption('o', 'y');
    await client.query('COMMIT');
    expect(await customers()).toBe(1);
    expect((await store.options.getOption('o'))?.value).toBe('y');
  });

  it('outside a transaction each store call commits on its own, and close() leaves the client connected', async () => {
    await store.options.setOption('o', 'x');
    await store.close();
    expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    const other = new pg.Client({ connectionString: pgUrl });
    await other.connect();
    try {
      expect((await other.query<{ value: string }>(`SELECT value FROM "${schema}".options WHERE name = 'o'`)).rows[0]?.value).toBe('x');
    } finally {
      await other.end();
    }
  });

  it('refuses a client that is inside a transaction at open (the migration would commit it)', async () => {
    await client.query('BEGIN');
    try {
      const opened = await openPostgresStore(client, { schema: freshSchema() });
      expect(opened._unsafeUnwrapErr()).toMatchObject({ code: 'invalid-argument', message: expect.stringMatching(/inside a transaction: open the store .* before BEGIN/) });
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it("on the application's pool: the store takes clients from it and close() does not end it", async () => {
    const pool = new pg.Pool({ connectionString: pgUrl, max: 2 });
    try {
      const shared = (await openPostgresStore(pool, { schema: freshSchema() }))._unsafeUnwrap();
      expect(shared.pool).toBe(pool);
      await shared.options.setOption('o', 'x');
      expect((await shared.options.getOption('o'))?.value).toBe('x');
      await shared.close();
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
