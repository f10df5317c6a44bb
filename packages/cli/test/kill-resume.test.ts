import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { InMemoryCrm, SystemClock } from '@crm-sync/connector-mock';
import { salesforceEmulatorSchemas, startSalesforceEmulator } from '@crm-sync/connector-salesforce/emulator';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeFiles } from './helpers.js';

const PACKAGE_DIR = resolve(import.meta.dirname, '..');
const BIN = join(PACKAGE_DIR, 'dist/bin/crm-sync.js');
const ROWS = 1500;

const ACCOUNTS = `accounts:
  demo:
    connector: mock
    # Every call waits, so that the export is still running when the test kills it.
    mock: { seed: empty, latencyMs: 250 }
`;

const EXPORT_JOB = `activity: exportContacts
connector: mock
account: demo
operation: export
object: contact
local: { table: contacts }
export: { mode: auto, syncKey: externalKey }
batchSize: 20
fields:
  - { local: last_name, remote: lastName }
  - { local: email, remote: email }
`;

interface SavedCrm {
  objects: Record<string, { id: string; values: Record<string, unknown>; deletedAt?: string }[]>;
}

function crmContacts(file: string): SavedCrm['objects'][string] {
  if (!existsSync(file)) return [];
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as SavedCrm).objects.contact ?? [];
  } catch {
    return [];
  }
}

/** Fills the `contacts` table of a fresh SQLite database with ROWS contacts to export. */
async function seedLocalContacts(dbFile: string): Promise<void> {
  const store = openSqliteStore(dbFile)._unsafeUnwrap();
  for (let index = 0; index < ROWS; index += 1) {
    const key = `k${String(index).padStart(5, '0')}`;
    await store.records.upsertLocal('contacts', key, { last_name: `Name ${index}`, email: `${key}@example.com` });
  }
  store.close();
}

/**
 * A real process running the built CLI is killed with SIGKILL in the middle of an export; then
 * `crm-sync journal resume` finishes it. The CRM (a mock kept in a file, saved after every write,
 * so both processes see the same CRM) must end with every record exactly once.
 */
describe('kill -9 during an export, then crm-sync journal resume', () => {
  beforeAll(() => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    // The child runs the built CLI, and the Salesforce connector it loads by name must be built too.
    const built = spawnSync(process.execPath, [tsc, '-b', PACKAGE_DIR, resolve(PACKAGE_DIR, '../connector-salesforce')], { encoding: 'utf8' });
    expect(built.stdout + built.stderr).toBe('');
    expect(built.status).toBe(0);
  }, 300_000);

  it('exports every record exactly once: no duplicate, no loss', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'accounts.yaml': ACCOUNTS, 'export.yaml': EXPORT_JOB });
    const dbFile = join(dir, 'crm.sqlite');
    const crmFile = `${dbFile}.mock-crm.json`;
    await seedLocalContacts(dbFile);

    const child = spawn(process.execPath, [BIN, 'run', 'export.yaml', '--accounts', 'accounts.yaml', '--db', dbFile], { cwd: dir, stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
    // Kill as soon as part of the export has reached the CRM.
    for (let attempt = 0; attempt < 1500 && crmContacts(crmFile).length < 100; attempt += 1) {
      await new Promise((wait) => setTimeout(wait, 20));
    }
    child.kill('SIGKILL');
    const { signal } = await exited;
    expect(signal).toBe('SIGKILL');
    const beforeResume = crmContacts(crmFile).length;
    expect(beforeResume).toBeGreaterThan(0);
    expect(beforeResume).toBeLessThan(ROWS);

    const interrupted = openSqliteStore(dbFile)._unsafeUnwrap();
    const openRun = await interrupted.journal.findOpenRun('default/exportContacts');
    // The run history shows the killed run as still running: its process never recorded an end.
    const killedRuns = await interrupted.history.listRuns({ jobId: 'default/exportContacts' });
    const atKill = openRun === undefined ? undefined : await interrupted.journal.countByState(openRun.runId);
    interrupted.close();
    // Nothing reaches the CRM before the journal says it was sent: every record the CRM holds is
    // journaled committed, or sent / unknown (in doubt, settled on resume by its sync key).
    expect((atKill?.committed ?? 0) + (atKill?.sent ?? 0) + (atKill?.unknown ?? 0)).toBeGreaterThanOrEqual(beforeResume);
    expect(openRun?.status).toBe('open');
    expect(killedRuns.map((run) => [run.status, run.pid])).toEqual([['running', child.pid]]);
    // runs list tells a dead "running" run from a live one: its process no longer holds the lease.
    const listed = spawnSync(process.execPath, [BIN, 'runs', 'list', '--db', dbFile], { cwd: dir, encoding: 'utf8' });
    expect(listed.stdout).toContain('running (dead)');
    expect(listed.stdout).toMatch(/died without recording its end/);

    const resumed = spawnSync(process.execPath, [BIN, 'journal', 'resume', 'export.yaml', '--accounts', 'accounts.yaml', '--db', dbFile, '--json'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, CRM_SYNC_ACCOUNT_DEMO_MOCK_LATENCY_MS: '0' },
    });
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    const summary = JSON.parse(resumed.stdout).summary as { runId: string; created: number; updated: number; skipped: number; rejected: number; notes: string[] };
    expect(summary.rejected).toBe(0);
    expect(summary.runId).toBe(openRun?.runId);
    // What the killed run had journaled as committed is not sent again, and the resume says so.
    // What it had marked sent (the kill may come after the CRM answered and before the journal
    // committed the outcomes: the pipelined send loop journals outcomes after a batch's slot is
    // free) is in doubt and settled by sync key, which cannot duplicate. The counts still cover
    // every record of the run.
    if ((atKill?.committed ?? 0) > 0) expect(summary.notes.join('\n')).toContain(`${atKill!.committed} records were settled by an earlier invocation`);
    expect(summary).toMatchObject({ created: ROWS, updated: 0, skipped: 0 });

    const contacts = crmContacts(crmFile).filter((record) => record.deletedAt === undefined);
    const keys = contacts.map((record) => record.values.externalKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(contacts).toHaveLength(ROWS);
    expect([...keys].sort()).toEqual(Array.from({ length: ROWS }, (_, index) => `k${String(index).padStart(5, '0')}`));

    const after = openSqliteStore(dbFile)._unsafeUnwrap();
    const run = await after.journal.getRun(summary.runId);
    expect(run?.status).toBe('finished');
    expect(await after.journal.countByState(summary.runId)).toMatchObject({ committed: ROWS, pending: 0, sent: 0, unknown: 0, rejected: 0 });
    const linked = await after.records.getLocal('contacts', 'k00000');
    expect(contacts.find((record) => record.values.externalKey === 'k00000')?.id).toBe(linked?.crmId);
    // The resume recorded the killed run as interrupted (its process died) and itself as succeeded,
    // both linked to the same journal run.
    const history = await after.history.listRuns({ jobId: 'default/exportContacts' });
    expect(history.map((run) => run.status)).toEqual(['succeeded', 'interrupted']);
    expect(history[1]).toMatchObject({ runId: killedRuns[0]?.runId, error: { kind: 'process-died' } });
    expect(history[0]).toMatchObject({ journalRunId: openRun?.runId, counts: { skipped: summary.skipped } });
    expect(history[1]?.journalRunId).toBeUndefined();
    after.close();
  }, 120_000);

  it('on the Salesforce emulator over loopback: every record exactly once', async () => {
    // The emulator lives in this process, so the CRM outlives the killed child, as a real org would.
    const crm = new InMemoryCrm({ schemas: salesforceEmulatorSchemas(), clock: new SystemClock() });
    const emulator = await startSalesforceEmulator({ crm, latencyMs: 200 });
    try {
      const dir = tempDir();
      writeFiles(dir, {
        'accounts.yaml': `accounts:\n  org:\n    connector: salesforce\n    instanceUrl: ${emulator.url}\n    accessToken: ${emulator.issueAccessToken()}\n`,
        'export.yaml': EXPORT_JOB.replace('account: demo', 'account: org')
          .replace('connector: mock', 'connector: salesforce')
          .replace('object: contact', 'object: Contact')
          .replace('syncKey: externalKey', 'syncKey: Sync_Key__c')
          .replace('remote: lastName', 'remote: LastName')
          .replace('remote: email', 'remote: Email'),
      });
      const dbFile = join(dir, 'crm.sqlite');
      await seedLocalContacts(dbFile);

      const child = spawn(process.execPath, [BIN, 'run', 'export.yaml', '--accounts', 'accounts.yaml', '--db', dbFile], { cwd: dir, stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
      for (let attempt = 0; attempt < 1500 && crm.count('Contact') < 100; attempt += 1) {
        await new Promise((wait) => setTimeout(wait, 20));
      }
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      expect(crm.count('Contact')).toBeGreaterThan(0);
      expect(crm.count('Contact')).toBeLessThan(ROWS);

      const resumed = spawn(process.execPath, [BIN, 'journal', 'resume', 'export.yaml', '--accounts', 'accounts.yaml', '--db', dbFile, '--json'], { cwd: dir });
      let stdout = '';
      let stderr = '';
      resumed.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      resumed.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((done) => resumed.on('exit', (exitCode) => done(exitCode)));
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(JSON.parse(stdout).summary).toMatchObject({ rejected: 0 });

      const keys = crm.records('Contact').map((record) => record.values.Sync_Key__c);
      expect(new Set(keys).size).toBe(keys.length);
      expect([...keys].sort()).toEqual(Array.from({ length: ROWS }, (_, index) => `k${String(index).padStart(5, '0')}`));
    } finally {
      await emulator.close();
    }
  }, 120_000);
});
