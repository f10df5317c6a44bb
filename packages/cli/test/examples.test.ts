import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { cli, tempDir } from './helpers.js';

const EXAMPLES = resolve(import.meta.dirname, '../../../examples');

/** The shipped examples work as documented: `crm-sync run examples/<each>.yaml --accounts examples/accounts.yaml`. */
describe('the example job files against the shipped mock accounts', () => {
  let dir: string;
  const run = (name: string, ...flags: string[]) =>
    cli(dir, ['run', `examples/${name}.yaml`, '--accounts', 'examples/accounts.yaml', '--db', 'db/crm.sqlite', ...flags]);

  beforeEach(() => {
    dir = tempDir();
    cpSync(EXAMPLES, join(dir, 'examples'), { recursive: true, filter: (source) => !source.endsWith('.md') });
  });

  it('imports contacts, then imports only what changed since the watermark', async () => {
    const first = await run('import-contacts', '--json');
    expect(first.code).toBe(ExitCode.ok);
    const summary = JSON.parse(first.stdout).summary;
    expect(summary.operation).toBe('import');
    expect(summary.read).toBeGreaterThan(2500);
    expect(summary.window.optionName).toBe('LASTIMPORT_default_importContacts');
    const second = await run('import-contacts', '--json');
    expect(JSON.parse(second.stdout).summary.read).toBe(0);
    const store = openSqliteStore(join(dir, 'db/crm.sqlite'))._unsafeUnwrap();
    expect(await store.records.countLocal('contacts')).toBe(summary.read);
    store.close();
  });

  it('exports local changes, writes the rejected one to the CSV output, and exits 3 with --fail-on-rejects', async () => {
    expect((await run('import-contacts')).code).toBe(ExitCode.ok);
    const store = openSqliteStore(join(dir, 'db/crm.sqlite'))._unsafeUnwrap();
    await store.records.upsertLocal('contacts', 'app-1', { first_name: 'Sanne', last_name: 'Hoekstra', email: 'sanne@example.com' });
    await store.records.upsertLocal('contacts', 'app-2', { first_name: 'Joost', last_name: 'Kuipers', email: 'not-an-email' });
    store.close();
    const exported = await run('export-contacts', '--json', '--fail-on-rejects');
    expect(exported.code).toBe(ExitCode.finishedWithRejects);
    const result = JSON.parse(exported.stdout);
    expect(result.summary).toMatchObject({ operation: 'export', created: 1, rejected: 1 });
    const csv = readFileSync(join(dir, '.crm-sync/export-rejects.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('operation,activity,code,symbol,message,fields,localKey,crmId');
    expect(csv[1]).toContain('export,exportContacts,validation,FIELD_CUSTOM_VALIDATION_EXCEPTION');
    expect(csv[1]).toContain(',app-2,');
  });

  it('imports deleted records over a window of the last 7 days', async () => {
    const imported = await run('import-contacts');
    expect(imported.code).toBe(ExitCode.ok);
    const deleted = await run('delete-contacts', '--json');
    expect(deleted.code).toBe(ExitCode.ok);
    expect(JSON.parse(deleted.stdout).summary).toMatchObject({ operation: 'delete', deleted: 2, rejected: 0 });
    const deletions = await run('import-deleted-contacts', '--json');
    expect(deletions.code).toBe(ExitCode.ok);
    expect(JSON.parse(deletions.stdout).summary).toMatchObject({ operation: 'import-deleted', deleted: 2 });
  });

  it('deletes by id, and deleting again is harmless', async () => {
    expect((await run('delete-contacts')).code).toBe(ExitCode.ok);
    const again = await run('delete-contacts', '--json');
    expect(again.code).toBe(ExitCode.ok);
    expect(JSON.parse(again.stdout).summary).toMatchObject({ deleted: 2, rejected: 0 });
  });

  it('plans a dry run without creating the database', async () => {
    const planned = await run('import-contacts', '--dry-run');
    expect(planned.code).toBe(ExitCode.ok);
    expect(planned.stdout).toContain('estimated API calls');
    expect(planned.stdout).toContain('nothing will be changed');
    expect(planned.stdout).toContain('; filter lastActivityAt >= 2012-10-31T23:00:00.000Z and email is not empty;');
    expect(planned.stdout).not.toContain('"kind"');
    expect(existsSync(join(dir, 'db'))).toBe(false);
  });
});
