import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crmError, registerSecret } from '@crm-sync/sdk';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { errorsFileOutput, rejectsFileOutput } from '../src/report/file-output.js';
import { cli, MOCK_ACCOUNTS, tempDir, writeFiles } from './helpers.js';

describe('crm-sync run outcomes', () => {
  let dir: string;
  const run = (job: string, ...flags: string[]) => cli(dir, ['run', job, '--db', 'crm.sqlite', ...flags]);

  beforeEach(() => {
    dir = tempDir();
    writeFiles(dir, { 'crm-sync.accounts.yaml': MOCK_ACCOUNTS });
  });

  it('fails (exit 1) on a deleted-records window older than the CRM keeps, saying what to do', async () => {
    writeFiles(dir, {
      'old.yaml': 'activity: importDeleted\nconnector: mock\naccount: demo\noperation: import-deleted\nobject: contact\nwindow: { start: "2000-01-01", end: "2000-01-31" }\nlocal: { table: contacts }\n',
    });
    const result = await run('old.yaml');
    expect(result.code).toBe(ExitCode.runFailed);
    expect(result.stderr).toMatch(/\[crm-sync\] \[mock\] deleted records of contact are only available from .*Run a full re-sync/);
    expect(result.stderr).toContain('import-deleted contact: failed after');
  });

  it('imports exactly the ids of an ids file and reports those not found', async () => {
    writeFiles(dir, {
      'ids.txt': 'CON-000001\nCON-000002\n# a comment\n\nCON-999999\n',
      'ids.yaml': 'activity: byIds\nconnector: mock\naccount: demo\noperation: import\nobject: contact\nids: ids.txt\nfields: [ { remote: email } ]\nlocal: { table: picked }\n',
    });
    const result = await run('ids.yaml', '--json');
    expect(result.code).toBe(ExitCode.ok);
    expect(JSON.parse(result.stdout).summary).toMatchObject({ read: 2, notFound: ['CON-999999'] });
  });

  it('also writes the CRM id into the column named by local.key', async () => {
    writeFiles(dir, {
      'keyed.yaml': 'activity: keyed\nconnector: mock\naccount: demo\noperation: import\nobject: contact\nids: [ CON-000007 ]\nfields: [ { remote: lastName, local: last_name } ]\nlocal: { table: people, key: crm_id }\n',
    });
    expect((await run('keyed.yaml')).code).toBe(ExitCode.ok);
    const store = openSqliteStore(join(dir, 'crm.sqlite'))._unsafeUnwrap();
    expect((await store.records.getLocal('people', 'CON-000007'))?.values).toMatchObject({ crm_id: 'CON-000007' });
    store.close();
  });

  it('exports with changedSince: last-export only the rows changed since the start of the last finished export', async () => {
    writeFiles(dir, {
      'export.yaml':
        'activity: exportContacts\nconnector: mock\naccount: demo\noperation: export\nobject: contact\nlocal: { table: contacts }\nexport: { syncKey: externalKey, changedSince: last-export }\nfields:\n  - { local: last_name, remote: lastName }\n',
    });
    const seed = async (rows: Record<string, string>) => {
      const store = openSqliteStore(join(dir, 'crm.sqlite'))._unsafeUnwrap();
      for (const [key, changedAt] of Object.entries(rows)) await store.records.upsertLocal('contacts', key, { last_name: key.toUpperCase() }, { changedAt });
      store.close();
    };
    // Fixed stamps, so the test never depends on two events landing in the same millisecond.
    await seed({ a: '2020-01-01T00:00:00.000Z', b: '2020-01-02T00:00:00.000Z' });
    const first = await run('export.yaml');
    expect(first.code).toBe(ExitCode.ok);
    expect(first.stdout).toContain('note: changedSince: last-export: no finished export of this job yet, so every row changed locally is exported');
    expect(first.stdout).toMatch(/created\s+2\n/);

    await seed({ c: '2999-01-01T00:00:00.000Z' });
    const second = await run('export.yaml', '--json');
    expect(second.code).toBe(ExitCode.ok);
    expect(JSON.parse(second.stdout).summary).toMatchObject({ read: 1, created: 1, updated: 0 });
  });

  it('refuses a changedSince that is neither a date nor last-export before opening anything', async () => {
    writeFiles(dir, {
      'export.yaml':
        'activity: exportContacts\nconnector: mock\naccount: demo\noperation: export\nobject: contact\nlocal: { table: contacts }\nexport: { changedSince: last week }\nfields:\n  - { local: last_name, remote: lastName }\n',
    });
    const result = await run('export.yaml');
    expect(result.code).toBe(ExitCode.invalidInput);
    expect(result.stderr.trim()).toBe(
      '[crm-sync] export.yaml: export.changedSince: expected a date "YYYY-MM-DD" or an ISO date-time with offset such as "2024-06-01T00:00:00Z", or last-export, got "last week" (line 7)',
    );
    expect(existsSync(join(dir, 'crm.sqlite'))).toBe(false);
  });

  it('refuses a database file that is not SQLite (exit 2) and leaves no mock CRM file behind', async () => {
    writeFiles(dir, {
      'crm.sqlite': 'not a database\n',
      'ids.yaml': 'activity: byIds\nconnector: mock\naccount: demo\noperation: import\nobject: contact\nids: [ CON-000001 ]\nfields: [ { remote: email } ]\nlocal: { table: picked }\n',
    });
    const result = await run('ids.yaml');
    expect(result.code).toBe(ExitCode.invalidInput);
    expect(result.stderr).toContain(`[crm-sync] [store-sqlite] Cannot open SQLite store "${join(dir, 'crm.sqlite')}": file is not a database.`);
    expect(existsSync(join(dir, 'crm.sqlite.mock-crm.json'))).toBe(false);
  });

  it('starts a new export run with --no-resume and closes the interrupted one as failed', async () => {
    writeFiles(dir, {
      'export.yaml': 'activity: exportContacts\nconnector: mock\naccount: demo\noperation: export\nobject: contact\nlocal: { table: contacts }\nexport: { syncKey: externalKey }\nfields:\n  - { local: last_name, remote: lastName }\n',
    });
    const store = openSqliteStore(join(dir, 'crm.sqlite'))._unsafeUnwrap();
    await store.records.upsertLocal('contacts', 'a', { last_name: 'A' });
    const interrupted = await store.journal.startRun('default/exportContacts');
    store.close();
    const result = await run('export.yaml', '--no-resume', '--json');
    expect(result.code).toBe(ExitCode.ok);
    const summary = JSON.parse(result.stdout).summary as { runId: string; created: number };
    expect(summary.runId).not.toBe(interrupted.runId);
    expect(summary.created).toBe(1);
    const after = openSqliteStore(join(dir, 'crm.sqlite'))._unsafeUnwrap();
    expect((await after.journal.getRun(interrupted.runId))?.status).toBe('failed');
    after.close();
  });
});

describe('rejects and errors outputs', () => {
  it('writes errors as JSON Lines, with every secret masked and no cause', async () => {
    const dir = tempDir();
    const secret = registerSecret('sk-output-canary-12345');
    const output = errorsFileOutput(join(dir, 'out/errors.jsonl'));
    const error = crmError('transient', 'mock', `503 from https://crm.example/api?token=${secret}`, { cause: new Error(secret) });
    await output.write([{ operation: 'import', activity: 'a', part: 'page 2', attempt: 1, willRetry: true, error }]);
    const text = readFileSync(join(dir, 'out/errors.jsonl'), 'utf8');
    expect(text).not.toContain(secret);
    const line = JSON.parse(text.trim());
    expect(line).toMatchObject({ part: 'page 2', attempt: 1, willRetry: true, error: { kind: 'transient', retryable: true } });
    expect(line.error).not.toHaveProperty('cause');
    expect(output.written).toBe(1);
  });

  it('writes CSV with a header once and quotes commas, quotes and line breaks', async () => {
    const dir = tempDir();
    const output = rejectsFileOutput(join(dir, 'rejects.csv'));
    const item = { operation: 'export' as const, activity: 'a', code: 'validation' as const, message: 'Bad "value", see\nrule', fields: ['email', 'phone'], localKey: 'k1' };
    await output.write([item]);
    await output.write([{ ...item, localKey: 'k2' }]);
    expect(readFileSync(join(dir, 'rejects.csv'), 'utf8')).toBe(
      'operation,activity,code,symbol,message,fields,localKey,crmId\n' +
        'export,a,validation,,"Bad ""value"", see\nrule",email;phone,k1,\n' +
        'export,a,validation,,"Bad ""value"", see\nrule",email;phone,k2,\n',
    );
  });
});

describe('crm-sync run: import-deleted with an automatic index', () => {
  it('stores the end the CRM covered and starts the next window there', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'crm-sync.accounts.yaml': MOCK_ACCOUNTS,
      'deleted.yaml': 'activity: importDeleted\nconnector: mock\naccount: demo\noperation: import-deleted\nobject: contact\nwindow: { start: { expr: "daysAgo(1)" } }\nautomaticIndex: true\nlocal: { table: contacts }\n',
    });
    const first = await cli(dir, ['run', 'deleted.yaml', '--db', 'crm.sqlite', '--json']);
    expect(first.code, first.stderr).toBe(ExitCode.ok);
    const window = JSON.parse(first.stdout).summary.deletedWindow;
    expect(window).toMatchObject({ optionName: 'LASTDELETED_default_importDeleted', end: expect.any(String) });
    const store = openSqliteStore(join(dir, 'crm.sqlite'))._unsafeUnwrap();
    expect((await store.options.getOption('LASTDELETED_default_importDeleted'))?.meta?.at).toBe(window.end);
    store.close();
    const second = await cli(dir, ['run', 'deleted.yaml', '--db', 'crm.sqlite']);
    expect(second.code, second.stderr).toBe(ExitCode.ok);
    expect(second.stdout).toContain(`deletions read: [${window.end}, `);
    expect(second.stdout).toContain('next window starts there (option LASTDELETED_default_importDeleted)');
  });

  it('refuses import-only index settings on import-deleted, naming them (exit 2)', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'crm-sync.accounts.yaml': MOCK_ACCOUNTS,
      'deleted.yaml': 'activity: importDeleted\nconnector: mock\naccount: demo\noperation: import-deleted\nobject: contact\nwindow: { start: "2024-01-01" }\nautomaticIndex: { enabled: true, safetyLag: 2s }\nlocal: { table: contacts }\n',
    });
    const result = await cli(dir, ['run', 'deleted.yaml', '--db', 'crm.sqlite']);
    expect(result.code).toBe(ExitCode.invalidInput);
    expect(result.stderr).toMatch(/automaticIndex\.safetyLag.*only applies to operation import/);
  });
});
