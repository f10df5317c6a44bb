import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { cli, tempDir } from './helpers.js';

describe('crm-sync demo', () => {
  it('runs the whole workflow on the mock CRM and tells where the SQLite file is and what to try next', async () => {
    const dir = tempDir();
    const run = await cli(dir, ['demo', '--crm', 'mock', '--contacts', '400']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(ExitCode.ok);
    expect(run.stdout).toContain('Starting clean: .crm-sync/demo.sqlite is new');
    expect(run.stdout).toContain('read 400 contacts');
    expect(run.stdout).toMatch(/LASTIMPORT_default_importContacts = \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} \(UTC, CRM time\)\n   \(the sample CRM's clock runs two hours behind yours/);
    expect(run.stdout).toContain('local table "contacts": 400 rows, one per CRM record');
    expect(run.stdout).toContain('only the changes arrived: read 6 of 401 contacts');
    expect(run.stdout).toContain('created 2, updated 2, rejected 1');
    expect(run.stdout).toMatch(/rejected: local key CON-\d+: validation \(FIELD_CUSTOM_VALIDATION_EXCEPTION\): Email must contain "@"/);
    expect(run.stdout).toContain('3 local rows marked deleted');
    expect(run.stdout).toContain('deleted 1; the CRM now has');
    expect(run.stdout).toContain('The SQLite file is .crm-sync/demo.sqlite');
    expect(run.stdout).toContain('crm-sync options list --db .crm-sync/demo.sqlite');
    expect(existsSync(join(dir, '.crm-sync/demo.sqlite'))).toBe(true);
    const store = openSqliteStore(join(dir, '.crm-sync/demo.sqlite'))._unsafeUnwrap();
    expect((await store.options.getOption('LASTIMPORT_default_importContacts'))?.value).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/);
    store.close();
  });

  it('starts clean on a second run by default, and continues incrementally with --keep', async () => {
    const dir = tempDir();
    expect((await cli(dir, ['demo', '--crm', 'mock', '--contacts', '300'])).code).toBe(ExitCode.ok);
    const again = await cli(dir, ['demo', '--crm', 'mock', '--contacts', '300']);
    expect(again.code).toBe(ExitCode.ok);
    expect(again.stdout).toContain('Starting clean');
    expect(again.stdout).toContain('read 300 contacts');
    const kept = await cli(dir, ['demo', '--crm', 'mock', '--keep']);
    expect(kept.code).toBe(ExitCode.ok);
    expect(kept.stdout).toContain('(--keep): the first import is incremental');
    // Only what the previous demo changed in the CRM after its last import comes back.
    expect(kept.stdout).toMatch(/read [1-9] contacts in/);
    expect(kept.stdout).toContain('created 2, updated 2, rejected 1');
  });

  it('runs on the Salesforce emulator through the Salesforce connector by default', async () => {
    const dir = tempDir();
    const run = await cli(dir, ['demo', '--contacts', '300']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(ExitCode.ok);
    expect(run.stdout).toMatch(/Running on: the Salesforce emulator at http:\/\/127\.0\.0\.1:\d+ \(REST API over HTTP on loopback\), through the Salesforce connector/);
    expect(run.stdout).toContain('read 300 contacts');
    expect(run.stdout).toContain('only the changes arrived: read 6 of 301 contacts');
    // Salesforce validates email fields itself (INVALID_EMAIL_ADDRESS), before any validation rule.
    expect(run.stdout).toMatch(/rejected: local key 003\w+: invalid-value \(INVALID_EMAIL_ADDRESS\): Email: invalid email address: not-an-email/);
    expect(run.stdout).toContain('3 local rows marked deleted');
  });

  it('runs on the Dataverse emulator through the Dynamics connector with --crm dynamics', async () => {
    const dir = tempDir();
    const run = await cli(dir, ['demo', '--crm', 'dynamics', '--contacts', '300']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(ExitCode.ok);
    expect(run.stdout).toMatch(/Running on: the Dataverse emulator at http:\/\/127\.0\.0\.1:\d+/);
    expect(run.stdout).toContain('read 300 contacts');
    expect(run.stdout).toContain('only the changes arrived: read 6 of 301 contacts');
    expect(run.stdout).toContain('created 2, updated 2, rejected 1');
    expect(run.stdout).toContain('3 local rows marked deleted');
  });
});
