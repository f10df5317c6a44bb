// The CLI on PostgreSQL: `--db postgres://...` (and the accounts file's `database:`) runs all four
// operations end to end, the other commands read the same database, the demo runs there, and the
// password of the connection string is never printed.
import { cpSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { dropPostgresSchema, openPostgresStore } from '@crm-sync/store-postgres';
import { POSTGRES_SERVICE, requireService } from '@crm-sync/testkit';
import { ExitCode } from '../src/exit-codes.js';
import { cli, tempDir, writeFiles } from './helpers.js';

const pgUrl = await requireService(POSTGRES_SERVICE);
const EXAMPLES = resolve(import.meta.dirname, '../../../examples');
const PREFIX = `cli_${process.pid}_${Date.now().toString(36)}`;
const schemas: string[] = [];
let counter = 0;

function freshSchema(): string {
  const schema = `${PREFIX}_${counter++}`;
  schemas.push(schema);
  return schema;
}

function urlWithSchema(schema: string): string {
  const url = new URL(pgUrl!);
  url.searchParams.set('schema', schema);
  return url.toString();
}

afterAll(async () => {
  if (pgUrl === undefined) return;
  for (const schema of [...schemas, 'crm_sync_demo_cli_test']) (await dropPostgresSchema(pgUrl, schema))._unsafeUnwrap();
});

describe.skipIf(pgUrl === undefined)('crm-sync on PostgreSQL', () => {
  let dir: string;
  let schema: string;
  let db: string;
  const run = (name: string, ...flags: string[]) => cli(dir, ['run', `examples/${name}.yaml`, '--accounts', 'examples/accounts.yaml', '--db', db, ...flags]);

  beforeEach(() => {
    dir = tempDir();
    cpSync(EXAMPLES, join(dir, 'examples'), { recursive: true, filter: (source) => !source.endsWith('.md') });
    schema = freshSchema();
    db = urlWithSchema(schema);
  });

  async function openSchema() {
    return (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap();
  }

  it('runs import, export, delete and import-deleted end to end with --db postgres://', async () => {
    const imported = await run('import-contacts', '--json');
    expect(imported.code).toBe(ExitCode.ok);
    const summary = JSON.parse(imported.stdout).summary;
    expect(summary.read).toBeGreaterThan(2500);
    const store = await openSchema();
    expect(await store.records.countLocal('contacts')).toBe(summary.read);
    expect((await store.options.getOption('LASTIMPORT_default_importContacts'))?.value).toMatch(/^\d{4}\/\d{2}\/\d{2} /);
    await store.records.upsertLocal('contacts', 'app-1', { first_name: 'Sanne', last_name: 'Hoekstra', email: 'sanne@example.com' });
    await store.records.upsertLocal('contacts', 'app-2', { first_name: 'Joost', last_name: 'Kuipers', email: 'not-an-email' });
    const exported = await run('export-contacts', '--json');
    expect(exported.code).toBe(ExitCode.ok);
    expect(JSON.parse(exported.stdout).summary).toMatchObject({ operation: 'export', created: 1, rejected: 1 });
    expect((await store.records.getLocal('contacts', 'app-1'))?.crmId).toBeDefined();
    const deleted = await run('delete-contacts', '--json');
    expect(deleted.code).toBe(ExitCode.ok);
    expect(JSON.parse(deleted.stdout).summary).toMatchObject({ operation: 'delete', deleted: 2, rejected: 0 });
    const deletions = await run('import-deleted-contacts', '--json');
    expect(deletions.code).toBe(ExitCode.ok);
    expect(JSON.parse(deletions.stdout).summary).toMatchObject({ operation: 'import-deleted', deleted: 2 });
    expect(await store.records.countLocal('contacts')).toBe(summary.read + 2 - 2);
    await store.close();

    const options = await cli(dir, ['options', 'list', '--db', db, '--json']);
    expect(options.code).toBe(ExitCode.ok);
    expect(JSON.parse(options.stdout).map((option: { name: string }) => option.name)).toContain('LASTIMPORT_default_importContacts');
    const journal = await cli(dir, ['journal', 'list', '--db', db, '--json']);
    expect(journal.code).toBe(ExitCode.ok);
    const runs = JSON.parse(journal.stdout) as { runId: string; status: string }[];
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('finished');
    const shown = await cli(dir, ['journal', 'show', runs[0]!.runId, '--db', db]);
    expect(shown.code).toBe(ExitCode.ok);
    expect(shown.stdout).toContain('committed 1');
    // The run history is recorded in PostgreSQL too: one run per operation, newest first.
    const history = await cli(dir, ['runs', 'list', '--db', db, '--json']);
    expect(history.code).toBe(ExitCode.ok);
    const recorded = JSON.parse(history.stdout) as { operation: string; status: string; runId: string }[];
    expect(recorded.map((run) => run.operation).sort()).toEqual(['delete', 'export', 'import', 'import-deleted']);
    expect(recorded.every((run) => run.status === 'succeeded')).toBe(true);
    const exportRun = recorded.find((run) => run.operation === 'export')!;
    const detail = await cli(dir, ['runs', 'show', exportRun.runId, '--db', db, '--json']);
    expect(detail.code).toBe(ExitCode.ok);
    expect(JSON.stringify(JSON.parse(detail.stdout))).toContain('FIELD_CUSTOM_VALIDATION_EXCEPTION');
  });

  it("takes the database from $CRM_SYNC_DB and from the accounts file's database:, never printing the password", async () => {
    const password = 'pw-Never-Printed-42';
    const url = new URL(db);
    url.username = 'postgres';
    url.password = password; // trust auth: accepted, and must stay secret all the same
    writeFiles(dir, { 'examples/with-db.yaml': `database: ${url.toString()}\n${readFileSync(join(dir, 'examples/accounts.yaml'), 'utf8')}` });
    const fromFile = await cli(dir, ['run', 'examples/import-contacts.yaml', '--accounts', 'examples/with-db.yaml', '--json']);
    expect(fromFile.code).toBe(ExitCode.ok);
    expect(JSON.parse(fromFile.stdout).database).toBe(url.toString().replace(password, '***'));
    const fromEnv = await cli(dir, ['options', 'list'], { CRM_SYNC_DB: url.toString() });
    expect(fromEnv.code).toBe(ExitCode.ok);
    expect(fromEnv.stdout).toContain('LASTIMPORT_default_importContacts');
    for (const output of [fromFile.stdout, fromFile.stderr, fromEnv.stdout, fromEnv.stderr]) expect(output).not.toContain(password);
  });

  it('fails with exit 1 and a masked URL when the server cannot be reached', async () => {
    const unreachable = 'postgres://crm:Hidden-pw-123@127.0.0.1:1/test';
    const result = await cli(dir, ['options', 'list', '--db', unreachable]);
    expect(result.code).toBe(ExitCode.runFailed);
    expect(result.stderr).toContain('postgres://crm:***@127.0.0.1:1/test');
    expect(result.stderr).toMatch(/cannot be reached \(ECONNREFUSED\)/);
    expect(result.stdout + result.stderr).not.toContain('Hidden-pw-123');
  });

  it('runs the demo on PostgreSQL (--db postgres://...), in its own schema, twice from a clean start', async () => {
    const url = new URL(pgUrl!);
    url.searchParams.set('schema', 'crm_sync_demo_cli_test');
    for (let i = 0; i < 2; i++) {
      const demo = await cli(dir, ['demo', '--crm', 'mock', '--contacts', '300', '--db', url.toString()]);
      expect(demo.stderr).toBe('');
      expect(demo.code).toBe(ExitCode.ok);
      expect(demo.stdout).toContain('read 300 contacts');
      expect(demo.stdout).toContain('created 2, updated 2, rejected 1');
      expect(demo.stdout).toContain('The PostgreSQL database is postgres://');
    }
    const store = (await openPostgresStore(pgUrl!, { schema: 'crm_sync_demo_cli_test' }))._unsafeUnwrap();
    expect(await store.records.countLocal('contacts', { includeDeleted: true })).toBeGreaterThanOrEqual(300);
    await store.close();
  });
});
