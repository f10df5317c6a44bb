/**
 * One run per job at a time (issue 12, §2), with real processes on one SQLite file. Two
 * long-lived worker processes run the built `crm-sync` CLI; each race sends both the same
 * `crm-sync run` at the same instant, against the Salesforce emulator (in this process, so the CRM
 * outlives any child). Oracle per race: no local row lost, no CRM duplicate, exactly one run did
 * the work (the other exited 4 "job is already running", or ran after the first had finished and
 * found nothing to create), and no run said "in doubt". Then a lease holder killed with SIGKILL:
 * the next run takes over at once (same host, pid gone) and finishes the export exactly once, and
 * a write with the dead run's fencing token (a zombie's late write) is refused. Last, a real
 * zombie: a run paused with SIGSTOP past its lease TTL is taken over, and when it is resumed
 * (SIGCONT) it stops with lease-lost and changes nothing.
 *
 * 20 races each in `pnpm test`; 500 each in `pnpm test:soak` (CRM_SYNC_SOAK=1).
 */
import { spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryCrm, SystemClock } from '@crm-sync/connector-mock';
import { salesforceEmulatorSchemas, startSalesforceEmulator, type SalesforceEmulator } from '@crm-sync/connector-salesforce/emulator';
import { openSqliteStore } from '@crm-sync/store-sqlite';

const SOAK = process.env['CRM_SYNC_SOAK'] === '1';
const RACES = SOAK ? 500 : 20;
const ROWS = 300;
const ROOT = resolve(import.meta.dirname, '../../..');
const WORKER = resolve(import.meta.dirname, 'cli-worker.mjs');
const ZOMBIE = resolve(import.meta.dirname, 'zombie-child.mjs');
const BIN = resolve(ROOT, 'packages/cli/dist/bin/crm-sync.js');
const EXIT_JOB_RUNNING = 4;

const EXPORT_JOB = `activity: raceExport
connector: salesforce
account: org
operation: export
object: Contact
local: { table: contacts }
export: { mode: auto }
batchSize: 50
fields:
  - { local: last_name, remote: LastName }
  - { local: email, remote: Email }
`;

const IMPORT_JOB = `activity: raceImport
connector: salesforce
account: org
operation: import
object: Contact
automaticIndex: true
local: { table: imported }
fields:
  - { remote: LastName, local: last_name }
  - { remote: Email, local: email }
`;

interface CliAnswer {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A worker process running CLI commands on request (see cli-worker.mjs). */
class Worker {
  private readonly waiting = new Map<number, (answer: CliAnswer) => void>();
  private next = 0;
  readonly ready: Promise<number>;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    let onReady: (pid: number) => void = () => {};
    this.ready = new Promise((done) => (onReady = done));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      for (const done of this.waiting.values()) done({ code: code ?? -1, stdout: '', stderr: `worker exited: ${stderr}` });
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { ready?: boolean; pid?: number; id?: number } & CliAnswer;
      if (message.ready) return onReady(message.pid!);
      this.waiting.get(message.id!)?.(message);
      this.waiting.delete(message.id!);
    });
  }

  static start(): Worker {
    return new Worker(spawn(process.execPath, [WORKER], { cwd: import.meta.dirname, stdio: 'pipe' }));
  }

  run(cwd: string, argv: readonly string[]): Promise<CliAnswer> {
    const id = (this.next += 1);
    return new Promise((done) => {
      this.waiting.set(id, done);
      this.child.stdin.write(`${JSON.stringify({ id, cwd, argv })}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

interface Org {
  readonly crm: InMemoryCrm;
  readonly emulator: SalesforceEmulator;
  readonly dir: string;
  readonly db: string;
}

let workers: [Worker, Worker];
let template: string;

async function org(latencyMs: number): Promise<Org> {
  const crm = new InMemoryCrm({ schemas: salesforceEmulatorSchemas(), clock: new SystemClock() });
  const emulator = await startSalesforceEmulator({ crm, latencyMs });
  const dir = mkdtempSync(join(tmpdir(), 'crm-sync-race-'));
  const db = join(dir, 'crm.sqlite');
  copyFileSync(template, db);
  writeFileSync(join(dir, 'accounts.yaml'), `accounts:\n  org:\n    connector: salesforce\n    instanceUrl: ${emulator.url}\n    accessToken: ${emulator.issueAccessToken()}\n`);
  writeFileSync(join(dir, 'export.yaml'), EXPORT_JOB);
  writeFileSync(join(dir, 'export-keyed.yaml'), EXPORT_JOB.replace('export: { mode: auto }', 'export: { mode: auto, syncKey: Sync_Key__c }').replace('batchSize: 50', 'batchSize: 5'));
  writeFileSync(join(dir, 'import.yaml'), IMPORT_JOB);
  return { crm, emulator, dir, db };
}

const argsOf = (job: string) => ['run', job, '--accounts', 'accounts.yaml', '--db', 'crm.sqlite', '--json'];

interface RaceResult {
  readonly code: number;
  readonly summary?: { created: number; updated: number; written: number; notes: string[]; rejected: number };
  readonly error?: { kind: string; message: string };
  readonly stderr: string;
}

function parse(answer: CliAnswer): RaceResult {
  const body = JSON.parse(answer.stdout.trim().split('\n').at(-1) ?? '{}') as { summary?: RaceResult['summary']; error?: RaceResult['error'] };
  return { code: answer.code, stderr: answer.stderr, ...(body.summary ? { summary: body.summary } : {}), ...(body.error ? { error: body.error } : {}) };
}

/**
 * Both workers send the same command: at the same instant on even races, the second a random
 * 0-400 ms later on odd ones (so it also arrives mid-run, or after the first has finished).
 */
async function race(at: Org, job: string, index: number): Promise<[RaceResult, RaceResult]> {
  const delay = index % 2 === 0 ? 0 : Math.floor(random() * 400);
  const second = new Promise<CliAnswer>((done) => setTimeout(() => void workers[1].run(at.dir, argsOf(job)).then(done), delay));
  const [a, b] = await Promise.all([workers[0].run(at.dir, argsOf(job)), second]);
  return [parse(a), parse(b)];
}

/** A seeded generator, so a failing race can be replayed. */
const random = (() => {
  let state = 12;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
})();

/**
 * Pauses `child` (SIGSTOP) at a moment it holds no SQLite write lock: a process paused inside a
 * transaction blocks every writer of the file (SQLite has one writer at a time), which is not what
 * this test is about. Retries until a write by another connection gets through at once.
 */
async function stopOutsideTransaction(child: ChildProcess, db: string): Promise<void> {
  for (let tries = 0; tries < 200; tries += 1) {
    child.kill('SIGSTOP');
    await new Promise((wait) => setTimeout(wait, 20));
    const probe = openSqliteStore(db, { busyTimeoutMs: 0 });
    if (probe.isOk()) {
      try {
        await probe.value.options.setOption('zombie-test-probe', 'x');
        await probe.value.options.deleteOption('zombie-test-probe');
        return;
      } catch {
        // The paused child holds the write lock: let it finish its transaction and try again.
      } finally {
        probe.value.close();
      }
    }
    child.kill('SIGCONT');
    await new Promise((wait) => setTimeout(wait, 5 + tries));
  }
  throw new Error('could not pause the child outside a SQLite transaction');
}

const tally = { exportRefused: 0, exportAfter: 0, importRefused: 0, importAfter: 0 };

beforeAll(async () => {
  // The workers run the built CLI, which loads the built Salesforce connector by name.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const built = spawnSync(process.execPath, [tsc, '-b', resolve(ROOT, 'packages/cli'), resolve(ROOT, 'packages/connector-salesforce')], { encoding: 'utf8' });
  expect(built.status).toBe(0);
  expect(built.stdout + built.stderr).toBe('');
  template = join(mkdtempSync(join(tmpdir(), 'crm-sync-race-template-')), 'template.sqlite');
  const seed = openSqliteStore(template, { synchronous: 'NORMAL' })._unsafeUnwrap();
  for (let i = 0; i < ROWS; i += 1) {
    const key = `k${String(i).padStart(4, '0')}`;
    await seed.records.upsertLocal('contacts', key, { last_name: `Race ${key}`, email: `${key}@example.test` });
  }
  seed.close();
  workers = [Worker.start(), Worker.start()];
  await Promise.all(workers.map((worker) => worker.ready));
}, 300_000);

afterAll(() => {
  workers?.forEach((worker) => worker.close());
  console.info(
    `[reliability] job races: ${RACES} export races (${tally.exportRefused} refused with exit 4, ${tally.exportAfter} ran after the first), ` +
      `${RACES} import races (${tally.importRefused} refused, ${tally.importAfter} ran after): no row lost, no duplicate, one run did the work`,
  );
});

describe('two processes racing on one job and one SQLite file', () => {
  it(`export, no sync key: ${RACES} races, no local row lost, no CRM duplicate, exactly one run creates`, async () => {
    for (let index = 0; index < RACES; index += 1) {
      const at = await org(10);
      try {
        const results = await race(at, 'export.yaml', index);
        for (const result of results) {
          expect([0, EXIT_JOB_RUNNING], `race ${index}: ${result.stderr}`).toContain(result.code);
          expect(result.stderr).not.toMatch(/may or may not|in doubt/);
          if (result.code === EXIT_JOB_RUNNING) expect(result.error?.kind).toBe('job-running');
        }
        const workers = results.filter((result) => (result.summary?.created ?? 0) > 0);
        expect(workers, `race ${index}: exactly one run creates`).toHaveLength(1);
        expect(workers[0]!.summary).toMatchObject({ created: ROWS, rejected: 0 });
        const other = results.find((result) => result !== workers[0])!;
        if (other.code === EXIT_JOB_RUNNING) tally.exportRefused += 1;
        else {
          expect(other.summary).toMatchObject({ created: 0, updated: ROWS });
          tally.exportAfter += 1;
        }
        const names = at.crm.records('Contact').map((record) => record.values['LastName']);
        expect(names).toHaveLength(ROWS);
        expect(new Set(names).size, 'a CRM duplicate').toBe(ROWS);
        const store = openSqliteStore(at.db)._unsafeUnwrap();
        try {
          expect(await store.records.countLocal('contacts', { includeDeleted: true }), 'a local row lost').toBe(ROWS);
          const linked = new Set<string>();
          for await (const batch of store.records.read('contacts')) for (const row of batch) if (row.crmId !== undefined) linked.add(row.crmId);
          expect(linked.size).toBe(ROWS);
          expect(await store.journal.findOpenRun('default/raceExport')).toBeUndefined();
          expect(await store.leases.getLease('default/raceExport')).toBeUndefined();
        } finally {
          store.close();
        }
      } finally {
        await at.emulator.close();
      }
    }
  }, SOAK ? 3_600_000 : 180_000);

  it(`import: ${RACES} races, every CRM record once locally, exactly one run writes`, async () => {
    for (let index = 0; index < RACES; index += 1) {
      const at = await org(10);
      try {
        const past = new Date(Date.now() - 3_600_000).toISOString();
        for (let i = 0; i < ROWS; i += 1) at.crm.insert('Contact', { LastName: `Imp ${i}`, Email: `i${i}@example.test` }, { at: past });
        const results = await race(at, 'import.yaml', index);
        for (const result of results) {
          expect([0, EXIT_JOB_RUNNING], `race ${index}: ${result.stderr}`).toContain(result.code);
          if (result.code === EXIT_JOB_RUNNING) expect(result.error?.kind).toBe('job-running');
        }
        const writers = results.filter((result) => (result.summary?.written ?? 0) > 0);
        expect(writers, `race ${index}: exactly one run writes`).toHaveLength(1);
        expect(writers[0]!.summary?.written).toBe(ROWS);
        const other = results.find((result) => result !== writers[0])!;
        if (other.code === EXIT_JOB_RUNNING) tally.importRefused += 1;
        else {
          expect(other.summary?.written).toBe(0);
          tally.importAfter += 1;
        }
        const store = openSqliteStore(at.db)._unsafeUnwrap();
        try {
          expect(await store.records.countLocal('imported', { includeDeleted: true })).toBe(ROWS);
          const ids = new Set<string>();
          for await (const batch of store.records.read('imported')) for (const row of batch) ids.add(row.crmId!);
          expect(ids).toEqual(new Set(at.crm.records('Contact').map((record) => record.id)));
          expect(await store.options.getOption('LASTIMPORT_default_raceImport')).toBeDefined();
        } finally {
          store.close();
        }
      } finally {
        await at.emulator.close();
      }
    }
  }, SOAK ? 3_600_000 : 180_000);

  it('a lease holder killed with SIGKILL is taken over at once; the export finishes exactly once; the dead run\'s late write is refused', async () => {
    const at = await org(120);
    try {
      const child = spawn(process.execPath, [BIN, ...argsOf('export-keyed.yaml')], { cwd: at.dir, stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
      for (let tries = 0; tries < 1500 && at.crm.count('Contact') < 30; tries += 1) await new Promise((wait) => setTimeout(wait, 10));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      expect(at.crm.count('Contact')).toBeGreaterThan(0);
      expect(at.crm.count('Contact')).toBeLessThan(ROWS);

      const before = openSqliteStore(at.db)._unsafeUnwrap();
      const dead = await before.leases.getLease('default/raceExport');
      const openRun = await before.journal.findOpenRun('default/raceExport');
      before.close();
      expect(dead?.owner.pid).toBe(child.pid);
      expect(openRun?.status).toBe('open');

      const started = Date.now();
      const next = parse(await workers[0].run(at.dir, argsOf('export-keyed.yaml')));
      expect(next.stderr).toBe('');
      expect(next.code).toBe(0);
      // Taken over at once, not after the 30 s TTL.
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(next.summary!.notes.join('\n')).toContain(`from a run that died (host ${dead!.owner.host}, pid ${child.pid}, run ${dead!.owner.runId}`);
      expect(next.summary!.notes.join('\n')).toContain(`resuming the interrupted run ${openRun!.runId}`);
      const keys = at.crm.records('Contact').map((record) => record.values['Sync_Key__c']);
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys).toHaveLength(ROWS);

      // The killed run's fence, as a zombie would still hold it: every late write is refused.
      const zombie = { key: 'default/raceExport', token: dead!.token };
      const store = openSqliteStore(at.db)._unsafeUnwrap();
      try {
        const counts = await store.journal.countByState(openRun!.runId);
        await expect(store.journal.recordOutcomes(openRun!.runId, [{ seq: 0, state: 'pending' }], zombie)).rejects.toMatchObject({ code: 'stale-fence' });
        await expect(store.records.linkCrmIds('contacts', [{ key: 'k0000', crmId: 'zombie' }], zombie)).rejects.toMatchObject({ code: 'stale-fence' });
        await expect(store.options.setOption('LASTIMPORT_default_raceExport', '2000/01/01 00:00:00', undefined, zombie)).rejects.toMatchObject({ code: 'stale-fence' });
        expect(await store.journal.countByState(openRun!.runId)).toEqual(counts);
        expect((await store.records.getLocal('contacts', 'k0000'))?.crmId).not.toBe('zombie');
        expect(await store.options.getOption('LASTIMPORT_default_raceExport')).toBeUndefined();
      } finally {
        store.close();
      }
    } finally {
      await at.emulator.close();
    }
  }, 120_000);
  it('a run paused (SIGSTOP) past its lease TTL is taken over; resumed, it stops with lease-lost and changes nothing', async () => {
    const at = await org(60);
    try {
      const settings = { url: at.emulator.url, token: at.emulator.issueAccessToken(), ttlMs: 1_500 };
      const child = spawn(process.execPath, [ZOMBIE, at.db], { cwd: import.meta.dirname, env: { ...process.env, ZOMBIE_SETTINGS: JSON.stringify(settings) } });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
      for (let tries = 0; tries < 1500 && at.crm.count('Contact') < 20; tries += 1) await new Promise((wait) => setTimeout(wait, 5));
      await stopOutsideTransaction(child, at.db);
      expect(at.crm.count('Contact')).toBeGreaterThan(0);
      expect(at.crm.count('Contact')).toBeLessThan(ROWS);
      // Past the paused run's TTL; its pid is alive, so the new run waits for the expiry, then takes over.
      await new Promise((wait) => setTimeout(wait, 2_200));
      const next = parse(await workers[1].run(at.dir, argsOf('export-keyed.yaml')));
      expect(next.stderr).toBe('');
      expect(next.code, JSON.stringify(next.error)).toBe(0);
      expect(next.summary!.notes.join('\n')).toContain(`pid ${child.pid}`);
      expect(next.summary!.notes.join('\n')).toContain('its lease expired');

      const snapshot = async () => {
        const store = openSqliteStore(at.db)._unsafeUnwrap();
        try {
          const runs = await store.journal.listRuns('default/raceExport');
          const counts = await Promise.all(runs.map((run) => store.journal.countByState(run.runId)));
          const rows: unknown[] = [];
          for await (const batch of store.records.read('contacts')) rows.push(...batch);
          return { runs, counts, rows, crm: at.crm.records('Contact').map((record) => [record.id, record.values['Sync_Key__c']]) };
        } finally {
          store.close();
        }
      };
      const before = await snapshot();
      child.kill('SIGCONT');
      expect(await exited).toBe(2);
      const zombie = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { error?: { kind: string; message: string } };
      expect(zombie.error?.kind).toBe('lease-lost');
      // The zombie changed nothing: not the journal, not the local rows, not the CRM.
      expect(await snapshot()).toEqual(before);
      const keys = at.crm.records('Contact').map((record) => record.values['Sync_Key__c']);
      expect(keys).toHaveLength(ROWS);
      expect(new Set(keys).size).toBe(ROWS);
    } finally {
      await at.emulator.close();
    }
  }, 120_000);
});
