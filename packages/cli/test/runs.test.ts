// `crm-sync run` records every run in the SQLite file's run history; `crm-sync runs list|show|prune`
// read and prune it; `--history-retention` prunes automatically after each run.
import { join } from 'node:path';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseSince } from '../src/commands/runs-command.js';
import { ExitCode } from '../src/exit-codes.js';
import { cli, IMPORT_HEAD, MOCK_ACCOUNTS, tempDir, writeFiles } from './helpers.js';

const IMPORT_JOB = `${IMPORT_HEAD}operation: import
automaticIndex: true
fields:
  - { remote: firstName, local: first_name }
  - { remote: email, local: email }
`;

const EXPORT_JOB = `activity: exportContacts
connector: mock
account: demo
operation: export
object: contact
local: { table: contacts }
export: { mode: auto, syncKey: externalKey }
fields:
  - { local: email, remote: email }
  - { local: first_name, remote: firstName }
`;

interface ListedRun {
  runId: string;
  jobId: string;
  operation: string;
  status: string;
  startedAt: string;
  account?: string;
  connector?: string;
  counts: { read: number; written: number };
  apiCalls: { total: number; byKind: Record<string, number> };
  variables: Record<string, string>;
  journalRunId?: string;
}

describe('crm-sync runs', () => {
  let dir: string;
  const withDb = (...argv: string[]) => cli(dir, [...argv, '--db', 'db/crm.sqlite']);

  beforeEach(() => {
    dir = tempDir();
    writeFiles(dir, { 'crm-sync.accounts.yaml': MOCK_ACCOUNTS, 'import.yaml': IMPORT_JOB, 'export.yaml': EXPORT_JOB });
  });

  it('run records each run; runs list shows them newest first with filters; runs show gives summary, variables, calls and the journal link', async () => {
    const imported = await withDb('run', 'import.yaml', '--json');
    expect(imported.code).toBe(ExitCode.ok);
    const importJson = JSON.parse(imported.stdout) as { historyRunId: string; summary: { read: number; variables: Record<string, string> } };
    expect(importJson.historyRunId).toEqual(expect.any(String));
    expect((await withDb('run', 'import.yaml', '--dry-run')).code).toBe(ExitCode.ok);
    const exported = await withDb('run', 'export.yaml', '--json');
    expect(exported.code).toBe(ExitCode.ok);
    const exportJson = JSON.parse(exported.stdout) as { historyRunId: string; summary: { runId: string } };

    const listed = await withDb('runs', 'list', '--json');
    expect(listed.code).toBe(ExitCode.ok);
    const runs = JSON.parse(listed.stdout) as ListedRun[];
    // The dry run is not recorded.
    expect(runs.map((run) => [run.runId, run.operation, run.status])).toEqual([
      [exportJson.historyRunId, 'export', 'succeeded'],
      [importJson.historyRunId, 'import', 'succeeded'],
    ]);
    expect(runs[1]).toMatchObject({ jobId: 'default/importContacts', connector: 'mock', account: 'demo', counts: { read: importJson.summary.read }, variables: importJson.summary.variables });
    expect(runs[1]?.apiCalls.byKind.query).toBeGreaterThan(0);
    expect(runs[0]?.journalRunId).toBe(exportJson.summary.runId);

    const onlyImports = JSON.parse((await withDb('runs', 'list', '--job', 'importContacts', '--json')).stdout) as ListedRun[];
    expect(onlyImports.map((run) => run.runId)).toEqual([importJson.historyRunId]);
    const byJobId = JSON.parse((await withDb('runs', 'list', '--job', 'default/exportContacts', '--status', 'succeeded', '--since', '1h', '--json')).stdout) as ListedRun[];
    expect(byJobId.map((run) => run.runId)).toEqual([exportJson.historyRunId]);
    expect(JSON.parse((await withDb('runs', 'list', '--status', 'failed', '--json')).stdout)).toEqual([]);

    const table = await withDb('runs', 'list');
    expect(table.stdout).toMatch(/Run\s+Job\s+Operation\s+Status/);
    expect(table.stdout).toContain(importJson.historyRunId);

    const shown = await withDb('runs', 'show', exportJson.historyRunId);
    expect(shown.code).toBe(ExitCode.ok);
    expect(shown.stdout).toContain(`export of job default/exportContacts, succeeded`);
    expect(shown.stdout).toContain(`journal   ${exportJson.summary.runId} (crm-sync journal show ${exportJson.summary.runId})`);
    expect(shown.stdout).toMatch(/API calls \d+ \(describe 1/);
    const importShown = await withDb('runs', 'show', importJson.historyRunId);
    expect(importShown.stdout).toContain(`crmOptionName=LASTIMPORT_default_importContacts`);
    const json = JSON.parse((await withDb('runs', 'show', importJson.historyRunId, '--json')).stdout) as { run: ListedRun; samples: { read: number }[]; rejects: unknown[] };
    expect(json.run.runId).toBe(importJson.historyRunId);
    expect(json.samples.length).toBeGreaterThanOrEqual(2);
    expect(json.samples.at(-1)?.read).toBe(importJson.summary.read);
  });

  it('runs show lists the rejects of a run from the store, paged and searchable', async () => {
    expect((await withDb('run', 'import.yaml')).code).toBe(ExitCode.ok);
    // Two local rows with one email the mock CRM refuses: the export rejects them.
    const opened = openSqliteStore(join(dir, 'db/crm.sqlite'));
    if (opened.isErr()) throw opened.error;
    await opened.value.records.upsertLocal('contacts', 'bad-1', { email: 'not an email', first_name: 'A', last_name: 'Bad' });
    await opened.value.records.upsertLocal('contacts', 'bad-2', { email: 'also not', first_name: 'B', last_name: 'Bad' });
    opened.value.close();
    const exported = await withDb('run', 'export.yaml', '--json');
    const exportJson = JSON.parse(exported.stdout) as { historyRunId: string; summary: { rejected: number } };
    expect(exportJson.summary.rejected).toBeGreaterThanOrEqual(2);
    const shown = JSON.parse((await withDb('runs', 'show', exportJson.historyRunId, '--json')).stdout) as { rejects: { seq: number; localKey?: string; code: string }[] };
    expect(shown.rejects.map((r) => r.localKey)).toEqual(expect.arrayContaining(['bad-1', 'bad-2']));
    const searched = JSON.parse((await withDb('runs', 'show', exportJson.historyRunId, '--search', 'BAD-2', '--json')).stdout) as { rejects: { localKey?: string }[] };
    expect(searched.rejects.map((r) => r.localKey)).toEqual(['bad-2']);
    const text = await withDb('runs', 'show', exportJson.historyRunId, '--rejects', '1');
    expect(text.stdout).toMatch(/Rejects:/);
    expect(text.stdout).toContain('(first 1; use --rejects <n> or --search <text>');
  });

  it('runs prune --older-than deletes old runs; run prunes automatically with --history-retention; bad values exit 2', async () => {
    expect((await withDb('run', 'import.yaml')).code).toBe(ExitCode.ok);
    // An old run, as if recorded 200 days ago.
    const opened = openSqliteStore(join(dir, 'db/crm.sqlite'));
    if (opened.isErr()) throw opened.error;
    const old = new Date(Date.now() - 200 * 86_400_000).toISOString();
    await opened.value.history.startRun({ runId: 'old-run', jobId: 'default/x', activity: 'x', operation: 'import', host: 'h', pid: 1, startedAt: old });
    await opened.value.history.startRun({ runId: 'older-run', jobId: 'default/x', activity: 'x', operation: 'import', host: 'h', pid: 1, startedAt: old });
    opened.value.close();

    const pruned = await withDb('runs', 'prune', '--older-than', '365d', '--json');
    expect(JSON.parse(pruned.stdout)).toMatchObject({ pruned: 0 });
    const prunedText = await withDb('runs', 'prune', '--older-than', '300d');
    expect(prunedText.stdout).toMatch(/^Pruned 0 runs that started before /);

    // With the retention off nothing is pruned; with the default (90d) the old runs go.
    expect((await withDb('run', 'import.yaml', '--history-retention', 'off')).code).toBe(ExitCode.ok);
    expect((JSON.parse((await withDb('runs', 'list', '--json')).stdout) as ListedRun[]).length).toBe(4);
    expect((await withDb('run', 'import.yaml')).code).toBe(ExitCode.ok);
    const left = JSON.parse((await withDb('runs', 'list', '--json')).stdout) as ListedRun[];
    expect(left.map((run) => run.runId)).not.toContain('old-run');
    expect(left.length).toBe(3);

    expect((await withDb('runs', 'prune', '--older-than', '0d', '--json')).stdout).toBe('');
    const everything = await withDb('runs', 'prune', '--older-than', '1ms');
    expect(everything.code).toBe(ExitCode.ok);
    expect((JSON.parse((await withDb('runs', 'list', '--json')).stdout) as ListedRun[]).length).toBe(0);

    const bad = await withDb('runs', 'prune', '--older-than', 'ninety days');
    expect(bad.code).toBe(ExitCode.invalidInput);
    expect(bad.stderr).toMatch(/--older-than "ninety days": expected a duration/);
    const badRetention = await withDb('run', 'import.yaml', '--history-retention', '90');
    expect(badRetention.code).toBe(ExitCode.invalidInput);
    expect(badRetention.stderr).toMatch(/--history-retention "90": expected a duration/);
    const badEnv = await cli(dir, ['run', 'import.yaml', '--db', 'db/crm.sqlite'], { CRM_SYNC_HISTORY_RETENTION: 'forever' });
    expect(badEnv.code).toBe(ExitCode.invalidInput);
    expect(badEnv.stderr).toMatch(/CRM_SYNC_HISTORY_RETENTION "forever"/);
    const badSince = await withDb('runs', 'list', '--since', 'last tuesday');
    expect(badSince.code).toBe(ExitCode.invalidInput);
    expect(badSince.stderr).toMatch(/--since "last tuesday" is not a duration or a date/);
  });

  it('runs show of an unknown run exits 2 naming the run; runs list on a missing database prints nothing to list', async () => {
    const none = await withDb('runs', 'list');
    expect(none.code).toBe(ExitCode.ok);
    expect(none.stdout).toMatch(/No runs recorded yet/);
    expect((await withDb('run', 'import.yaml')).code).toBe(ExitCode.ok);
    const unknown = await withDb('runs', 'show', 'nope');
    expect(unknown.code).toBe(ExitCode.invalidInput);
    expect(unknown.stderr).toMatch(/run "nope" not found .* crm-sync runs list/);
  });

  it('runs list and show tell a live running run (its process holds the lease) from a dead one', async () => {
    expect((await withDb('run', 'import.yaml')).code).toBe(ExitCode.ok);
    const opened = openSqliteStore(join(dir, 'db/crm.sqlite'));
    if (opened.isErr()) throw opened.error;
    const now = new Date().toISOString();
    const live = await opened.value.leases.acquireLease('default/live', { host: 'h', pid: 1, runId: 'live-run' }, { ttlMs: 60_000 });
    expect(live.acquired).toBe(true);
    await opened.value.history.startRun({ runId: 'live-run', jobId: 'default/live', activity: 'live', operation: 'import', host: 'h', pid: 1, startedAt: now });
    await opened.value.history.startRun({ runId: 'dead-run', jobId: 'default/dead', activity: 'dead', operation: 'import', host: 'h', pid: 2, startedAt: now });
    opened.value.close();
    const listed = await withDb('runs', 'list', '--status', 'running');
    const line = (runId: string) => listed.stdout.split('\n').find((text) => text.startsWith(runId)) ?? '';
    expect(line('live-run')).toMatch(/\brunning\b/);
    expect(line('live-run')).not.toContain('(dead)');
    expect(line('dead-run')).toContain('running (dead)');
    expect(listed.stdout).toMatch(/"running \(dead\)": its process no longer holds the job's lease/);
    expect((await withDb('runs', 'show', 'dead-run')).stdout).toMatch(/note +its process no longer holds the job's lease/);
    expect((await withDb('runs', 'show', 'live-run')).stdout).not.toMatch(/no longer holds/);
  });

  it('parseSince reads durations back from now and dates in UTC', () => {
    const now = new Date('2024-06-10T12:00:00.000Z');
    expect(parseSince('24h', now)).toBe('2024-06-09T12:00:00.000Z');
    expect(parseSince('7d', now)).toBe('2024-06-03T12:00:00.000Z');
    expect(parseSince('2024-06-01', now)).toBe('2024-06-01T00:00:00.000Z');
    expect(parseSince('2024/06/01 08:30:00', now)).toBe('2024-06-01T08:30:00.000Z');
    expect(parseSince('2024-06-01T08:30:00+02:00', now)).toBe('2024-06-01T06:30:00.000Z');
    expect(parseSince('soon', now)).toBeUndefined();
    expect(parseSince('12', now)).toBeUndefined();
  });
});
