// crm-sync run while the same job is already running: exit 4 naming the holder, --wait, takeover
// of a dead holder's lease, and what journal list says about a running job.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { cli, MOCK_ACCOUNTS, tempDir, writeFiles } from './helpers.js';

const JOB = 'default/exportContacts';
const EXPORT = 'activity: exportContacts\nconnector: mock\naccount: demo\noperation: export\nobject: contact\nlocal: { table: contacts }\nexport: { syncKey: externalKey }\nfields:\n  - { local: last_name, remote: lastName }\n';

describe('crm-sync run of a job that is already running', () => {
  let dir: string;
  const run = (...flags: string[]) => cli(dir, ['run', 'export.yaml', '--db', 'crm.sqlite', ...flags]);
  const store = () => openSqliteStore(join(dir, 'crm.sqlite'))._unsafeUnwrap();

  beforeEach(async () => {
    dir = tempDir();
    writeFiles(dir, { 'crm-sync.accounts.yaml': MOCK_ACCOUNTS, 'export.yaml': EXPORT });
    const seeded = store();
    await seeded.records.upsertLocal('contacts', 'a', { last_name: 'A' });
    seeded.close();
  });

  it('exits 4 at once, naming the holder (host, pid, run id, since) and how to wait; nothing is written', async () => {
    const held = store();
    const lease = await held.leases.acquireLease(JOB, { host: hostname(), pid: process.pid, runId: 'the-running-one' }, { ttlMs: 600_000 });
    if (!lease.acquired) throw new Error('not acquired');
    const openRun = await held.journal.startRun(JOB, { key: JOB, token: lease.lease.token });
    held.close();

    const result = await run();
    expect(result.code).toBe(ExitCode.jobRunning);
    expect(result.stderr).toContain(`job "${JOB}" is already running (host ${hostname()}, pid ${process.pid}, run the-running-one, since ${lease.lease.acquiredAt}`);
    expect(result.stderr).toContain('--wait <duration>');
    expect(result.stderr).not.toMatch(/in doubt|may or may not|Resuming/);
    const json = await run('--json');
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, exitCode: 4, error: { kind: 'job-running', holder: { owner: { runId: 'the-running-one' } } } });

    // journal resume says the same and does not claim to resume; journal list shows it running.
    const resumed = await cli(dir, ['journal', 'resume', 'export.yaml', '--db', 'crm.sqlite']);
    expect(resumed.code).toBe(ExitCode.jobRunning);
    expect(resumed.stdout).not.toContain('Resuming');
    const listed = await cli(dir, ['journal', 'list', '--db', 'crm.sqlite']);
    expect(listed.stdout).toContain(`Run ${openRun.runId} is running now (host ${hostname()}, pid ${process.pid}`);
    expect(listed.stdout).not.toContain('was interrupted');

    const after = store();
    expect(await after.journal.countByState(openRun.runId)).toMatchObject({ pending: 0, sent: 0, committed: 0 });
    expect((await after.records.getLocal('contacts', 'a'))?.crmId).toBeUndefined();
    after.close();
  });

  it('--wait waits for the running job to release its lease, then runs', async () => {
    const held = store();
    const lease = await held.leases.acquireLease(JOB, { host: hostname(), pid: process.pid, runId: 'short' }, { ttlMs: 600_000 });
    if (!lease.acquired) throw new Error('not acquired');
    setTimeout(() => void held.leases.releaseLease({ key: JOB, token: lease.lease.token }).then(() => held.close()), 300);
    const result = await run('--wait', '20s', '--json');
    expect(result.code).toBe(ExitCode.ok);
    expect(JSON.parse(result.stdout).summary).toMatchObject({ created: 1 });
  });

  it('refuses a --wait that is not a duration (exit 2)', async () => {
    const result = await run('--wait', 'forever');
    expect(result.code).toBe(ExitCode.invalidInput);
    expect(result.stderr).toContain("option '--wait <duration>' argument 'forever' is invalid. expected a duration such as 500ms, 30s, 5m, 2h or 1d.");
  });

  it('takes over at once the lease of a holder on this host whose process is gone (kill -9), and says so', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const held = store();
    await held.leases.acquireLease(JOB, { host: hostname(), pid: dead, runId: 'killed' }, { ttlMs: 600_000 });
    held.close();
    const result = await run('--json');
    expect(result.code).toBe(ExitCode.ok);
    const summary = JSON.parse(result.stdout).summary as { created: number; notes: string[] };
    expect(summary.created).toBe(1);
    expect(summary.notes.join('\n')).toContain(`from a run that died (host ${hostname()}, pid ${dead}, run killed`);
  });

  it('options set refuses (exit 4) to move the watermark of an import that is running, and names it', async () => {
    const held = store();
    await held.leases.acquireLease('my_inst/importContacts', { host: hostname(), pid: process.pid, runId: 'importing' }, { ttlMs: 600_000 });
    held.close();
    const refused = await cli(dir, ['options', 'set', 'LASTIMPORT_my_inst_importContacts', '2024/06/01 08:30:00', '--db', 'crm.sqlite']);
    expect(refused.code).toBe(ExitCode.jobRunning);
    expect(refused.stderr).toContain('job "my_inst/importContacts" is running now (host');
    expect(refused.stderr).toContain('run importing');
    const after = store();
    expect(await after.options.getOption('LASTIMPORT_my_inst_importContacts')).toBeUndefined();
    after.close();
    // Another job's watermark is free to set.
    const other = await cli(dir, ['options', 'set', 'LASTIMPORT_default_other', '2024/06/01 08:30:00', '--db', 'crm.sqlite']);
    expect(other.code).toBe(ExitCode.ok);
  });
});
