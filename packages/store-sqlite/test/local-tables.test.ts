import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRecord } from '@crm-sync/sdk';
import { SqliteStoreError, type SqliteStore } from '../src/index.js';
import { collectBatches, openOrThrow, steppingClock } from './helpers.js';

const checkpoint = { optionName: 'LASTIMPORT_demo_importContacts', value: '2024/03/01 10:00:00', meta: { at: '2024-03-01T10:00:00.000Z', id: '003B' } };

describe('SQLite local tables as record sink', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = openOrThrow(':memory:', { now: steppingClock() });
  });
  afterEach(() => store.close());

  it('declares atomic checkpoints', () => {
    expect(store.records.atomicCheckpoint).toBe(true);
  });

  it('creates the table on first write, keys new rows by CRM id and keeps value types exactly', async () => {
    await store.records.write('contacts', [
      { crmId: '003A', changedAt: '2024-03-01T09:00:00.000Z', values: { email: 'a@example.com', score: 1, active: true, one: '1', note: null } },
    ]);
    expect(await store.records.listTables()).toEqual(['contacts']);
    expect(await store.records.getLocal('contacts', '003A')).toEqual({
      key: '003A',
      crmId: '003A',
      values: { email: 'a@example.com', score: 1, active: true, one: '1', note: null },
      crmChangedAt: '2024-03-01T09:00:00.000Z',
    });
  });

  it('stores the checkpoint with the records', async () => {
    await store.records.write('contacts', [{ crmId: '003A', values: {} }], checkpoint);
    expect(await store.options.getOption(checkpoint.optionName)).toMatchObject({ value: checkpoint.value, meta: checkpoint.meta });
  });

  it('rolls back records AND checkpoint when the write fails part-way', async () => {
    await store.records.write('contacts', [{ crmId: '003OLD', values: { v: 1 } }]);
    const records = [
      { crmId: '003A', values: { v: 2 } },
      { crmId: '003OLD', values: { v: 3 } },
      { crmId: '', values: {} },
    ] as LocalRecord[];
    const attempt = store.records.write('contacts', records, checkpoint);
    await expect(attempt).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(attempt).rejects.toThrow('[crm-sync] [store-sqlite] Record #2 written to local table "contacts" has no crmId (got ""); every imported record needs the CRM\'s id. Nothing of this write was stored.');
    expect(await store.records.getLocal('contacts', '003A')).toBeUndefined();
    expect((await store.records.getLocal('contacts', '003OLD'))?.values).toEqual({ v: 1 });
    expect(await store.options.getOption(checkpoint.optionName)).toBeUndefined();
  });

  it('keeps one row per CRM id when the same record is imported twice, merging values', async () => {
    await store.records.write('contacts', [{ crmId: '003A', values: { email: 'old@example.com', phone: '1' } }]);
    await store.records.write('contacts', [
      { crmId: '003A', values: { email: 'new@example.com' } },
      { crmId: '003A', values: { city: 'Utrecht' } },
    ]);
    expect(await store.records.countLocal('contacts')).toBe(1);
    expect((await store.records.getLocal('contacts', '003A'))?.values).toEqual({ email: 'new@example.com', phone: '1', city: 'Utrecht' });
  });

  it('updates a locally created row linked to the CRM id instead of adding a second row', async () => {
    await store.records.upsertLocal('contacts', 'app-1', { email: 'a@example.com' });
    await store.records.linkCrmIds('contacts', [{ key: 'app-1', crmId: '003A' }]);
    await store.records.write('contacts', [{ crmId: '003A', values: { email: 'crm@example.com' } }]);
    expect(await store.records.countLocal('contacts')).toBe(1);
    expect(await store.records.getLocal('contacts', 'app-1')).toMatchObject({ crmId: '003A', values: { email: 'crm@example.com' } });
  });

  it('never deletes a row when linking: a CRM id another row holds is returned as a conflict and both rows stay', async () => {
    await store.records.upsertLocal('contacts', 'app-1', { email: 'app@example.com' });
    await store.records.upsertLocal('contacts', 'app-2', { email: 'two@example.com' });
    await store.records.write('contacts', [{ crmId: '003A', values: { email: 'crm@example.com', phone: '5' } }]);
    const linked = await store.records.linkCrmIds('contacts', [
      { key: 'app-1', crmId: '003A' },
      { key: 'app-2', crmId: '003B' },
    ]);
    expect(linked.conflicts).toEqual([{ key: 'app-1', crmId: '003A', heldBy: '003A' }]);
    expect(await store.records.countLocal('contacts', { includeDeleted: true })).toBe(3);
    expect(await store.records.getLocal('contacts', 'app-1')).toEqual(expect.not.objectContaining({ crmId: expect.anything() }));
    expect(await store.records.getLocal('contacts', 'app-1')).toMatchObject({ values: { email: 'app@example.com' } });
    expect(await store.records.getLocal('contacts', '003A')).toMatchObject({ crmId: '003A', values: { email: 'crm@example.com', phone: '5' } });
    expect(await store.records.getLocal('contacts', 'app-2')).toMatchObject({ crmId: '003B' });
    // Linking a row to the CRM id it already holds is no conflict.
    expect((await store.records.linkCrmIds('contacts', [{ key: 'app-2', crmId: '003B' }])).conflicts).toEqual([]);
  });

  it('marks rows deleted by CRM id with the checkpoint, ignores unknown ids, and a re-import clears the deletion', async () => {
    await store.records.write('contacts', [{ crmId: '003A', values: {} }, { crmId: '003B', values: {} }]);
    await store.records.markDeleted('contacts', [{ crmId: '003A', deletedAt: '2024-03-02T00:00:00.000Z' }, { crmId: '003UNKNOWN', deletedAt: '2024-03-02T00:00:00.000Z' }], checkpoint);
    expect(await store.records.getLocal('contacts', '003A')).toMatchObject({ deletedAt: '2024-03-02T00:00:00.000Z' });
    expect(await store.records.countLocal('contacts')).toBe(1);
    expect(await store.records.countLocal('contacts', { includeDeleted: true })).toBe(2);
    expect(await store.options.getOption(checkpoint.optionName)).toMatchObject({ value: checkpoint.value });

    await store.records.write('contacts', [{ crmId: '003A', values: { back: true } }]);
    expect(await store.records.getLocal('contacts', '003A')).not.toHaveProperty('deletedAt');
    expect(await store.records.countLocal('contacts')).toBe(2);
  });

  it('refuses an import whose CRM id is a local key already linked to another CRM record', async () => {
    await store.records.upsertLocal('contacts', '003A', {});
    await store.records.linkCrmIds('contacts', [{ key: '003A', crmId: '003Z' }]);
    await expect(store.records.write('contacts', [{ crmId: '003A', values: {} }])).rejects.toMatchObject({ code: 'constraint' });
  });
});

describe('SQLite local tables as record source', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = openOrThrow(':memory:', { now: steppingClock() });
  });
  afterEach(() => store.close());

  it('reads nothing from a table that does not exist, without creating it', async () => {
    expect(await collectBatches(store.records.read('missing'))).toEqual([]);
    expect(await store.records.countLocal('missing')).toBe(0);
    expect(await store.records.listTables()).toEqual([]);
  });

  it('streams 50,000 rows in key order, in full batches, skipping deleted rows', async () => {
    const total = 50_000;
    const all = Array.from({ length: total }, (_, i) => ({ crmId: `003${String(i).padStart(6, '0')}`, values: { n: i } }));
    for (let i = 0; i < total; i += 10_000) await store.records.write('contacts', all.slice(i, i + 10_000));
    await store.records.markDeleted('contacts', [{ crmId: '003000007', deletedAt: '2024-01-01T00:00:00.000Z' }]);

    const batches = await collectBatches(store.records.read('contacts', { batchSize: 1000 }));
    const keys = batches.flat().map((record) => record.key);
    expect(batches.slice(0, -1).every((batch) => batch.length === 1000)).toBe(true);
    expect(keys).toHaveLength(total - 1);
    expect(keys).not.toContain('003000007');
    expect(keys).toEqual([...keys].sort());
    expect(batches[0]?.[0]).toEqual({ key: '003000000', crmId: '003000000', values: { n: 0 } });
  });

  it('lets the caller write to the store between batches (no cursor stays open)', async () => {
    await store.records.write('contacts', Array.from({ length: 30 }, (_, i) => ({ crmId: `c${String(i).padStart(2, '0')}`, values: {} })));
    let seen = 0;
    for await (const batch of store.records.read('contacts', { batchSize: 10 })) {
      seen += batch.length;
      await store.records.markExported('contacts', batch.map((record) => record.key), '2024-05-01T00:00:00.000Z');
    }
    expect(seen).toBe(30);
    expect(await store.records.getLocal('contacts', 'c29')).toMatchObject({ exportedAt: '2024-05-01T00:00:00.000Z' });
  });

  it('reads only rows changed locally at or after changedSince', async () => {
    await store.records.write('contacts', [{ crmId: 'imported', values: {} }]);
    await store.records.upsertLocal('contacts', 'early', { a: 1 }); // stamped 00:00:01
    await store.records.upsertLocal('contacts', 'late', { a: 2 }); // stamped 00:00:02
    const since = (await store.records.getLocal('contacts', 'late'))?.localChangedAt;
    expect(since).toBe('2026-01-01T00:00:02.000Z');
    const read = (await collectBatches(store.records.read('contacts', { changedSince: since! }))).flat();
    expect(read).toEqual([{ key: 'late', values: { a: 2 }, changedAt: '2026-01-01T00:00:02.000Z' }]);
  });

  it('reads only the given keys, in key order, in batches, ignoring unknown keys', async () => {
    await store.records.write('contacts', ['d', 'b', 'a', 'c', 'e'].map((crmId) => ({ crmId, values: {} })));
    const batches = await collectBatches(store.records.read('contacts', { keys: ['e', 'a', 'zz', 'c', 'a'], batchSize: 2 }));
    expect(batches.map((batch) => batch.map((record) => record.key))).toEqual([['a', 'c'], ['e']]);
  });

  it('merges an application change into a row and stamps local_changed_at', async () => {
    await store.records.write('contacts', [{ crmId: '003A', values: { email: 'a@example.com', phone: '1' } }]);
    await store.records.upsertLocal('contacts', '003A', { phone: '2' });
    expect(await store.records.getLocal('contacts', '003A')).toMatchObject({
      values: { email: 'a@example.com', phone: '2' },
      localChangedAt: expect.stringMatching(/^2026-01-01T/),
    });
  });

  it('rejects a batch size below 1 with code invalid-argument', async () => {
    await expect(collectBatches(store.records.read('contacts', { batchSize: 0 }))).rejects.toMatchObject({ code: 'invalid-argument' });
  });
});

describe('SQLite local table names', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = openOrThrow(':memory:');
  });
  afterEach(() => store.close());

  const hostile = [
    'contacts; DROP TABLE options; --',
    'x" (a); --',
    "o'brien",
    'a b',
    '',
    '1contacts',
    'contacts\u0000',
    'c'.repeat(64),
    'é',
  ];
  it.each(hostile)('refuses the hostile name %j with a clear error and runs no SQL', async (name) => {
    const attempt = store.records.write(name, [{ crmId: '003A', values: {} }]);
    await expect(attempt).rejects.toBeInstanceOf(SqliteStoreError);
    await expect(attempt).rejects.toMatchObject({ code: 'invalid-table-name' });
    await expect(attempt).rejects.toThrow(/is not allowed: use 1 to 63 letters, digits or underscores/);
    expect(await store.records.listTables()).toEqual([]);
    expect(await store.options.listOptions()).toEqual([]);
  });

  it.each(['options', 'Journal_Entries', 'local_tables', 'sqlite_master', 'crm_sync_x'])('refuses the reserved name %s', async (name) => {
    await expect(store.records.upsertLocal(name, 'k', {})).rejects.toThrow(/is reserved by crm-sync or SQLite/);
  });

  it('treats names differing only in case as the same table, as SQLite does', async () => {
    await store.records.write('Contacts', [{ crmId: '003A', values: {} }]);
    await store.records.write('contacts', [{ crmId: '003A', values: {} }]);
    expect(await store.records.countLocal('CONTACTS')).toBe(1);
    expect(await store.records.listTables()).toEqual(['Contacts']);
  });
});
