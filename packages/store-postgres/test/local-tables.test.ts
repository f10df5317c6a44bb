// Local tables on PostgreSQL: the behaviour of store-sqlite's, on a JSONB column.
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PostgresStore } from '../src/index.js';
import { adminQuery, collectBatches, openTestStore, pgUrl } from './helpers.js';

const originalQuery = pg.Client.prototype.query;

const open: PostgresStore[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
});

async function store(): Promise<PostgresStore> {
  const opened = await openTestStore();
  open.push(opened);
  return opened;
}

describe.skipIf(pgUrl === undefined)('PostgreSQL local tables', () => {
  it('an import merges into the row and keeps local-only fields, keeps JSON types, and revives a deleted row', async () => {
    const s = await store();
    await s.records.write('contacts', [{ crmId: 'A', changedAt: '2026-01-01T00:00:00.000Z', values: { email: 'a@x', n: 1, flag: true, none: null, text: '1' } }]);
    await s.records.upsertLocal('contacts', 'A', { local_note: 'mine' }, { changedAt: '2026-01-02T00:00:00.000Z' });
    await s.records.markDeleted('contacts', [{ crmId: 'A', deletedAt: '2026-01-03T00:00:00.000Z' }]);
    expect((await s.records.getLocal('contacts', 'A'))?.deletedAt).toBe('2026-01-03T00:00:00.000Z');
    expect(await s.records.countLocal('contacts')).toBe(0);
    await s.records.write('contacts', [{ crmId: 'A', values: { email: 'b@x' } }]);
    expect(await s.records.getLocal('contacts', 'A')).toEqual({
      key: 'A',
      crmId: 'A',
      values: { email: 'b@x', n: 1, flag: true, none: null, text: '1', local_note: 'mine' },
      crmChangedAt: '2026-01-01T00:00:00.000Z',
      localChangedAt: '2026-01-02T00:00:00.000Z',
    });
  });

  it('a page of 2,000 records with duplicates is written as one row per CRM id, the later values winning', async () => {
    const s = await store();
    const page = Array.from({ length: 2_000 }, (_, i) => ({ crmId: `C${i % 1_500}`, values: { i } }));
    await s.records.write('contacts', page, { optionName: 'LASTIMPORT_x', value: 'v1' });
    expect(await s.records.countLocal('contacts')).toBe(1_500);
    expect((await s.records.getLocal('contacts', 'C0'))?.values).toEqual({ i: 1_500 });
    expect((await s.options.getOption('LASTIMPORT_x'))?.value).toBe('v1');
  });

  it('adopts a local row whose key is the CRM id and that has no CRM id yet', async () => {
    const s = await store();
    await s.records.upsertLocal('contacts', 'X1', { local: 1 });
    await s.records.write('contacts', [{ crmId: 'X1', values: { remote: 2 } }]);
    expect(await s.records.getLocal('contacts', 'X1')).toMatchObject({ crmId: 'X1', values: { local: 1, remote: 2 } });
    expect(await s.records.countLocal('contacts')).toBe(1);
  });

  it('a page of new records is one COPY; a page that meets existing rows merges them (linked, adoptable, new) with nothing doubled, then new pages go back to COPY', async () => {
    const s = await openTestStore({ poolSize: 1 });
    open.push(s);
    const executions = async (pattern: RegExp): Promise<number> => {
      const rows = (await s.pool.query<{ statement: string; runs: string }>('SELECT statement, generic_plans + custom_plans AS runs FROM pg_prepared_statements')).rows;
      return rows.filter((row) => pattern.test(row.statement)).reduce((sum, row) => sum + Number(row.runs), 0);
    };
    // Every statement the store sends, failed ones included (a COPY is not a prepared statement).
    const sent: string[] = [];
    const watched = new WeakSet<object>();
    s.pool.on('acquire', (client) => {
      if (watched.has(client)) return;
      watched.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (config: unknown, ...rest: unknown[]) => {
        sent.push(typeof config === 'string' ? config : String((config as { text?: unknown }).text));
        return query(config, ...rest);
      };
    });
    const copies = (): number => sent.filter((text) => /^COPY .*"contacts" \(key, crm_id, data, crm_changed_at\) FROM STDIN$/.test(text)).length;
    const merging = /ON CONFLICT \(key\)/;
    await s.records.write('contacts', [{ crmId: 'N1', values: { n: 1 } }], { optionName: 'W', value: '1' });
    expect(copies()).toBe(1);
    expect(await executions(merging)).toBe(0);
    expect(await s.records.getLocal('contacts', 'N1')).toMatchObject({ crmId: 'N1', values: { n: 1 } });
    // Rows the next page meets: one linked to its CRM id under a local key, one keyed by the CRM id without a link.
    await s.records.upsertLocal('contacts', 'local-1', { local: 'kept' });
    await s.records.linkCrmIds('contacts', [{ key: 'local-1', crmId: 'L1' }]);
    await s.records.upsertLocal('contacts', 'A1', { local: 'adopted' });
    const mixed = [
      { crmId: 'N2', values: { n: 2 } },
      { crmId: 'L1', changedAt: '2026-01-01T00:00:00.000Z', values: { n: 3 } },
      { crmId: 'A1', values: { n: 4 } },
      { crmId: 'N1', values: { n: 5 } },
    ];
    await s.records.write('contacts', mixed, { optionName: 'W', value: '2' });
    expect(await s.records.countLocal('contacts')).toBe(4);
    expect(await s.records.getLocal('contacts', 'local-1')).toMatchObject({ crmId: 'L1', values: { local: 'kept', n: 3 }, crmChangedAt: '2026-01-01T00:00:00.000Z' });
    expect(await s.records.getLocal('contacts', 'A1')).toMatchObject({ crmId: 'A1', values: { local: 'adopted', n: 4 } });
    expect(await s.records.getLocal('contacts', 'N1')).toMatchObject({ crmId: 'N1', values: { n: 5 } });
    expect(await s.records.getLocal('contacts', 'N2')).toMatchObject({ crmId: 'N2', values: { n: 2 } });
    expect((await s.options.getOption('W'))?.value).toBe('2');
    expect(await executions(merging)).toBe(1);
    // The next page merges at once (no failed attempt first); all new, so the one after is plain again.
    // The mixed page was tried as a COPY first (refused whole, rolled back), then merged.
    expect(copies()).toBe(2);
    await s.records.write('contacts', [{ crmId: 'N3', values: { n: 6 } }], { optionName: 'W', value: '3' });
    expect(copies()).toBe(2);
    expect(await executions(merging)).toBe(2);
    await s.records.write('contacts', [{ crmId: 'N4', values: { n: 7 } }], { optionName: 'W', value: '4' });
    expect(copies()).toBe(3);
    expect(await executions(merging)).toBe(2);
    expect(await s.records.countLocal('contacts')).toBe(6);
    expect((await s.options.getOption('W'))?.value).toBe('4');
  });

  it('a page of new records stores every value and id exactly as given, whatever it holds (backslashes, tabs, newlines, quotes, \\N, non-ASCII)', async () => {
    const s = await store();
    const awkward = ['back\\slash', 'tab\there', 'new\nline', 'cr\rhere', '"quoted"', '\\N', 'é✓𝄞', '', ' lead and trail ', '\\\\double', 'a\\tb'];
    const records = awkward.map((text, index) => ({
      crmId: `id-${index}-${text}`,
      changedAt: index % 2 === 0 ? `2026-01-0${1 + (index % 9)}T00:00:00.000Z${text}` : undefined,
      values: { text, nothing: null, n: index, flag: index % 3 === 0, score: index + 0.5 },
    })).map((record) => (record.changedAt === undefined ? { crmId: record.crmId, values: record.values } : record));
    await s.records.write('awkward', records);
    expect(await s.records.countLocal('awkward')).toBe(awkward.length);
    for (const record of records) {
      const row = await s.records.getLocal('awkward', record.crmId);
      expect(row?.key).toBe(record.crmId);
      expect(row?.crmId).toBe(record.crmId);
      expect(row?.values).toEqual(record.values);
      expect(row?.crmChangedAt).toBe('changedAt' in record ? record.changedAt : undefined);
    }
  });

  it('reads in byte order of the key (as SQLite), in batches, with changedSince and keys', async () => {
    const s = await store();
    for (const key of ['b', 'B', 'a', 'é', '_', 'A1']) await s.records.upsertLocal('t', key, { key }, { changedAt: key === 'a' ? '2020-01-01T00:00:00.000Z' : '2026-01-01T00:00:00.000Z' });
    const all = (await collectBatches(s.records.read('t', { batchSize: 4 }))).map((batch) => batch.map((row) => row.key));
    expect(all).toEqual([['A1', 'B', '_', 'a'], ['b', 'é']]);
    const since = (await collectBatches(s.records.read('t', { changedSince: '2025-01-01T00:00:00.000Z' }))).flat().map((row) => row.key);
    expect(since).not.toContain('a');
    const keys = (await collectBatches(s.records.read('t', { keys: ['é', 'a', 'missing'], batchSize: 1 }))).map((batch) => batch.map((row) => row.key));
    expect(keys).toEqual([['a'], ['é']]);
  });

  it('repeated statements (journal steps, the checkpoints of import pages) are prepared once per connection and reused', async () => {
    const s = await openTestStore({ poolSize: 1 });
    open.push(s);
    const run = await s.journal.startRun('job');
    await s.journal.addPending(run.runId, [0, 1, 2].map((seq) => ({ seq, localKey: `k${seq}`, mode: 'upsert' as const, payload: { n: seq } })));
    for (const batch of ['b1', 'b2', 'b3']) await s.journal.markSent(run.runId, [0, 1, 2], batch);
    for (const page of [0, 1, 2]) await s.records.write('contacts', [{ crmId: `C${page}`, values: { page } }], { optionName: 'LASTIMPORT_x', value: String(page) });
    const prepared = (await s.pool.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements')).rows;
    const named = (pattern: RegExp): string[] => prepared.filter((row) => pattern.test(row.statement)).map((row) => row.name);
    // The sent marks of chunks the journal wrote are appended to the rows' marks (see export-journal.ts).
    expect(named(/UPDATE .*"journal_chunks" c SET marks = c\.marks \|\|/)).toHaveLength(1);
    // The pages themselves went as COPY (not a prepared statement); all three are there.
    expect(await s.records.countLocal('contacts')).toBe(3);
    expect(named(/INSERT INTO .*"options"/)).toHaveLength(1);
    for (const row of prepared) expect(row.name).toMatch(/^crm_sync_[0-9a-f]{24}$/);
    expect((await s.journal.listEntries(run.runId)).map((entry) => [entry.state, entry.attempts, entry.batchId])).toEqual([
      ['sent', 3, 'b3'],
      ['sent', 3, 'b3'],
      ['sent', 3, 'b3'],
    ]);
  });

  it('linkCrmIds writes only the rows whose id changes, and clears only the rows that give one up', async () => {
    const s = await store();
    for (const key of ['k1', 'k2', 'k3']) await s.records.upsertLocal('t', key, {});
    await s.records.linkCrmIds('t', [{ key: 'k1', crmId: 'A' }]);
    const updates: string[] = [];
    vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const first = args[0] as string | { text?: string };
      const text = typeof first === 'string' ? first : (first.text ?? '');
      if (text.startsWith('UPDATE')) updates.push(text);
      return Reflect.apply(originalQuery, this, args) as never;
    } as never);
    try {
      // k1 keeps A (nothing to write), k2 gets its first id: no row gives one up, nothing is cleared.
      await s.records.linkCrmIds('t', [
        { key: 'k1', crmId: 'A' },
        { key: 'k2', crmId: 'B' },
      ]);
      expect(updates).toHaveLength(1);
      expect(updates[0]).not.toContain('crm_id = NULL');
      // k1 gives A up for C and k3 takes A: k1 is cleared first, so the unique index never trips.
      await s.records.linkCrmIds('t', [
        { key: 'k1', crmId: 'C' },
        { key: 'k3', crmId: 'A' },
      ]);
      expect(updates.filter((text) => text.includes('crm_id = NULL'))).toHaveLength(1);
    } finally {
      vi.restoreAllMocks();
    }
    expect((await s.records.getLocal('t', 'k1'))?.crmId).toBe('C');
    expect((await s.records.getLocal('t', 'k2'))?.crmId).toBe('B');
    expect((await s.records.getLocal('t', 'k3'))?.crmId).toBe('A');
  });

  it('linkCrmIds leaves a row already linked to that id as it is (no new row version)', async () => {
    const s = await store();
    await s.records.upsertLocal('t', 'k1', {});
    await s.records.linkCrmIds('t', [{ key: 'k1', crmId: 'A' }]);
    const version = async (): Promise<string> => (await adminQuery<{ v: string }>(`SELECT xmin::text AS v FROM "${s.schema}"."t" WHERE key = 'k1'`))[0]!.v;
    const before = await version();
    expect(await s.records.linkCrmIds('t', [{ key: 'k1', crmId: 'A' }])).toEqual({ conflicts: [] });
    expect(await version()).toBe(before);
    expect((await s.records.getLocal('t', 'k1'))?.crmId).toBe('A');
  });

  it('linkCrmIds decides links in order: a CRM id moved off one row can go to another in the same call, and a held one is a conflict', async () => {
    const s = await store();
    await s.records.upsertLocal('t', 'k1', {});
    await s.records.upsertLocal('t', 'k2', {});
    await s.records.upsertLocal('t', 'k3', {});
    await s.records.linkCrmIds('t', [{ key: 'k1', crmId: 'A' }]);
    const result = await s.records.linkCrmIds('t', [
      { key: 'k1', crmId: 'C' },
      { key: 'k2', crmId: 'A' },
      { key: 'k3', crmId: 'C' },
      { key: 'nope', crmId: 'Z' },
    ]);
    expect(result.conflicts).toEqual([{ key: 'k3', crmId: 'C', heldBy: 'k1' }]);
    expect((await s.records.getLocal('t', 'k1'))?.crmId).toBe('C');
    expect((await s.records.getLocal('t', 'k2'))?.crmId).toBe('A');
    expect((await s.records.getLocal('t', 'k3'))?.crmId).toBeUndefined();
  });

  it('refuses hostile, reserved and foreign table names with invalid-table-name, and treats names case-insensitively', async () => {
    const s = await store();
    for (const name of ['x; DROP TABLE y', 'options', 'crm_sync_leases', 'pg_class', '']) {
      await expect(s.records.write(name, [{ crmId: '1', values: {} }])).rejects.toMatchObject({ code: 'invalid-table-name' });
    }
    await adminQuery(`CREATE TABLE "${s.schema}".foreign_table (id int)`);
    await expect(s.records.countLocal('foreign_table')).rejects.toMatchObject({ code: 'invalid-table-name' });
    await s.records.write('Contacts', [{ crmId: '1', values: {} }]);
    expect(await s.records.countLocal('contacts')).toBe(1);
    expect(await s.records.listTables()).toEqual(['contacts']);
  });

  it('the application reads and writes the JSONB column with plain SQL, and the next export sees its change', async () => {
    const s = await store();
    await s.records.write('contacts', [{ crmId: '003A', values: { email: 'a@example.com', status: 'new' } }]);
    await adminQuery(
      `UPDATE "${s.schema}".contacts SET data = data || jsonb_build_object('status', 'vip'),
         local_changed_at = to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') WHERE key = '003A'`,
    );
    const rows = await adminQuery<{ email: string }>(`SELECT data->>'email' AS email FROM "${s.schema}".contacts WHERE data->>'status' = 'vip'`);
    expect(rows).toEqual([{ email: 'a@example.com' }]);
    const changed = (await collectBatches(s.records.read('contacts', { changedSince: '2020-01-01T00:00:00.000Z' }))).flat();
    expect(changed).toMatchObject([{ key: '003A', crmId: '003A', values: { email: 'a@example.com', status: 'vip' } }]);
  });
});
