/**
 * What an export tells the application: every record's outcome per settled batch
 * (`onBatchSettled`, at least once across resumes), summaries counted by what happened to each
 * record whichever invocation settled it, incremental export since the last finished run, and no
 * journal run when there is nothing to export.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryExportJournal, SINCE_LAST_EXPORT, type ExportBatchResult, type ExportJob, type ExportJournal } from '../../src/index.js';
import { mockHarness, type Harness } from './harnesses.js';
import { makeRig, peopleExportJob, type Rig } from './setup.js';

const factory = mockHarness();

/** A journal whose `recordOutcomes` throws on its `nth` call: the process "dies" after the CRM answered that batch. */
function journalThatDiesAt(inner: ExportJournal, nth: number): ExportJournal {
  let calls = 0;
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'recordOutcomes') {
        return async (...args: Parameters<ExportJournal['recordOutcomes']>) => {
          calls += 1;
          if (calls === nth) throw new Error('process killed (simulated)');
          return target.recordOutcomes(...args);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('export outcomes', () => {
  let harness: Harness;
  beforeEach(async () => {
    harness = await factory.setup();
  });
  afterEach(async () => {
    await factory.teardown?.(harness);
  });

  function job(overrides: Partial<ExportJob> = {}): ExportJob {
    return peopleExportJob(harness, { batchSize: 10, syncKey: { remoteField: harness.names.syncKey }, ...overrides });
  }

  function seed(rig: Rig, count: number, from = 0, changedAt?: string): void {
    for (let i = from; i < from + count; i += 1) {
      rig.records.put('people', `p${String(i).padStart(5, '0')}`, { last_name: `Last ${i}`, email: `p${i}@example.test` }, changedAt === undefined ? {} : { changedAt });
    }
  }

  /** Outcomes per local key, across every delivery. */
  function byKey(batches: readonly ExportBatchResult[]): Map<string, string[]> {
    const seen = new Map<string, string[]>();
    for (const batch of batches) for (const outcome of batch.outcomes) seen.set(outcome.key, [...(seen.get(outcome.key) ?? []), outcome.outcome]);
    return seen;
  }

  it('delivers every record once per settled batch: created with its CRM id, updated, and rejected with the reject', async () => {
    const rig = makeRig(harness);
    seed(rig, 25);
    rig.records.put('people', 'bad', { last_name: 'Bad', email: 'no-at-sign' });
    const first: ExportBatchResult[] = [];
    const created = (await rig.orchestrator.runExport(job(), { onBatchSettled: (batch) => void first.push(batch) }))._unsafeUnwrap();
    expect(created).toMatchObject({ created: 25, rejected: 1 });
    const outcomes = first.flatMap((batch) => batch.outcomes);
    expect(outcomes).toHaveLength(26);
    expect(new Set(first.map((batch) => batch.runId))).toEqual(new Set([created.runId]));
    expect(first.map((batch) => batch.batch)).toEqual(first.map((_, index) => index + 1));
    const p3 = outcomes.find((outcome) => outcome.key === 'p00003');
    expect(p3).toEqual({ key: 'p00003', crmId: rig.records.rows('people').find((row) => row.key === 'p00003')?.crmId, outcome: 'created' });
    const bad = outcomes.find((outcome) => outcome.key === 'bad');
    expect(bad).toMatchObject({ outcome: 'rejected', reject: { localKey: 'bad', code: expect.any(String), operation: 'export', activity: 'exportContacts' } });
    expect(bad?.reject?.fields.length).toBeGreaterThan(0);

    rig.records.put('people', 'p00004', { last_name: 'Changed', email: 'p4@example.test' });
    const second: ExportBatchResult[] = [];
    (await rig.orchestrator.runExport(job({ keys: ['p00004'] }), { onBatchSettled: (batch) => void second.push(batch) }))._unsafeUnwrap();
    expect(second.flatMap((batch) => batch.outcomes)).toEqual([{ key: 'p00004', crmId: p3 === undefined ? undefined : expect.any(String), outcome: 'updated' }]);
  });

  it('awaits the callback: two calls never overlap, even with batches in flight concurrently', async () => {
    const rig = makeRig(harness);
    seed(rig, 60);
    let inside = 0;
    let overlapped = false;
    let calls = 0;
    const summary = await rig.orchestrator.runExport(job(), {
      onBatchSettled: async () => {
        inside += 1;
        if (inside > 1) overlapped = true;
        calls += 1;
        await new Promise((resolve) => setImmediate(resolve));
        inside -= 1;
      },
    });
    expect(summary.isOk()).toBe(true);
    expect(calls).toBe(6);
    expect(overlapped).toBe(false);
  });

  it('a throwing callback stops the run with kind callback, sends nothing more, and the resumed run delivers those outcomes again', async () => {
    const rig = makeRig(harness);
    seed(rig, 200);
    const failed = (
      await rig.orchestrator.runExport(job({ mode: 'insert' }), {
        onBatchSettled: (batch) => {
          if (batch.batch === 2) throw new Error('the app database is locked');
        },
      })
    )._unsafeUnwrapErr();
    expect(failed.kind).toBe('callback');
    expect(failed.message).toMatch(/onBatchSettled threw .*the app database is locked.*run the job again/);
    const sentBeforeStop = harness.crm.contacts().length;
    expect(sentBeforeStop).toBeLessThan(200);
    expect((await rig.journal.listRuns())[0]?.status).toBe('open');

    const delivered: ExportBatchResult[] = [];
    const resumed = (await rig.orchestrator.runExport(job({ mode: 'insert' }), { onBatchSettled: (batch) => void delivered.push(batch) }))._unsafeUnwrap();
    const seen = byKey(delivered);
    // At least once: every record is delivered in the resumed invocation, those settled earlier included, each once here.
    expect(seen.size).toBe(200);
    expect([...seen.values()].every((outcomes) => outcomes.length === 1 && outcomes[0] === 'created')).toBe(true);
    expect(resumed).toMatchObject({ created: 200, updated: 0, skipped: 0 });
    expect(harness.crm.contacts()).toHaveLength(200);
  });

  it('a run killed mid-export and resumed counts each record by what happened to it: in-flight creates as created, earlier rejects as rejected', async () => {
    const base = makeRig(harness);
    seed(base, 30);
    base.records.put('people', 'bad', { last_name: 'Bad', email: 'no-at-sign' });
    // Ten records already linked to the CRM: they are updates.
    const linked = makeRig(harness, {}, base);
    (await linked.orchestrator.runExport(job({ keys: ['p00020', 'p00021', 'p00022', 'p00023', 'p00024', 'p00025', 'p00026', 'p00027', 'p00028', 'p00029'] })))._unsafeUnwrap();
    for (const key of ['p00020', 'p00021']) base.records.put('people', key, { last_name: `Changed ${key}`, email: `${key}@example.test` }, { crmId: base.records.rows('people').find((row) => row.key === key)!.crmId! });

    // Killed when the answer to the third batch came back: the CRM applied it, the journal never heard.
    const crashed = await makeRig(harness, { journal: journalThatDiesAt(base.journal, 3) }, base).orchestrator.runExport(job());
    expect(crashed._unsafeUnwrapErr().kind).toBe('store');
    const resumed = (await base.orchestrator.runExport(job()))._unsafeUnwrap();
    expect(resumed.notes.join('\n')).toMatch(/settled by an earlier invocation/);
    const unchangedOrUpdated = resumed.updated + resumed.unchanged;
    expect(resumed).toMatchObject({ created: 20, rejected: 1, skipped: 0 });
    expect(unchangedOrUpdated).toBe(10);
    expect(harness.crm.contacts()).toHaveLength(30);
  });

  it('opens no journal run when there is nothing to export, and says so', async () => {
    const rig = makeRig(harness);
    seed(rig, 3, 0, '2020-01-01T00:00:00.000Z');
    const summary = (await rig.orchestrator.runExport(job({ changedSince: '2024-01-01T00:00:00.000Z' })))._unsafeUnwrap();
    expect(summary.runId).toBeUndefined();
    expect(summary).toMatchObject({ read: 0, created: 0, updated: 0 });
    expect(summary.notes.join('\n')).toMatch(/nothing to export: table "people" has no rows changed since 2024-01-01T00:00:00.000Z; no journal run was opened/);
    expect(await rig.journal.listRuns()).toEqual([]);
    expect(harness.crm.contacts()).toHaveLength(0);
  });

  it("changedSince 'last-export' sends the rows changed since the start of the last finished export, and nothing when none changed", async () => {
    let now = new Date('2025-03-01T00:00:00.000Z');
    const journal = new MemoryExportJournal(() => now);
    const base = makeRig(harness, { journal });
    seed(base, 3, 0, '2020-01-01T00:00:00.000Z');
    const incremental = job({ changedSince: SINCE_LAST_EXPORT });

    const first = (await base.orchestrator.runExport(incremental))._unsafeUnwrap();
    expect(first).toMatchObject({ read: 3, created: 3 });
    expect(first.notes.join('\n')).toMatch(/no finished export of this job yet, so every row changed locally is exported/);

    now = new Date('2025-03-02T00:00:00.000Z');
    const idle = (await base.orchestrator.runExport(incremental))._unsafeUnwrap();
    expect(idle).toMatchObject({ read: 0, created: 0 });
    expect(idle.runId).toBeUndefined();
    expect(await journal.listRuns()).toHaveLength(1);

    // Changed while the first run was reading (after its start): sent again rather than missed.
    base.records.put('people', 'p00001', { last_name: 'Renamed', email: 'p1@example.test' }, { changedAt: '2025-03-01T00:00:00.000Z' });
    seed(base, 1, 3, '2025-03-02T12:00:00.000Z');
    const next = (await base.orchestrator.runExport(incremental))._unsafeUnwrap();
    expect(next).toMatchObject({ read: 2, created: 1, updated: 1 });
    expect(next.notes.join('\n')).toMatch(/rows changed locally since 2025-03-01T00:00:00.000Z \(the start of run run-1\)/);
  });
});
