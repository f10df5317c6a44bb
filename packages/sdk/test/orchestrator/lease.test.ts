// One run per job at a time: the orchestrator's run lease and the fencing of its writes.
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryExportJournal,
  MemoryLeaseStore,
  MemoryOptionStore,
  MemoryRecordStore,
  type CrmConnector,
  type ExportJob,
  type OrchestratorOptions,
} from '../../src/index.js';
import { harnesses, withMethod, type Harness, type HarnessFactory } from './harnesses.js';
import { contactsImportJob, makeRig, type Rig } from './setup.js';

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const mock = harnesses.find((factory) => factory.name === 'mock')!;
const salesforce = harnesses.find((factory) => factory.name.startsWith('salesforce'))!;

/** A pid that is certainly not running: a child that already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

interface LeasedRig extends Rig {
  readonly leases: MemoryLeaseStore;
}

/** Memory stores that check fences against `leases`, and an orchestrator given the same leases. */
function leasedRig(harness: Harness, overrides: Partial<OrchestratorOptions> = {}, base?: LeasedRig): LeasedRig {
  const leases = base?.leases ?? new MemoryLeaseStore();
  const options = base?.options ?? new MemoryOptionStore(undefined, leases);
  const journal = base?.journal ?? new MemoryExportJournal(undefined, leases);
  const records = base?.records ?? new MemoryRecordStore(options);
  const rig = makeRig(harness, { options, journal, sink: records, source: records, leases, sleep: realSleep, ...overrides }, base ?? ({ options, journal, records } as unknown as Rig));
  return { ...rig, leases };
}

function exportJob(harness: Harness, overrides: Partial<ExportJob> = {}): ExportJob {
  return {
    kind: 'export',
    activity: 'exportContacts',
    object: harness.names.object,
    table: 'people',
    mode: 'auto',
    batchSize: 20,
    fields: [
      { local: 'last_name', remote: harness.names.lastName },
      { local: 'email', remote: harness.names.email },
    ],
    ...overrides,
  };
}

function seed(rig: Rig, count: number): void {
  for (let i = 0; i < count; i += 1) rig.records.put('people', `p${String(i).padStart(4, '0')}`, { last_name: `Last ${i}`, email: `p${i}@example.test` });
}

/** The connector with every upsert batch delayed, so a run stays alive long enough to race. */
function slowUpserts(connector: CrmConnector, ms: number, onBatch: () => void = () => {}): CrmConnector {
  return withMethod(connector, 'upsertBatch', (inner) => (request) => {
    onBatch();
    return inner.upsertBatch(request).andThen((outcomes) => ResultAsyncDelay(outcomes, ms));
  });
}

import { ResultAsync } from 'neverthrow';
function ResultAsyncDelay<T>(value: T, ms: number): ResultAsync<T, never> {
  return ResultAsync.fromSafePromise(realSleep(ms).then(() => value));
}

function withHarness(factory: HarnessFactory, body: (harness: Harness) => Promise<void>): () => Promise<void> {
  return async () => {
    const harness = await factory.setup();
    try {
      await body(harness);
    } finally {
      await factory.teardown?.(harness);
    }
  };
}

describe('run lease', () => {
  let rigs: Rig[] = [];
  afterEach(() => {
    rigs = [];
  });

  for (const factory of [mock, salesforce]) {
    it(
      `a second export of a running job is refused at once, naming the holder, never "in doubt" (${factory.name}, no sync key)`,
      withHarness(factory, async (harness) => {
        // Answers held 250 ms: the first run is surely still running 50 ms in (30 ms raced it).
        const first = leasedRig(harness, { connector: slowUpserts(harness.connector, 250) });
        const second = leasedRig(harness, {}, first);
        seed(first, 100);
        const running = first.orchestrator.runExport(exportJob(harness));
        await realSleep(50);
        const refused = await second.orchestrator.runExport(exportJob(harness));
        expect(refused.isErr()).toBe(true);
        const error = refused._unsafeUnwrapErr();
        expect(error.kind).toBe('job-running');
        expect(error.message).toContain(`host ${hostname()}`);
        expect(error.message).toContain(`pid ${process.pid}`);
        expect(error.message).toContain(`run ${error.holder?.owner.runId}`);
        expect(error.message).toContain(`since ${error.holder?.acquiredAt}`);
        expect(error.message).toContain('--wait');
        expect(error.message).not.toMatch(/may or may not/);
        expect(error.summary).toMatchObject({ read: 0, created: 0, apiCalls: 0 });
        const done = await running;
        expect(done._unsafeUnwrap()).toMatchObject({ created: 100, rejected: 0 });
        // Exactly one CRM record per local row, every local row still there and linked once.
        expect(harness.crm.contacts()).toHaveLength(100);
        expect(first.records.rows('people')).toHaveLength(100);
        expect(new Set(first.records.rows('people').map((row) => row.crmId)).size).toBe(100);
        // The job is free again: the next run goes ahead (updates, no creates).
        const next = await second.orchestrator.runExport(exportJob(harness));
        expect(next._unsafeUnwrap()).toMatchObject({ created: 0, updated: 100 });
        expect(harness.crm.contacts()).toHaveLength(100);
      }),
      30_000,
    );
  }

  it(
    'with leaseWaitMs the second run waits for the first to finish, then finds nothing left to create',
    withHarness(mock, async (harness) => {
      const first = leasedRig(harness, { connector: slowUpserts(harness.connector, 60) });
      const second = leasedRig(harness, {}, first);
      seed(first, 60);
      const running = first.orchestrator.runExport(exportJob(harness));
      await realSleep(30);
      const waited = await second.orchestrator.runExport(exportJob(harness), { leaseWaitMs: 20_000 });
      expect((await running)._unsafeUnwrap()).toMatchObject({ created: 60 });
      expect(waited._unsafeUnwrap()).toMatchObject({ created: 0, updated: 60 });
      expect(waited._unsafeUnwrap().notes.join('\n')).toMatch(/is running .* waiting up to 20000 ms/);
      expect(harness.crm.contacts()).toHaveLength(60);
    }),
  );

  it(
    'a lease whose holder on this host is gone (kill -9) is taken over at once, and the summary says so',
    withHarness(mock, async (harness) => {
      const rig = leasedRig(harness);
      seed(rig, 10);
      const pid = deadPid();
      const held = await rig.leases.acquireLease('default/exportContacts', { host: hostname(), pid, runId: 'dead-run' }, { ttlMs: 600_000 });
      expect(held.acquired).toBe(true);
      const started = Date.now();
      const summary = (await rig.orchestrator.runExport(exportJob(harness)))._unsafeUnwrap();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(summary.created).toBe(10);
      expect(summary.notes.join('\n')).toContain(`took over job "default/exportContacts" from a run that died (host ${hostname()}, pid ${pid}, run dead-run`);
      expect(summary.notes.join('\n')).toContain('its process is gone');
      expect(await rig.leases.getLease('default/exportContacts')).toBeUndefined();
    }),
  );

  it(
    'a live-looking holder on another host is waited out: refused before its TTL, taken over after it',
    withHarness(mock, async (harness) => {
      const rig = leasedRig(harness);
      seed(rig, 5);
      await rig.leases.acquireLease('default/exportContacts', { host: 'other-host', pid: process.pid, runId: 'remote' }, { ttlMs: 300 });
      const refused = await rig.orchestrator.runExport(exportJob(harness));
      expect(refused._unsafeUnwrapErr()).toMatchObject({ kind: 'job-running', holder: { owner: { host: 'other-host', runId: 'remote' } } });
      await realSleep(400);
      const summary = (await rig.orchestrator.runExport(exportJob(harness)))._unsafeUnwrap();
      expect(summary.created).toBe(5);
      expect(summary.notes.join('\n')).toMatch(/took over .* \(host other-host, .*\): its lease expired/);
    }),
  );

  it(
    'a run that loses its lease mid-export stops at once with lease-lost; its late journal writes are refused',
    withHarness(mock, async (harness) => {
      let batches = 0;
      const rig = leasedRig(harness, { connector: slowUpserts(harness.connector, 100, () => (batches += 1)), leaseTtlMs: 90 });
      seed(rig, 400);
      const running = rig.orchestrator.runExport(exportJob(harness));
      await realSleep(150);
      const current = await rig.leases.getLease('default/exportContacts');
      expect(current).toBeDefined();
      const taken = await rig.leases.acquireLease('default/exportContacts', { host: 'new-host', pid: 1, runId: 'new' }, { ttlMs: 600_000, takeOverToken: current!.token });
      expect(taken.acquired).toBe(true);
      const batchesAtTakeover = batches;
      const result = await running;
      expect(result._unsafeUnwrapErr().kind).toBe('lease-lost');
      expect(result._unsafeUnwrapErr().message).toMatch(/took over|lost its lease|stale/);
      // At most the batch in flight at the takeover was sent; nothing after it.
      expect(batches - batchesAtTakeover).toBeLessThanOrEqual(1);
      const run = (await rig.journal.listRuns('default/exportContacts'))[0]!;
      expect(run.status).toBe('open');
      // The new holder's lease stays; the loser's release did not free it.
      expect((await rig.leases.getLease('default/exportContacts'))?.owner.runId).toBe('new');
    }),
  );

  it(
    'imports take the lease too: a second import of a running job is refused; a dry run takes no lease',
    withHarness(mock, async (harness) => {
      for (let i = 0; i < 30; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}`, [harness.names.email]: `i${i}@example.test` });
      harness.crm.advance(60_000);
      const leases = new MemoryLeaseStore();
      await leases.acquireLease('default/importContacts', { host: 'h', pid: process.pid, runId: 'r' }, { ttlMs: 600_000 });
      const rig = leasedRig(harness, { leases });
      const job = contactsImportJob(harness);
      expect((await rig.orchestrator.runImport(job))._unsafeUnwrapErr().kind).toBe('job-running');
      expect(rig.records.rows('contacts')).toHaveLength(0);
      const plan = await rig.orchestrator.plan(job);
      expect(plan.isOk()).toBe(true);
    }),
  );

  it(
    'linking a created CRM id another local row already holds keeps both rows and reports a reject naming both keys',
    withHarness(mock, async (harness) => {
      let rig: LeasedRig | undefined;
      // While the batch is out, an "import" brings the created record in under its CRM id as key.
      const connector = withMethod(harness.connector, 'upsertBatch', (inner) => (request) =>
        inner.upsertBatch(request).map((outcomes) => {
          const first = outcomes[0];
          if (first?.ok) rig!.records.put('people', `imported-${first.id}`, { last_name: 'from import' }, { crmId: first.id });
          return outcomes;
        }),
      );
      rig = leasedRig(harness, { connector });
      seed(rig, 3);
      const summary = (await rig.orchestrator.runExport(exportJob(harness, { processRejects: true })))._unsafeUnwrap();
      expect(summary.created).toBe(3);
      expect(summary.rejected).toBe(1);
      expect(rig.records.rows('people')).toHaveLength(4);
      const duplicate = rig.rejects.find((item) => item.code === 'duplicate');
      expect(duplicate?.localKey).toBe('p0000');
      expect(duplicate?.message).toContain(`"imported-${duplicate?.crmId}"`);
      expect(duplicate?.message).toContain('both rows were kept');
      expect(rig.warnings.some((warning) => String(warning.message).includes('both rows were kept'))).toBe(true);
      expect(rig.records.get('people', 'p0000')?.crmId).toBeUndefined();
      expect(rig.records.get('people', 'p0001')?.crmId).toBeDefined();
    }),
  );
});
