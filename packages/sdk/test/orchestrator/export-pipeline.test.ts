/**
 * The export send loop of a run this invocation opened: it sends each page of records once the
 * page is journaled pending, straight from the load (no read back from the journal), and the load
 * runs a bounded distance ahead of the sends (memory holds a few load steps, not the source).
 */
import { ResultAsync } from 'neverthrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CrmIdLink, ExportJob, ExportJournal, RecordSource } from '../../src/index.js';
import { harnesses, withMethod, type Harness } from './harnesses.js';
import { makeRig, peopleExportJob, type Rig } from './setup.js';

const mock = harnesses[0]!;

describe('export send loop (mock)', () => {
  let harness: Harness;
  beforeEach(async () => {
    harness = await mock.setup();
  });
  afterEach(async () => {
    await mock.teardown?.(harness);
  });

  function job(): ExportJob {
    return peopleExportJob(harness, { mode: 'upsert', syncKey: { remoteField: harness.names.syncKey } });
  }

  function seed(rig: Rig, count: number): void {
    for (let i = 0; i < count; i += 1) rig.records.put('people', `p${String(i).padStart(6, '0')}`, { last_name: `Last ${i}`, email: `p${i}@example.test` });
  }

  /** The journal, counting the reads of its entries. */
  function countingReads(inner: ExportJournal): { journal: ExportJournal; reads: () => number } {
    let reads = 0;
    const journal = new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'listEntries') {
          return (...args: Parameters<ExportJournal['listEntries']>) => {
            reads += 1;
            return target.listEntries(...args);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { journal, reads: () => reads };
  }

  it('a fresh run sends from the load and links from memory: it never reads its entries back from the journal', async () => {
    const base = makeRig(harness);
    seed(base, 3_000);
    const counting = countingReads(base.journal);
    const summary = (await makeRig(harness, { journal: counting.journal }, base).orchestrator.runExport(job()))._unsafeUnwrap();
    expect(summary.created).toBe(3_000);
    expect(counting.reads()).toBe(0);
    expect(harness.crm.contacts()).toHaveLength(3_000);
    expect(base.records.rows('people').every((row) => row.crmId !== undefined)).toBe(true);
    const run = (await base.journal.listRuns())[0]!;
    expect(run.status).toBe('finished');
    expect(await base.journal.countByState(run.runId)).toMatchObject({ pending: 0, sent: 0, unknown: 0, committed: 3_000 });
  });

  it('the load runs a bounded distance ahead of the sends: with every CRM slot busy, most of the source is not read yet', async () => {
    const base = makeRig(harness);
    const rows = 50_000;
    seed(base, rows);
    let read = 0;
    const source = new Proxy(base.records as RecordSource, {
      get(target, property, receiver) {
        if (property === 'read') {
          return (...args: Parameters<RecordSource['read']>) => ({
            async *[Symbol.asyncIterator]() {
              for await (const batch of target.read(...args)) {
                read += batch.length;
                yield batch;
              }
            },
          });
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let calls = 0;
    const connector = withMethod(harness.connector, 'upsertBatch', (inner) => (request, options) => {
      calls += 1;
      return new ResultAsync(gate.then(() => inner.upsertBatch(request, options)));
    });
    const running = makeRig({ ...harness, connector }, { source }, base).orchestrator.runExport(job());
    while (calls < harness.connector.capabilities.concurrency) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The step sent from (5,000 entries), at most 10,000 journaled ahead of the sends and one more
    // step read: never the whole source.
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(21_000);
    open();
    const summary = (await running)._unsafeUnwrap();
    expect(read).toBe(rows);
    expect(summary.created).toBe(rows);
    expect(harness.crm.contacts()).toHaveLength(rows);
  });

  /** The rig's local rows, with `linkCrmIds` replaced by `link` (which may call the real one). */
  function linkingSource(rig: Rig, link: (links: readonly CrmIdLink[], inner: RecordSource['linkCrmIds']) => ReturnType<NonNullable<RecordSource['linkCrmIds']>>): RecordSource {
    return new Proxy(rig.records as RecordSource, {
      get(target, property, receiver) {
        if (property === 'linkCrmIds') return (table: string, links: readonly CrmIdLink[], fence?: Parameters<NonNullable<RecordSource['linkCrmIds']>>[2]) => link(links, (t, l, f) => target.linkCrmIds!(t ?? table, l, f ?? fence));
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  it('a fresh run links its rows while later batches are in flight, not all after the last one', async () => {
    const base = makeRig(harness);
    seed(base, 3_000);
    const linkedAtCall: number[] = [];
    const connector = withMethod(harness.connector, 'upsertBatch', (inner) => (request, options) =>
      // Time for the link calls already started to finish: none has, in a run that links at its end.
      ResultAsync.fromSafePromise(new Promise((resolve) => setTimeout(resolve, 5))).andThen(() => {
        linkedAtCall.push(base.records.rows('people').filter((row) => row.crmId !== undefined).length);
        return inner.upsertBatch(request, options);
      }),
    );
    const summary = (await makeRig({ ...harness, connector }, {}, base).orchestrator.runExport(job()))._unsafeUnwrap();
    expect(summary.created).toBe(3_000);
    expect(linkedAtCall).toHaveLength(15);
    // Links go to the store 1,000 at a time, once their outcomes are journaled.
    expect(linkedAtCall[0]).toBe(0);
    expect(linkedAtCall.at(-1)).toBeGreaterThanOrEqual(2_000);
    expect(linkedAtCall.every((linked) => linked % 1_000 === 0)).toBe(true);
    expect(base.records.rows('people').every((row) => row.crmId !== undefined)).toBe(true);
  });

  it('a link call that fails while the run goes on fails the run when it ends; the next run links every row and creates nothing twice', async () => {
    const base = makeRig(harness);
    seed(base, 3_000);
    let calls = 0;
    const failing = linkingSource(base, (links, inner) => {
      calls += 1;
      if (calls === 1) return Promise.reject(new Error('local table is locked'));
      return inner!('people', links);
    });
    const failed = await makeRig(harness, { source: failing }, base).orchestrator.runExport(job());
    expect(failed.isErr()).toBe(true);
    expect(failed._unsafeUnwrapErr().message).toContain('local table is locked');
    // The sends went on: every record is committed in the journal, and the run is left open.
    const open = (await base.journal.listRuns()).find((run) => run.status === 'open')!;
    expect(await base.journal.countByState(open.runId)).toMatchObject({ pending: 0, sent: 0, unknown: 0, committed: 3_000 });
    expect(harness.crm.contacts()).toHaveLength(3_000);
    const again = (await base.orchestrator.runExport(job()))._unsafeUnwrap();
    expect(again.created).toBe(3_000);
    expect(harness.crm.contacts()).toHaveLength(3_000);
    expect(base.records.rows('people').every((row) => row.crmId !== undefined)).toBe(true);
  });

  it('a CRM id another row holds, found by a link call made while the run goes on, is one reject and the other rows are linked', async () => {
    const base = makeRig(harness);
    seed(base, 1_500);
    let first = true;
    const connector = withMethod(harness.connector, 'upsertBatch', (inner) => (request, options) =>
      inner.upsertBatch(request, options).map((outcomes) => {
        const created = outcomes[0];
        // While the first batch is out, an "import" brings its first record in under its CRM id as key.
        if (first && created?.ok) base.records.put('people', `imported-${created.id}`, { last_name: 'from import' }, { crmId: created.id });
        first = false;
        return outcomes;
      }),
    );
    let linkCalls = 0;
    const source = linkingSource(base, (links, inner) => {
      linkCalls += 1;
      return inner!('people', links);
    });
    const summary = (await makeRig({ ...harness, connector }, { source }, base).orchestrator.runExport({ ...job(), processRejects: true }))._unsafeUnwrap();
    expect(linkCalls).toBe(2);
    expect(summary.created).toBe(1_500);
    expect(summary.rejected).toBe(1);
    const duplicates = base.rejects.filter((item) => item.code === 'duplicate');
    expect(duplicates).toHaveLength(1);
    expect(duplicates[0]!.localKey).toBe('p000000');
    expect(base.records.rows('people').filter((row) => row.crmId === undefined).map((row) => row.key)).toEqual(['p000000']);
  });
});
