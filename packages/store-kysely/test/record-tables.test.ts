/**
 * The table adapter on SQLite and PostgreSQL: typed columns written and read, absent fields never
 * nulled, refused values as per-record rejects (checked before writing and refused by the
 * database), the checkpoint committed with the rows, and the application's transaction deciding.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SourceRecord } from '@crm-sync/sdk';
import { databases, NOW, type Db } from './setup.js';

async function collect(db: Db, options?: Parameters<Db['tables']['read']>[1]): Promise<SourceRecord[]> {
  const rows: SourceRecord[] = [];
  for await (const batch of db.tables.read('customers', options)) rows.push(...batch);
  return rows;
}

for (const database of databases) {
  describe(`kyselyRecordTables on ${database.name}`, () => {
    let db: Db;
    beforeEach(async () => {
      db = await database.open();
    });
    afterEach(async () => {
      await db.close();
    });

    it('imports into typed columns, upserting by CRM id, with the checkpoint in the same transaction', async () => {
      const result = await db.tables.write(
        'customers',
        [
          { crmId: '003A', changedAt: '2024-06-01T00:00:00.000Z', values: { name: 'Ada', email: 'ada@x.test', age: '36', active: true, score: 1.5 } },
          { crmId: '003B', values: { name: 'Bob', age: 41, active: false } },
        ],
        { optionName: 'LASTIMPORT_app_customers', value: '2024/06/01 00:00:00', meta: { at: '2024-06-01T00:00:00.000Z' } },
      );
      expect(result.rejects).toEqual([]);
      await db.tables.write('customers', [{ crmId: '003A', values: { age: 37 } }]);
      const rows = await db.query<Record<string, unknown>>(`SELECT id, crm_id, full_name, email, age, active, score, notes, synced_at, crm_changed_at FROM ${db.customers} ORDER BY id`);
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({ crm_id: '003A', full_name: 'Ada', email: 'ada@x.test', age: 37, score: 1.5, notes: 'kept' });
      expect(Boolean(rows[0]?.active)).toBe(true);
      expect(new Date(String(rows[0]?.crm_changed_at instanceof Date ? (rows[0].crm_changed_at as Date).toISOString() : rows[0]?.crm_changed_at)).toISOString()).toBe('2024-06-01T00:00:00.000Z');
      expect(new Date(rows[0]?.synced_at as string).toISOString()).toBe(NOW.toISOString());
      expect(rows[1]).toMatchObject({ crm_id: '003B', full_name: 'Bob', email: null, age: 41 });
      const option = await db.options.getOption('LASTIMPORT_app_customers');
      expect(option?.value).toBe('2024/06/01 00:00:00');
      expect(option?.meta).toEqual({ at: '2024-06-01T00:00:00.000Z' });
    });

    it('never nulls a column a record does not carry', async () => {
      await db.tables.write('customers', [{ crmId: '003A', values: { name: 'Ada', email: 'ada@x.test', age: 36 } }]);
      await db.tables.write('customers', [{ crmId: '003A', values: { name: 'Ada L.' } }]);
      const [row] = await db.query<Record<string, unknown>>(`SELECT full_name, email, age FROM ${db.customers}`);
      expect(row).toEqual({ full_name: 'Ada L.', email: 'ada@x.test', age: 36 });
    });

    it('refuses single records whose values the columns refuse, writes the rest and commits the checkpoint', async () => {
      await db.tables.write('customers', [{ crmId: '003E', values: { name: 'Eve', age: 30 } }]);
      const result = await db.tables.write(
        'customers',
        [
          { crmId: '003A', values: { name: 'Ada', age: 'thirty' } },
          { crmId: '003B', values: { name: null } },
          { crmId: '003C', values: { name: 'C'.repeat(41) } },
          { crmId: '003D', values: { name: 'Dan', email: 'no-at-sign' } },
          { crmId: '003E', values: { age: 'old' } },
          { crmId: '003F', values: { name: 'Fay', age: 29 } },
        ],
        { optionName: 'LASTIMPORT_app_customers', value: '2024/06/02 00:00:00' },
      );
      const rejects = [...(result.rejects ?? [])].sort((a, b) => a.crmId.localeCompare(b.crmId));
      expect(rejects.map((r) => [r.crmId, r.field])).toEqual([
        ['003A', 'age'],
        ['003B', 'name'],
        ['003C', 'name'],
        ['003D', database.name === 'postgres' ? undefined : undefined],
        ['003E', 'age'],
      ]);
      expect(rejects[0]?.message).toMatch(/column "age" \(integer\) refuses "thirty": not a whole number/);
      expect(rejects[1]?.message).toMatch(/NOT NULL/);
      expect(rejects[2]?.message).toMatch(/longer than 40 characters/);
      expect(rejects[3]?.message).toMatch(/the database refused the row: .*(check|CHECK)/);
      expect(rejects[4]?.localKey).toBeDefined();
      const names = (await db.query<{ full_name: string; age: number }>(`SELECT full_name, age FROM ${db.customers} ORDER BY crm_id`)).map((r) => [r.full_name, r.age]);
      expect(names).toEqual([
        ['Eve', 30],
        ['Fay', 29],
      ]);
      expect((await db.options.getOption('LASTIMPORT_app_customers'))?.value).toBe('2024/06/02 00:00:00');
    });

    it('a duplicate the database refuses is a reject with code duplicate', async () => {
      await db.query(`CREATE UNIQUE INDEX customers_email_unique ON ${db.customers} (email)`);
      await db.tables.write('customers', [{ crmId: '003A', values: { name: 'Ada', email: 'same@x.test' } }]);
      const result = await db.tables.write('customers', [{ crmId: '003B', values: { name: 'Bob', email: 'same@x.test' } }, { crmId: '003C', values: { name: 'Cy' } }]);
      expect(result.rejects).toMatchObject([{ crmId: '003B', code: 'duplicate' }]);
      expect(await db.query(`SELECT crm_id FROM ${db.customers} ORDER BY crm_id`)).toEqual([{ crm_id: '003A' }, { crm_id: '003C' }]);
    });

    it("inside the application's transaction: rows and watermark commit or roll back with it", async () => {
      await expect(
        db.db.transaction().execute(async (trx) => {
          await trx.insertInto(db.dialect === 'postgres' ? `${db.customers.split('.')[0]!.replaceAll('"', '')}.customers` : 'customers').values({ full_name: 'App row' }).execute();
          await db.tables.inTransaction(trx).write('customers', [{ crmId: '003A', values: { name: 'Ada' } }], { optionName: 'LASTIMPORT_app_customers', value: '2024/06/03 00:00:00' });
          throw new Error('the application changed its mind');
        }),
      ).rejects.toThrow(/changed its mind/);
      expect(await db.query(`SELECT full_name FROM ${db.customers}`)).toEqual([]);
      expect(await db.options.getOption('LASTIMPORT_app_customers')).toBeUndefined();

      await db.db.transaction().execute(async (trx) => {
        await db.tables.inTransaction(trx).write('customers', [{ crmId: '003A', values: { name: 'Ada' } }, { crmId: '003B', values: { name: null } }], { optionName: 'LASTIMPORT_app_customers', value: '2024/06/03 00:00:00' });
      });
      expect(await db.query(`SELECT full_name FROM ${db.customers}`)).toEqual([{ full_name: 'Ada' }]);
      expect((await db.options.getOption('LASTIMPORT_app_customers'))?.value).toBe('2024/06/03 00:00:00');
    });

    it('exports only the declared columns, by integer key in numeric order, filtered by change time and keys', async () => {
      for (const [id, name, at] of [[2, 'B', '2024-01-02T00:00:00Z'], [10, 'J', '2024-01-03T00:00:00Z'], [1, 'A', '2024-01-01T00:00:00Z']] as const) {
        await db.query(`INSERT INTO ${db.customers} (id, full_name, age, updated_at, crm_id) VALUES (${id}, '${name}', ${id}, '${at}', ${id === 2 ? "'003B'" : 'NULL'})`);
      }
      const batches: string[][] = [];
      for await (const batch of db.tables.read('customers', { batchSize: 2 })) batches.push(batch.map((r) => r.key));
      expect(batches).toEqual([['1', '2'], ['10']]);
      const all = await collect(db);
      expect(all[1]).toEqual({ key: '2', crmId: '003B', changedAt: '2024-01-02T00:00:00.000Z', values: { name: 'B', email: null, age: 2, active: null, score: null } });
      expect(Object.keys(all[0]!.values)).not.toContain('notes');
      expect((await collect(db, { changedSince: '2024-01-02T00:00:00.000Z' })).map((r) => r.key)).toEqual(['2', '10']);
      expect((await collect(db, { keys: ['10', '1', 'not-a-number'] })).map((r) => r.key)).toEqual(['1', '10']);
      expect(await db.tables.columns('customers')).toEqual(new Set(['name', 'email', 'age', 'active', 'score']));
      expect(await db.tables.columns('nowhere')).toBeUndefined();
    });

    it('links CRM ids (setting synced time) and returns a CRM id another row holds as a conflict', async () => {
      await db.query(`INSERT INTO ${db.customers} (id, full_name, crm_id) VALUES (1, 'A', NULL), (2, 'B', '003B')`);
      const result = await db.tables.linkCrmIds('customers', [{ key: '1', crmId: '003A' }, { key: '1', crmId: '003B' }]);
      expect(result.conflicts).toEqual([{ key: '1', crmId: '003B', heldBy: '2' }]);
      const rows = await db.query<{ id: number; crm_id: string; synced_at: unknown }>(`SELECT id, crm_id, synced_at FROM ${db.customers} ORDER BY id`);
      expect(rows.map((r) => [r.id, r.crm_id])).toEqual([[1, '003A'], [2, '003B']]);
      expect(new Date(rows[0]!.synced_at as string).toISOString()).toBe(NOW.toISOString());
    });

    it('marks CRM deletions, leaves deleted rows out of exports, and an import clears the mark', async () => {
      await db.tables.write('customers', [{ crmId: '003A', values: { name: 'Ada' } }, { crmId: '003B', values: { name: 'Bob' } }]);
      await db.tables.markDeleted('customers', [{ crmId: '003A', deletedAt: '2024-06-05T00:00:00.000Z' }, { crmId: 'unknown', deletedAt: '2024-06-05T00:00:00.000Z' }]);
      expect((await collect(db)).map((r) => r.crmId)).toEqual(['003B']);
      await db.tables.write('customers', [{ crmId: '003A', values: { name: 'Ada' } }]);
      expect((await collect(db)).map((r) => r.crmId)).toEqual(['003A', '003B']);
    });

    it('says what to do for an undeclared table, an undeclared field, and deletions without a deleted column', async () => {
      await expect(db.tables.write('people', [])).rejects.toThrow(/table "people": it is not declared \(declared: customers\)\. Add its spec/);
      await expect(db.tables.write('customers', [{ crmId: '003A', values: { nmae: 'x' } }])).rejects.toThrow(/has no field "nmae".*Declare it in the table's fields/);
      const { kyselyRecordTables } = await import('../src/index.js');
      const bare = kyselyRecordTables(db.db, { tables: [{ name: 'customers', key: { column: 'id', type: 'integer' }, crmId: 'crm_id', fields: {} }] });
      expect(bare.atomicCheckpoint).toBe(false);
      await expect(bare.markDeleted('customers', [])).rejects.toThrow(/declare deletedAt .* or removeDeletedRows: true/);
    });
  });
}
