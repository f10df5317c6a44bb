/**
 * The store contract as runner-agnostic checks: each check builds fresh stores with the factory,
 * exercises one promise of the interfaces in `@crm-sync/sdk` (`OptionStore`, `ExportJournal`,
 * `RecordSink`, `RecordSource`, `LeaseStore`, `RunHistoryStore` and the fencing of writes) and throws
 * (`node:assert`) when the store breaks it.
 *
 * @module
 */
import assert from 'node:assert/strict';
import type { ExportJournal, Reject, LeaseStore, NewJournalEntry, OptionStore, RecordSink, RecordSource, RunHistoryStore, SourceRecord } from '@crm-sync/sdk';
import { HOLDER_A, HOLDER_B, JOB, pause, refused, zombieAndHolder } from './fence-helpers.js';
import { historyChecks } from './history-checks.js';

/** The stores under test, built fresh for every check. */
export interface StoresUnderTest {
  readonly options: OptionStore;
  readonly journal: ExportJournal;
  /**
   * The application side, when the store has one. With `atomicCheckpoint` true, its checkpoints
   * must land in `options`.
   */
  readonly records?: RecordSink & RecordSource;
  /**
   * Run leases, when the store has them. They must be the leases the other stores check fences
   * against: a write carrying a stale fence is refused by `options`, `journal` and `records`.
   */
  readonly leases?: LeaseStore;
  /**
   * The run history, when the store has one. With `leases`, it must check the fences of its
   * writes against them like the other stores.
   */
  readonly history?: RunHistoryStore;
  /** Adds local rows to a table, so that `records.read` has something to stream. */
  seed?(table: string, rows: readonly SourceRecord[]): Promise<void>;
  /** Releases the stores (close files, delete temp dirs). */
  close?(): Promise<void>;
}

/** Builds fresh, empty stores. */
export type StoreFactory = () => StoresUnderTest | Promise<StoresUnderTest>;

/** The parts of the store contract, in suite order. */
export const STORE_CHECK_GROUPS = ['options', 'journal', 'records', 'leases', 'history'] as const;

/** A part of the store contract: which store of {@link StoresUnderTest} a check exercises. */
export type StoreCheckGroup = (typeof STORE_CHECK_GROUPS)[number];

/**
 * A typed application table the `records` checks run on, instead of the schemaless tables and
 * string keys they use by default: the application declares its table, the checks adapt (which
 * table and fields they write and read, and which keys they seed and expect, in which order).
 */
export interface StoreRecordTable {
  /** The table name the checks pass to `write`, `read`, `markDeleted`, `linkCrmIds`, `columns` and `seed`. */
  readonly name: string;
  /**
   * The type of its key column. With `integer`, seeded keys are decimal strings (`"1"`, `"2"`,
   * `"10"`) and `read` must stream them in numeric order (`"10"` last, not between `"1"` and `"2"`).
   */
  readonly keyType: 'string' | 'integer';
  /**
   * Three fields of the table (local names) that take text and `null`: the checks write, read
   * and list them. The table may have other columns; the checks never write them.
   */
  readonly textFields: readonly [string, string, string];
  /**
   * True when `markDeleted` marks rows rather than removing them and `read` leaves marked rows
   * out (what the checks expect either way). Informational; default true.
   */
  readonly softDelete?: boolean;
}

/** What the `records` checks write and expect: the default schemaless shape, or a declared table. */
export interface RecordShape {
  /** The table written by imports. */
  readonly imported: string;
  /** The table seeded for exports. */
  readonly seeded: string;
  /** Three text fields. */
  readonly fields: readonly [string, string, string];
  /** The i-th seeded key (i = 1, 2, 3), in the order `read` must stream them. */
  key(i: 1 | 2 | 3): string;
  /** True when the table's columns are declared (known even without rows). */
  readonly typed: boolean;
}

/** The shape of the default checks: schemaless tables `contacts` and `people`, string keys `p1`..`p3`. */
export const SCHEMALESS_RECORDS: RecordShape = {
  imported: 'contacts',
  seeded: 'people',
  fields: ['email', 'phone', 'first_name'],
  key: (i) => `p${i}`,
  typed: false,
};

/** The shape of the checks for a declared table. */
export function recordShapeOf(table: StoreRecordTable | undefined): RecordShape {
  if (table === undefined) return SCHEMALESS_RECORDS;
  const integerKeys = ['1', '2', '10'] as const;
  return {
    imported: table.name,
    seeded: table.name,
    fields: table.textFields,
    key: (i) => (table.keyType === 'integer' ? integerKeys[i - 1]! : `p${i}`),
    typed: true,
  };
}

/** One check of the store contract. */
export interface StoreCheck {
  /** What the store must do, as a sentence. */
  readonly name: string;
  /** Which part of the contract the check needs. */
  readonly needs: StoreCheckGroup;
  /** Runs the check; `shape` is what the `records` checks write (default {@link SCHEMALESS_RECORDS}). */
  run(stores: StoresUnderTest, shape?: RecordShape): Promise<void>;
}

function entry(seq: number, overrides: Partial<NewJournalEntry> = {}): NewJournalEntry {
  return { seq, localKey: `k${seq}`, mode: 'insert', payload: { LastName: `L${seq}`, n: seq, b: true, z: null }, ...overrides };
}

async function collect(source: RecordSource, table: string, options?: Parameters<RecordSource['read']>[1]): Promise<SourceRecord[]> {
  const rows: SourceRecord[] = [];
  for await (const batch of source.read(table, options)) rows.push(...batch);
  return rows;
}

function leases(stores: StoresUnderTest): LeaseStore {
  assert.ok(stores.leases, 'this check needs `leases` from the factory');
  return stores.leases;
}

function records(stores: StoresUnderTest): RecordSink & RecordSource {
  assert.ok(stores.records, 'this check needs `records` from the factory');
  return stores.records;
}

/** Every check of the store contract, in a stable order. */
export const storeChecks: readonly StoreCheck[] = [
  ...coreChecks(),
  ...historyChecks,
];

function coreChecks(): readonly StoreCheck[] {
  return [
  {
    name: 'an option that was never set reads as undefined',
    needs: 'options',
    async run({ options }) {
      assert.equal(await options.getOption('LASTIMPORT_default_missing'), undefined);
    },
  },
  {
    name: 'setOption stores the text and the meta exactly and replaces an earlier value',
    needs: 'options',
    async run({ options }) {
      await options.setOption('LASTIMPORT_default_a', '2024/01/01 00:00:00', { at: '2024-01-01T00:00:00.000Z', id: 'x' });
      await options.setOption('LASTIMPORT_default_a', '2024/06/01 12:30:45', { at: '2024-06-01T12:30:45.123Z', id: '003A' });
      const option = await options.getOption('LASTIMPORT_default_a');
      assert.equal(option?.value, '2024/06/01 12:30:45');
      assert.deepEqual(option?.meta, { at: '2024-06-01T12:30:45.123Z', id: '003A' });
      assert.equal(typeof option?.updatedAt, 'string');
    },
  },
  {
    name: 'setOption without meta drops the earlier meta (a value set by hand carries none)',
    needs: 'options',
    async run({ options }) {
      await options.setOption('o', 'one', { id: 'x' });
      await options.setOption('o', 'two');
      const option = await options.getOption('o');
      assert.equal(option?.value, 'two');
      assert.equal(option?.meta, undefined);
    },
  },
  {
    name: 'listOptions filters by prefix and sorts by name',
    needs: 'options',
    async run({ options }) {
      await options.setOption('LASTIMPORT_b', '2');
      await options.setOption('OTHER', '3');
      await options.setOption('LASTIMPORT_a', '1');
      assert.deepEqual((await options.listOptions('LASTIMPORT_')).map((o) => o.name), ['LASTIMPORT_a', 'LASTIMPORT_b']);
      assert.equal((await options.listOptions()).length, 3);
    },
  },
  {
    name: 'deleteOption removes an option and deleting a missing one is harmless',
    needs: 'options',
    async run({ options }) {
      await options.setOption('gone', 'x');
      await options.deleteOption('gone');
      await options.deleteOption('never-there');
      assert.equal(await options.getOption('gone'), undefined);
    },
  },
  {
    name: 'startRun opens a run that findOpenRun returns, and a second open run for the job is refused',
    needs: 'journal',
    async run({ journal }) {
      const run = await journal.startRun('default/exp');
      assert.equal(run.status, 'open');
      assert.equal((await journal.findOpenRun('default/exp'))?.runId, run.runId);
      assert.equal(await journal.findOpenRun('default/other'), undefined);
      await assert.rejects(() => journal.startRun('default/exp'));
    },
  },
  {
    name: 'addPending stores entries as pending with zero attempts, and re-adding a seq is ignored',
    needs: 'journal',
    async run({ journal }) {
      const { runId } = await journal.startRun('j');
      await journal.addPending(runId, [entry(0), entry(1, { syncKey: 'sk-1', crmId: '003X', mode: 'update' })]);
      await journal.addPending(runId, [entry(1, { localKey: 'changed' })]);
      const entries = await journal.listEntries(runId);
      assert.equal(entries.length, 2);
      assert.equal(entries[1]?.localKey, 'k1');
      assert.equal(entries[1]?.syncKey, 'sk-1');
      assert.equal(entries[1]?.crmId, '003X');
      assert.equal(entries[1]?.mode, 'update');
      assert.deepEqual(entries[0]?.payload, { LastName: 'L0', n: 0, b: true, z: null });
      assert.ok(entries.every((e) => e.state === 'pending' && e.attempts === 0));
    },
  },
  {
    name: 'markSent moves entries to sent in a batch and counts an attempt each time',
    needs: 'journal',
    async run({ journal }) {
      const { runId } = await journal.startRun('j');
      await journal.addPending(runId, [entry(0), entry(1), entry(2)]);
      await journal.markSent(runId, [0, 1], 'b1');
      await journal.markSent(runId, [1], 'b2');
      const [e0, e1, e2] = await journal.listEntries(runId);
      assert.equal(e0?.state, 'sent');
      assert.equal(e0?.batchId, 'b1');
      assert.equal(e0?.attempts, 1);
      assert.equal(e1?.batchId, 'b2');
      assert.equal(e1?.attempts, 2);
      assert.equal(e2?.state, 'pending');
    },
  },
  {
    name: 'recordOutcomes keeps the CRM id, action and reject of each entry',
    needs: 'journal',
    async run({ journal }) {
      const { runId } = await journal.startRun('j');
      await journal.addPending(runId, [entry(0), entry(1), entry(2), entry(3)]);
      await journal.markSent(runId, [0, 1, 2, 3], 'b1');
      await journal.recordOutcomes(runId, [
        { seq: 0, state: 'committed', crmId: '003A', action: 'created' },
        { seq: 1, state: 'rejected', reject: { code: 'validation', symbol: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'no', fields: ['Email'], retryable: false } },
        { seq: 2, state: 'unknown' },
        { seq: 3, state: 'pending' },
      ]);
      const [e0, e1, e2, e3] = await journal.listEntries(runId);
      assert.equal(e0?.state, 'committed');
      assert.equal(e0?.crmId, '003A');
      assert.equal(e0?.action, 'created');
      assert.equal(e1?.state, 'rejected');
      assert.deepEqual(e1?.reject, { code: 'validation', symbol: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'no', fields: ['Email'], retryable: false });
      assert.equal(e2?.state, 'unknown');
      assert.equal(e3?.state, 'pending');
      assert.deepEqual(await journal.countByState(runId), { pending: 1, sent: 0, committed: 1, rejected: 1, unknown: 1 });
    },
  },
  {
    // The send loop issues several batches' steps at once; a store may write them together
    // (group commit), but each must land as if applied alone, in the order issued.
    name: 'batch steps issued together, without awaiting each other, are each applied in the order issued',
    needs: 'journal',
    async run({ journal }) {
      const { runId } = await journal.startRun('j');
      await journal.addPending(runId, [entry(0), entry(1), entry(2), entry(3), entry(4)]);
      await Promise.all([
        journal.markSent(runId, [0, 1], 'b1'),
        journal.markSent(runId, [2, 3], 'b2'),
        journal.markSent(runId, [1], 'b3'),
      ]);
      await Promise.all([
        journal.recordOutcomes(runId, [{ seq: 0, state: 'committed', crmId: 'c0', action: 'created' }]),
        journal.recordOutcomes(runId, [{ seq: 1, state: 'unknown' }, { seq: 2, state: 'committed', crmId: 'c2', action: 'created' }]),
        journal.recordOutcomes(runId, [{ seq: 1, state: 'committed', crmId: 'c1', action: 'updated' }]),
        journal.recordOutcomes(runId, [{ seq: 2, state: 'pending' }]),
      ]);
      const [e0, e1, e2, e3, e4] = await journal.listEntries(runId);
      assert.deepEqual([e0?.state, e0?.crmId, e0?.batchId, e0?.attempts], ['committed', 'c0', 'b1', 1]);
      assert.deepEqual([e1?.state, e1?.crmId, e1?.action, e1?.batchId, e1?.attempts], ['committed', 'c1', 'updated', 'b3', 2]);
      // Committed, then sent back to pending: the CRM id stays, and the values forgotten on commit stay forgotten.
      assert.deepEqual([e2?.state, e2?.crmId, e2?.payload], ['pending', 'c2', {}]);
      assert.deepEqual([e3?.state, e3?.batchId, e3?.attempts, e3?.payload], ['sent', 'b2', 1, entry(3).payload]);
      assert.deepEqual([e4?.state, e4?.attempts], ['pending', 0]);
      assert.deepEqual(await journal.countByState(runId), { pending: 2, sent: 1, committed: 2, rejected: 0, unknown: 0 });
    },
  },
  {
    name: 'listEntries filters by state and pages by afterSeq and limit, in seq order',
    needs: 'journal',
    async run({ journal }) {
      const { runId } = await journal.startRun('j');
      await journal.addPending(runId, [entry(4), entry(2), entry(0), entry(3), entry(1)]);
      await journal.recordOutcomes(runId, [{ seq: 2, state: 'committed', crmId: 'c2', action: 'created' }]);
      assert.deepEqual((await journal.listEntries(runId)).map((e) => e.seq), [0, 1, 2, 3, 4]);
      assert.deepEqual((await journal.listEntries(runId, { states: ['pending'] })).map((e) => e.seq), [0, 1, 3, 4]);
      assert.deepEqual((await journal.listEntries(runId, { afterSeq: 1, limit: 2 })).map((e) => e.seq), [2, 3]);
    },
  },
  {
    name: 'closeRun keeps a finished run and its entries for inspection, and frees the job for a new run',
    needs: 'journal',
    async run({ journal }) {
      const { runId } = await journal.startRun('j');
      await journal.addPending(runId, [entry(0)]);
      await journal.closeRun(runId, 'finished', { created: 1 });
      const run = await journal.getRun(runId);
      assert.equal(run?.status, 'finished');
      assert.equal(typeof run?.finishedAt, 'string');
      assert.deepEqual(run?.summary, { created: 1 });
      assert.equal(await journal.findOpenRun('j'), undefined);
      assert.equal((await journal.listEntries(runId)).length, 1);
      const next = await journal.startRun('j');
      assert.notEqual(next.runId, runId);
      assert.deepEqual((await journal.listRuns('j')).map((r) => r.runId), [next.runId, runId]);
    },
  },
  {
    name: 'a settled entry forgets its values: committed at once, rejected when the run closes; keys, ids and outcomes stay',
    needs: 'journal',
    async run({ journal }) {
      const { runId } = await journal.startRun('j');
      await journal.addPending(runId, [entry(0, { syncKey: 'sk-0' }), entry(1), entry(2), entry(3)]);
      await journal.markSent(runId, [0, 1, 2], 'b1');
      const reject: Reject = { code: 'invalid-value', message: 'bad email', fields: ['Email'], retryable: false };
      await journal.recordOutcomes(runId, [
        { seq: 0, state: 'committed', crmId: 'c0', action: 'created' },
        { seq: 1, state: 'rejected', reject },
        { seq: 2, state: 'unknown' },
      ]);
      const open = await journal.listEntries(runId);
      assert.deepEqual(open[0]?.payload, {}, 'a committed entry keeps no values');
      assert.deepEqual(open[1]?.payload, { LastName: 'L1', n: 1, b: true, z: null }, 'an open run may resend a rejected entry: its values stay until the run closes');
      await journal.closeRun(runId, 'failed');
      const [committed, rejected, unknown, pending] = await journal.listEntries(runId);
      assert.deepEqual(committed?.payload, {});
      assert.equal(committed?.crmId, 'c0');
      assert.equal(committed?.syncKey, 'sk-0');
      assert.equal(committed?.localKey, 'k0');
      assert.equal(committed?.action, 'created');
      assert.deepEqual(rejected?.payload, {});
      assert.deepEqual(rejected?.reject, reject);
      assert.equal(rejected?.localKey, 'k1');
      assert.deepEqual(unknown?.payload, { LastName: 'L2', n: 2, b: true, z: null }, 'an entry in doubt keeps the values it was sent with');
      assert.deepEqual(pending?.payload, { LastName: 'L3', n: 3, b: true, z: null });
    },
  },
  {
    name: 'pruneRuns deletes closed runs finished before the cutoff, never an open run nor one with an entry in doubt; dryRun deletes nothing',
    needs: 'journal',
    async run({ journal }) {
      const done = await journal.startRun('done');
      await journal.addPending(done.runId, [entry(0), entry(1)]);
      await journal.recordOutcomes(done.runId, [{ seq: 0, state: 'committed', crmId: 'c0', action: 'created' }]);
      await journal.closeRun(done.runId, 'finished');
      const doubt = await journal.startRun('doubt');
      await journal.addPending(doubt.runId, [entry(0)]);
      await journal.markSent(doubt.runId, [0], 'b1');
      await journal.recordOutcomes(doubt.runId, [{ seq: 0, state: 'unknown' }]);
      await journal.closeRun(doubt.runId, 'failed');
      const open = await journal.startRun('open');
      await journal.addPending(open.runId, [entry(0)]);
      const later = '9999-12-31T00:00:00.000Z';

      assert.deepEqual(await journal.pruneRuns({ finishedBefore: '2000-01-01T00:00:00.000Z' }), { runIds: [], entries: 0, keptInDoubt: [] });
      const dry = await journal.pruneRuns({ finishedBefore: later, dryRun: true });
      assert.deepEqual(dry, { runIds: [done.runId], entries: 2, keptInDoubt: [doubt.runId] });
      assert.equal((await journal.getRun(done.runId))?.status, 'finished', 'a dry run deletes nothing');

      assert.deepEqual(await journal.pruneRuns({ finishedBefore: later }), dry);
      assert.equal(await journal.getRun(done.runId), undefined);
      assert.equal((await journal.getRun(doubt.runId))?.status, 'failed');
      assert.equal((await journal.findOpenRun('open'))?.runId, open.runId);
      assert.equal((await journal.listEntries(open.runId)).length, 1);
      assert.deepEqual((await journal.listRuns()).map((run) => run.runId).sort(), [doubt.runId, open.runId].sort());
    },
  },
  {
    name: 'write upserts records by crmId: writing the same record twice leaves one row with the newer values',
    needs: 'records',
    async run(stores, shape = SCHEMALESS_RECORDS) {
      const sink = records(stores);
      const [f0] = shape.fields;
      await sink.write(shape.imported, [{ crmId: 'c1', changedAt: '2024-01-01T00:00:00.000Z', values: { [f0]: 'a@x.test' } }]);
      await sink.write(shape.imported, [{ crmId: 'c1', changedAt: '2024-01-02T00:00:00.000Z', values: { [f0]: 'b@x.test' } }]);
      const rows = await collect(sink, shape.imported);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.crmId, 'c1');
      assert.equal(rows[0]?.values[f0], 'b@x.test');
    },
  },
  {
    name: 'with atomicCheckpoint, write stores the checkpoint with the records',
    needs: 'records',
    async run(stores, shape = SCHEMALESS_RECORDS) {
      const sink = records(stores);
      if (!sink.atomicCheckpoint) return;
      await sink.write(shape.imported, [{ crmId: 'c1', values: { [shape.fields[0]]: 'a@x.test' } }], {
        optionName: 'LASTIMPORT_default_imp',
        value: '2024/01/01 00:00:00',
        meta: { at: '2024-01-01T00:00:00.000Z', id: 'c1' },
      });
      const option = await stores.options.getOption('LASTIMPORT_default_imp');
      assert.equal(option?.value, '2024/01/01 00:00:00');
      assert.deepEqual(option?.meta, { at: '2024-01-01T00:00:00.000Z', id: 'c1' });
    },
  },
  {
    name: 'write leaves a field a record does not carry as it was (absent is never null)',
    needs: 'records',
    async run(stores, shape = SCHEMALESS_RECORDS) {
      const sink = records(stores);
      const [f0, f1] = shape.fields;
      await sink.write(shape.imported, [{ crmId: 'c1', values: { [f0]: 'a@x.test', [f1]: '555' } }]);
      await sink.write(shape.imported, [{ crmId: 'c1', values: { [f0]: 'b@x.test' } }]);
      const rows = await collect(sink, shape.imported);
      assert.equal(rows[0]?.values[f0], 'b@x.test');
      assert.equal(rows[0]?.values[f1], '555', `a write without "${f1}" must keep its value`);
    },
  },
  {
    name: 'markDeleted applies deletions by crmId and ignores unknown ids',
    needs: 'records',
    async run(stores, shape = SCHEMALESS_RECORDS) {
      const sink = records(stores);
      const [f0] = shape.fields;
      await sink.write(shape.imported, [{ crmId: 'c1', values: { [f0]: 'a@x.test' } }, { crmId: 'c2', values: { [f0]: 'b@x.test' } }]);
      await sink.markDeleted(shape.imported, [{ crmId: 'c1', deletedAt: '2024-01-03T00:00:00.000Z' }, { crmId: 'nope', deletedAt: '2024-01-03T00:00:00.000Z' }]);
      const rows = await collect(sink, shape.imported);
      assert.deepEqual(rows.map((r) => r.crmId), ['c2']);
    },
  },
  {
    name: 'columns, when the source has it, knows every field name some row holds (null included) and cannot tell for a missing table',
    needs: 'records',
    async run(stores, shape = SCHEMALESS_RECORDS) {
      const source = records(stores);
      if (!source.columns) return;
      const [f0, f1, f2] = shape.fields;
      assert.equal(await source.columns('nowhere'), undefined, 'columns of a table without rows (or not declared) must be undefined (cannot tell), not an empty set');
      if (shape.typed) {
        const declared = await source.columns(shape.imported);
        assert.ok(declared !== undefined, 'columns of a declared table must be a set, rows or not');
        for (const name of shape.fields) assert.ok(declared.has(name), `columns must include the declared field "${name}"`);
      }
      await source.write(shape.imported, [{ crmId: 'c1', values: { [f0]: 'a@x.test', [f1]: null } }, { crmId: 'c2', values: { [f2]: 'B' } }]);
      const columns = await source.columns(shape.imported);
      assert.ok(columns !== undefined, 'columns of a table with rows must be a set');
      for (const name of [f0, f1, f2]) assert.ok(columns.has(name), `columns must include "${name}", which a row holds`);
      assert.ok(!columns.has('first_nmae'), 'columns must not include a name no row holds');
    },
  },
  {
    name: 'read streams seeded rows by key in batches, filtered by keys and changedSince; linkCrmIds links them',
    needs: 'records',
    async run(stores, shape = SCHEMALESS_RECORDS) {
      const source = records(stores);
      if (!stores.seed) return;
      const [f0] = shape.fields;
      const [k1, k2, k3] = [shape.key(1), shape.key(2), shape.key(3)];
      await stores.seed(shape.seeded, [
        { key: k3, values: { [f0]: 'C' }, changedAt: '2024-01-03T00:00:00.000Z' },
        { key: k1, values: { [f0]: 'A' }, changedAt: '2024-01-01T00:00:00.000Z' },
        { key: k2, values: { [f0]: 'B' }, changedAt: '2024-01-02T00:00:00.000Z', crmId: '003B' },
      ]);
      const batches: (readonly SourceRecord[])[] = [];
      for await (const batch of source.read(shape.seeded, { batchSize: 2 })) batches.push(batch);
      assert.deepEqual(batches.map((b) => b.map((r) => r.key)), [[k1, k2], [k3]], 'rows must stream in key order (numeric for integer keys)');
      assert.equal(batches[0]?.[1]?.crmId, '003B');
      assert.equal(batches[0]?.[0]?.values[f0], 'A');
      assert.deepEqual((await collect(source, shape.seeded, { changedSince: '2024-01-02T00:00:00.000Z' })).map((r) => r.key), [k2, k3]);
      assert.deepEqual((await collect(source, shape.seeded, { keys: [k3, k1] })).map((r) => r.key), [k1, k3]);
      if (source.linkCrmIds) {
        await source.linkCrmIds(shape.seeded, [{ key: k1, crmId: '003A' }]);
        assert.equal((await collect(source, shape.seeded, { keys: [k1] }))[0]?.crmId, '003A');
      }
    },
  },
  {
    name: 'linkCrmIds never deletes a row: a CRM id another row holds is returned as a conflict and both rows stay',
    needs: 'records',
    async run(stores, shape = SCHEMALESS_RECORDS) {
      const source = records(stores);
      if (!stores.seed || !source.linkCrmIds) return;
      const [f0] = shape.fields;
      const [k1, k2] = [shape.key(1), shape.key(2)];
      await stores.seed(shape.seeded, [
        { key: k1, values: { [f0]: 'A' } },
        { key: k2, values: { [f0]: 'B' }, crmId: '003B' },
      ]);
      const result = await source.linkCrmIds(shape.seeded, [{ key: k1, crmId: '003B' }]);
      assert.deepEqual(result?.conflicts ?? [], [{ key: k1, crmId: '003B', heldBy: k2 }]);
      const rows = await collect(source, shape.seeded);
      assert.deepEqual(rows.map((r) => [r.key, r.crmId]), [[k1, undefined], [k2, '003B']]);
    },
  },
  {
    name: 'lease: a second holder is refused and sees the holder; getLease returns the lease',
    needs: 'leases',
    async run(stores) {
      const store = leases(stores);
      assert.equal(await store.getLease(JOB), undefined);
      const first = await store.acquireLease(JOB, HOLDER_A, { ttlMs: 60_000 });
      assert.ok(first.acquired);
      assert.equal(first.previous, undefined);
      assert.ok(first.lease.token >= 1);
      assert.deepEqual(first.lease.owner, HOLDER_A);
      assert.ok(first.lease.expiresAt > first.lease.acquiredAt);
      const second = await store.acquireLease(JOB, HOLDER_B, { ttlMs: 60_000 });
      assert.equal(second.acquired, false);
      if (!second.acquired) {
        assert.deepEqual(second.holder.owner, HOLDER_A);
        assert.equal(second.holder.token, first.lease.token);
      }
      assert.equal((await store.getLease(JOB))?.token, first.lease.token);
      // Another job's lease is independent.
      assert.ok((await store.acquireLease('default/other', HOLDER_B, { ttlMs: 60_000 })).acquired);
    },
  },
  {
    name: 'lease: an expired lease is taken over with a higher token, and previous names the old holder',
    needs: 'leases',
    async run(stores) {
      const store = leases(stores);
      const first = await store.acquireLease(JOB, HOLDER_A, { ttlMs: 40 });
      assert.ok(first.acquired);
      await pause(120);
      const second = await store.acquireLease(JOB, HOLDER_B, { ttlMs: 60_000 });
      assert.ok(second.acquired, 'an expired lease must be acquirable');
      assert.ok(second.lease.token > first.lease.token);
      assert.equal(second.previous?.token, first.lease.token);
      assert.deepEqual(second.previous?.owner, HOLDER_A);
    },
  },
  {
    name: 'lease: takeOverToken takes over a live lease only when it equals the current token',
    needs: 'leases',
    async run(stores) {
      const store = leases(stores);
      const first = await store.acquireLease(JOB, HOLDER_A, { ttlMs: 60_000 });
      assert.ok(first.acquired);
      const wrong = await store.acquireLease(JOB, HOLDER_B, { ttlMs: 60_000, takeOverToken: first.lease.token + 7 });
      assert.equal(wrong.acquired, false, 'a takeover with another token must be refused');
      const taken = await store.acquireLease(JOB, HOLDER_B, { ttlMs: 60_000, takeOverToken: first.lease.token });
      assert.ok(taken.acquired);
      assert.equal(taken.lease.token, first.lease.token + 1);
      // A second caller that saw the same dead holder loses the compare-and-set.
      const late = await store.acquireLease(JOB, { ...HOLDER_B, runId: 'run-c' }, { ttlMs: 60_000, takeOverToken: first.lease.token });
      assert.equal(late.acquired, false);
    },
  },
  {
    name: 'lease: release frees the job, and reacquiring gives a higher token (tokens are never reused)',
    needs: 'leases',
    async run(stores) {
      const store = leases(stores);
      const first = await store.acquireLease(JOB, HOLDER_A, { ttlMs: 60_000 });
      assert.ok(first.acquired);
      await store.releaseLease({ key: JOB, token: first.lease.token });
      assert.equal(await store.getLease(JOB), undefined);
      const second = await store.acquireLease(JOB, HOLDER_B, { ttlMs: 60_000 });
      assert.ok(second.acquired);
      assert.equal(second.previous, undefined, 'a released lease is not a takeover');
      assert.equal(second.lease.token, first.lease.token + 1);
      // Releasing with a stale fence is harmless and leaves the holder's lease.
      await store.releaseLease({ key: JOB, token: first.lease.token });
      assert.equal((await store.getLease(JOB))?.token, second.lease.token);
    },
  },
  {
    name: 'lease: renewing extends the lease; renewing a stale fence is rejected with stale-fence',
    needs: 'leases',
    async run(stores) {
      const store = leases(stores);
      const first = await store.acquireLease(JOB, HOLDER_A, { ttlMs: 1_000 });
      assert.ok(first.acquired);
      const renewed = await store.renewLease({ key: JOB, token: first.lease.token }, 120_000);
      assert.equal(renewed.token, first.lease.token);
      assert.ok(renewed.expiresAt > first.lease.expiresAt);
      assert.equal((await store.getLease(JOB))?.expiresAt, renewed.expiresAt);
      const taken = await store.acquireLease(JOB, HOLDER_B, { ttlMs: 60_000, takeOverToken: first.lease.token });
      assert.ok(taken.acquired);
      await refused(() => store.renewLease({ key: JOB, token: first.lease.token }, 60_000), 'renewLease');
    },
  },
  {
    name: "lease: a zombie's late option and journal writes are refused and write nothing; the holder's are accepted",
    needs: 'leases',
    async run(stores) {
      const store = leases(stores);
      const { options, journal } = stores;
      await options.setOption('kept', 'before');
      const early = await store.acquireLease('default/early', HOLDER_A, { ttlMs: 60_000 });
      assert.ok(early.acquired);
      const earlyFence = { key: 'default/early', token: early.lease.token };
      const run = await journal.startRun(JOB);
      await journal.addPending(run.runId, [entry(0), entry(1)]);
      const { zombie, holder } = await zombieAndHolder(store);
      await refused(() => options.setOption('LASTIMPORT_default_leased', '2024/01/01 00:00:00', { at: 'x' }, zombie), 'setOption');
      await refused(() => options.deleteOption('kept', zombie), 'deleteOption');
      await refused(() => journal.startRun('default/zombie-job', zombie), 'startRun');
      await refused(() => journal.addPending(run.runId, [entry(2)], zombie), 'addPending');
      await refused(() => journal.markSent(run.runId, [0], 'zombie-batch', zombie), 'markSent');
      await refused(() => journal.recordOutcomes(run.runId, [{ seq: 1, state: 'committed', crmId: 'Z', action: 'created' }], zombie), 'recordOutcomes');
      await refused(() => journal.closeRun(run.runId, 'failed', undefined, zombie), 'closeRun');
      assert.equal(await options.getOption('LASTIMPORT_default_leased'), undefined);
      assert.equal((await options.getOption('kept'))?.value, 'before');
      assert.equal(await journal.findOpenRun('default/zombie-job'), undefined);
      assert.deepEqual(await journal.countByState(run.runId), { pending: 2, sent: 0, committed: 0, rejected: 0, unknown: 0 });
      assert.equal((await journal.getRun(run.runId))?.status, 'open');
      // The current holder (and another job's holder) write as usual.
      await options.setOption('LASTIMPORT_default_leased', '2024/01/01 00:00:00', undefined, holder);
      await journal.markSent(run.runId, [0], 'b1', holder);
      await journal.recordOutcomes(run.runId, [{ seq: 0, state: 'committed', crmId: 'A', action: 'created' }], holder);
      await journal.closeRun(run.runId, 'finished', undefined, holder);
      await options.setOption('other', 'x', undefined, earlyFence);
      assert.equal((await options.getOption('LASTIMPORT_default_leased'))?.value, '2024/01/01 00:00:00');
      assert.equal((await journal.getRun(run.runId))?.status, 'finished');
      // A released lease fences off its own late writes too.
      await store.releaseLease(holder);
      await refused(() => options.setOption('after-release', 'x', undefined, holder), 'setOption after release');
    },
  },
  {
    name: "lease: a zombie's batch steps issued together with the holder's are refused alone; the holder's are applied",
    needs: 'leases',
    async run(stores) {
      const store = leases(stores);
      const { journal } = stores;
      const run = await journal.startRun(JOB);
      await journal.addPending(run.runId, [entry(0), entry(1), entry(2)]);
      const { zombie, holder } = await zombieAndHolder(store);
      const settled = await Promise.allSettled([
        journal.markSent(run.runId, [0], 'b1', holder),
        journal.markSent(run.runId, [1], 'zombie-batch', zombie),
        journal.recordOutcomes(run.runId, [{ seq: 2, state: 'rejected', reject: { code: 'validation', message: 'no', fields: [], retryable: false } }], holder),
        journal.recordOutcomes(run.runId, [{ seq: 0, state: 'committed', crmId: 'Z', action: 'created' }], zombie),
      ]);
      assert.deepEqual(settled.map((result) => result.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected']);
      for (const result of settled) {
        if (result.status === 'rejected') await refused(() => Promise.reject(result.reason), 'a zombie step issued with the holder\'s');
      }
      const [e0, e1, e2] = await journal.listEntries(run.runId);
      assert.deepEqual([e0?.state, e0?.batchId, e0?.crmId], ['sent', 'b1', undefined]);
      assert.deepEqual([e1?.state, e1?.attempts], ['pending', 0]);
      assert.equal(e2?.state, 'rejected');
    },
  },
  {
    name: "lease: a zombie's late record writes (write with checkpoint, markDeleted, linkCrmIds) are refused and write nothing",
    needs: 'leases',
    async run(stores, shape = SCHEMALESS_RECORDS) {
      const store = leases(stores);
      if (!stores.records) return;
      const sink = stores.records;
      const [f0] = shape.fields;
      const k1 = shape.key(1);
      // Seeded first: on a typed table, imports and seeds share the table and its keys.
      if (stores.seed) await stores.seed(shape.seeded, [{ key: k1, values: { [f0]: 'A' } }]);
      await sink.write(shape.imported, [{ crmId: 'c1', values: { [f0]: 'a@x.test' } }]);
      const { zombie, holder } = await zombieAndHolder(store);
      await refused(() => sink.write(shape.imported, [{ crmId: 'c2', values: { [f0]: 'z@x.test' } }, { crmId: 'c1', values: { [f0]: 'z@x.test' } }], { optionName: 'LASTIMPORT_default_leased', value: '2024/01/01 00:00:00' }, zombie), 'write');
      await refused(() => sink.markDeleted(shape.imported, [{ crmId: 'c1', deletedAt: '2024-01-03T00:00:00.000Z' }], undefined, zombie), 'markDeleted');
      if (stores.seed && sink.linkCrmIds) await refused(() => sink.linkCrmIds!(shape.seeded, [{ key: k1, crmId: '003Z' }], zombie), 'linkCrmIds');
      const rows = await collect(sink, shape.imported);
      assert.deepEqual(rows.filter((r) => r.crmId !== undefined).map((r) => [r.crmId, r.values[f0]]), [['c1', 'a@x.test']]);
      assert.equal(await stores.options.getOption('LASTIMPORT_default_leased'), undefined);
      if (stores.seed) assert.equal((await collect(sink, shape.seeded, { keys: [k1] }))[0]?.crmId, undefined);
      await sink.write(shape.imported, [{ crmId: 'c2', values: { [f0]: 'b@x.test' } }], undefined, holder);
      assert.equal((await collect(sink, shape.imported)).filter((r) => r.crmId !== undefined).length, 2);
    },
  },
  ];
}

/**
 * Runs one check against fresh stores and closes them afterwards, pass or fail. A check of a part
 * the factory did not return (`records`, `leases`, `history`) fails with a message saying how to
 * provide it or declare it left out: a missing part never passes silently.
 */
export async function runStoreCheck(check: StoreCheck, factory: StoreFactory, shape: RecordShape = SCHEMALESS_RECORDS): Promise<void> {
  const stores = await factory();
  try {
    const part = check.needs;
    if ((part === 'records' || part === 'leases' || part === 'history') && stores[part] === undefined) {
      throw new Error(
        `[crm-sync] [testkit] store check "${check.name}" needs \`${part}\` from the factory, which returned none. ` +
          `Return the store's ${part} from the factory, or declare that the store does not implement it: describeStoreContract({ ..., without: ['${part}'] }).`,
      );
    }
    await check.run(stores, shape);
  } finally {
    await stores.close?.();
  }
}
