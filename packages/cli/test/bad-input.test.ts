import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { openSqliteStore, SqliteStoreError } from '@crm-sync/store-sqlite';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
// The journal class the CLI's store uses (same module instance), to make one of its reads fail.
import { SqliteExportJournal } from '../../store-sqlite/src/export-journal.js';
import { ExitCode } from '../src/exit-codes.js';
import { cli, IMPORT_HEAD, MOCK_ACCOUNTS, tempDir, writeFiles } from './helpers.js';

const PACKAGE_DIR = resolve(import.meta.dirname, '..');
const BIN = join(PACKAGE_DIR, 'dist/bin/crm-sync.js');

const IMPORT_JOB = `${IMPORT_HEAD}operation: import
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
  - { local: last_name, remote: lastName }
`;

/** No stack trace: no `    at fn (file:line)` line and no error class dump. */
function expectNoStack(text: string): void {
  expect(text).not.toMatch(/^\s+at /m);
  expect(text).not.toContain('SqliteStoreError:');
}

/** Overwrites the first page of `table` in the SQLite file at `path` (after a WAL checkpoint). */
function damageTable(path: string, table: string): void {
  // better-sqlite3 is store-sqlite's dependency, not the CLI's: load it from there.
  interface RawDatabase {
    pragma(source: string, options?: { simple: boolean }): unknown;
    prepare(source: string): { get(...params: unknown[]): unknown };
    close(): void;
  }
  const Database = createRequire(join(PACKAGE_DIR, '../store-sqlite/package.json'))('better-sqlite3') as new (path: string) => RawDatabase;
  const db = new Database(path);
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const { rootpage } = db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(table) as { rootpage: number };
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (rootpage - 1) * pageSize);
  closeSync(fd);
}

describe('bad input never crashes with a stack trace', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
    writeFiles(dir, { 'crm-sync.accounts.yaml': MOCK_ACCOUNTS, 'import.yaml': IMPORT_JOB, 'export.yaml': EXPORT_JOB });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe('a damaged SQLite file', () => {
    it('every command says the file is damaged, names it and what to do, exits 1, and an import does not report success', async () => {
      expect((await cli(dir, ['run', 'import.yaml', '--db', 'crm.sqlite'])).code).toBe(ExitCode.ok);
      const dbFile = join(dir, 'crm.sqlite');
      // Only the journal is damaged: an import (contacts and options) would not touch it.
      damageTable(dbFile, 'journal_runs');
      for (const argv of [['journal', 'list'], ['journal', 'show', 'some-run'], ['options', 'list'], ['run', 'import.yaml'], ['run', 'import.yaml', '--dry-run']]) {
        const run = await cli(dir, [...argv, '--db', 'crm.sqlite']);
        expect(run.code, argv.join(' ')).toBe(ExitCode.runFailed);
        expect(run.stderr, argv.join(' ')).toContain(`[crm-sync] [store-sqlite] The SQLite file "${dbFile}" is damaged (PRAGMA quick_check: `);
        expect(run.stderr, argv.join(' ')).toContain('Nothing was read or written. Restore it from a backup, or move it away and start with a new file.');
        expect(run.stdout, argv.join(' ')).not.toMatch(/done/);
        expectNoStack(run.stderr);
      }
    });

    it('a store call that fails after the file opened is exit 1 with the store message, not a stack', async () => {
      expect((await cli(dir, ['run', 'import.yaml', '--db', 'crm.sqlite'])).code).toBe(ExitCode.ok);
      vi.spyOn(SqliteExportJournal.prototype, 'listRuns').mockRejectedValue(
        new SqliteStoreError('corrupt', 'Listing export runs failed: the database file is damaged (database disk image is malformed).'),
      );
      const run = await cli(dir, ['journal', 'list', '--db', 'crm.sqlite']);
      expect(run.code).toBe(ExitCode.runFailed);
      expect(run.stderr).toBe('[crm-sync] [store-sqlite] Listing export runs failed: the database file is damaged (database disk image is malformed).\n');
    });
  });

  it('a YAML alias bomb is exit 2 with a message naming the file', async () => {
    const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [index, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].entries()) {
      const previous = String.fromCharCode('a'.charCodeAt(0) + index);
      bomb.push(`${name}: &${name} [${Array.from({ length: 9 }, () => `*${previous}`).join(',')}]`);
    }
    writeFiles(dir, { 'bomb.yaml': `${IMPORT_JOB}variables:\n  ${bomb.join('\n  ')}\n` });
    const run = await cli(dir, ['run', 'bomb.yaml', '--db', 'crm.sqlite']);
    expect(run.code).toBe(ExitCode.invalidInput);
    expect(run.stderr).toMatch(/^\[crm-sync\] bomb\.yaml: invalid YAML: its aliases \(\*name\) expand to too many nodes .*"alias bomb".*\n$/);
    expectNoStack(run.stderr);
    expect(existsSync(join(dir, 'crm.sqlite'))).toBe(false);
  });

  describe('local.table', () => {
    let server: Server;
    let calls: number;
    beforeAll(async () => {
      calls = 0;
      server = createServer((_request, response) => {
        calls += 1;
        response.statusCode = 503;
        response.end();
      });
      await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
      return () => new Promise<void>((closed) => server.close(() => closed()));
    });

    it("an invalid name (o'brien) is exit 2 before any CRM call and before the database is created", async () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      writeFiles(dir, {
        'accounts.yaml': `accounts:\n  org:\n    connector: salesforce\n    instanceUrl: ${url}\n    accessToken: not-a-real-token\n`,
        'bad-table.yaml': `activity: importContacts\nconnector: salesforce\naccount: org\noperation: import\nobject: Contact\nfields:\n  - { remote: LastName, local: last_name }\nlocal: { table: "o'brien" }\n`,
      });
      const run = await cli(dir, ['run', 'bad-table.yaml', '--accounts', 'accounts.yaml', '--db', 'db/crm.sqlite']);
      expect(run.code).toBe(ExitCode.invalidInput);
      expect(run.stderr).toBe(
        `[crm-sync] bad-table.yaml: local.table: Local table name "o'brien" is not allowed: use 1 to 63 letters, digits or underscores, starting with a letter or underscore (e.g. "contacts"). Set it in the job's local.table. (line 8)\n`,
      );
      expect(calls).toBe(0);
      expect(existsSync(join(dir, 'db'))).toBe(false);
    });
  });

  it('the warning for each reject names the record (local key, CRM id)', async () => {
    expect((await cli(dir, ['run', 'import.yaml', '--db', 'crm.sqlite'])).code).toBe(ExitCode.ok);
    const store = openSqliteStore(join(dir, 'crm.sqlite'))._unsafeUnwrap();
    await store.records.upsertLocal('contacts', 'app-1', { last_name: 'Hoekstra', email: 'sanne@example.com' });
    await store.records.upsertLocal('contacts', 'app-2', { last_name: 'Kuipers', email: 'not-an-email' });
    store.close();
    const run = await cli(dir, ['run', 'export.yaml', '--db', 'crm.sqlite']);
    expect(run.code).toBe(ExitCode.ok);
    expect(run.stderr).toContain('warning: [crm-sync] [orchestrator] record local key "app-2" rejected (validation FIELD_CUSTOM_VALIDATION_EXCEPTION): ');
  });

  describe('sizes the connector caps or the operation ignores', () => {
    it('warns that a pageSize above the connector maximum is capped, naming the line', async () => {
      writeFiles(dir, { 'big-pages.yaml': `${IMPORT_JOB}pageSize: 20000\n` });
      const run = await cli(dir, ['run', 'big-pages.yaml', '--db', 'crm.sqlite']);
      expect(run.code).toBe(ExitCode.ok);
      expect(run.stderr).toContain(
        "warning: big-pages.yaml: pageSize: 20000 is above the mock connector's maximum of 10000 records per page, so 10000 is used; set pageSize: 10000 or less to silence this (line 10)\n",
      );
    });

    it('warns that an export batchSize above the connector maximum is capped', async () => {
      writeFiles(dir, { 'big-batches.yaml': `${EXPORT_JOB}batchSize: 5000\n` });
      const run = await cli(dir, ['run', 'big-batches.yaml', '--db', 'crm.sqlite']);
      expect(run.code).toBe(ExitCode.ok);
      expect(run.stderr).toMatch(/warning: big-batches\.yaml: batchSize: 5000 is above the mock connector's maximum of \d+ records per write, so \d+ is used/);
    });

    it('refuses batchSize on an import and pageSize on an export (exit 2, nothing created)', async () => {
      writeFiles(dir, { 'import-batch.yaml': `${IMPORT_JOB}batchSize: 500\n`, 'export-page.yaml': `${EXPORT_JOB}pageSize: 500\n` });
      const imported = await cli(dir, ['run', 'import-batch.yaml', '--db', 'crm.sqlite']);
      expect(imported.code).toBe(ExitCode.invalidInput);
      expect(imported.stderr).toBe(
        '[crm-sync] import-batch.yaml: batchSize: only applies to operations export and delete (records per CRM write), not import, which would ignore it; remove it (pageSize sets the records per page read) (line 10)\n',
      );
      const exported = await cli(dir, ['run', 'export-page.yaml', '--db', 'crm.sqlite']);
      expect(exported.code).toBe(ExitCode.invalidInput);
      expect(exported.stderr).toContain('[crm-sync] export-page.yaml: pageSize: only applies to operations import and import-deleted');
      expect(existsSync(join(dir, 'crm.sqlite'))).toBe(false);
    });
  });

  describe('no command', () => {
    it('`crm-sync` alone prints help and exits 2, like an unknown command; --help still exits 0', async () => {
      const bare = await cli(dir, []);
      expect(bare.code).toBe(ExitCode.invalidInput);
      expect(bare.stderr).toContain('Usage: crm-sync');
      expect((await cli(dir, ['journal'])).code).toBe(ExitCode.invalidInput);
      expect((await cli(dir, ['--help'])).code).toBe(ExitCode.ok);
      expect((await cli(dir, ['help'])).code).toBe(ExitCode.ok);
      expect((await cli(dir, ['journal', '--help'])).code).toBe(ExitCode.ok);
    });
  });
});

/** The mock CRM of a spawned CLI, as saved in its JSON file after every write. */
function crmContacts(file: string): { values: Record<string, unknown>; deletedAt?: string }[] {
  if (!existsSync(file)) return [];
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { objects: Record<string, { values: Record<string, unknown>; deletedAt?: string }[]> }).objects.contact ?? [];
  } catch {
    return [];
  }
}

describe('Ctrl-C (SIGINT) during a run', () => {
  beforeAll(() => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const built = spawnSync(process.execPath, [tsc, '-b', PACKAGE_DIR], { encoding: 'utf8' });
    expect(built.stdout + built.stderr).toBe('');
    expect(built.status).toBe(0);
  }, 300_000);

  it('an import says how far it got and how to continue; exits 130', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'accounts.yaml': 'accounts:\n  demo:\n    connector: mock\n    mock: { seed: demo, contacts: 2000, latencyMs: 200 }\n',
      'import.yaml': `${IMPORT_JOB}automaticIndex: true\npageSize: 100\n`,
    });
    const child = spawn(process.execPath, [BIN, 'run', 'import.yaml', '--accounts', 'accounts.yaml', '--db', 'crm.sqlite'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    // Interrupt once a few pages are in (progress lines name the records read so far).
    for (let attempt = 0; attempt < 1500 && !/import contact: read [1-9]\d{2,} records/.test(stderr); attempt += 1) await new Promise((wait) => setTimeout(wait, 20));
    child.kill('SIGINT');
    expect(await exited).toBe(ExitCode.interrupted);
    expect(stderr).toMatch(
      /\[crm-sync\] interrupted \(Ctrl-C\): import contact stopped after reading \d+ records \(\d+ written locally, 0 deleted\); what was committed stays \(the watermark moves only with committed pages\)\. Continue with: crm-sync run import\.yaml\n/,
    );
    expectNoStack(stderr);
  }, 120_000);

  it('says which export run was left open, with what, and the command that resumes it; exits 130; the resume finishes it', async () => {
    const rows = 1500;
    const dir = tempDir();
    writeFiles(dir, {
      'accounts.yaml': 'accounts:\n  demo:\n    connector: mock\n    mock: { seed: empty, latencyMs: 250 }\n',
      'export.yaml': `${EXPORT_JOB}batchSize: 20\n`,
    });
    const dbFile = join(dir, 'crm.sqlite');
    const store = openSqliteStore(dbFile)._unsafeUnwrap();
    for (let index = 0; index < rows; index += 1) {
      const key = `k${String(index).padStart(4, '0')}`;
      await store.records.upsertLocal('contacts', key, { last_name: `Name ${index}`, email: `${key}@example.com` });
    }
    store.close();
    const crmFile = `${dbFile}.mock-crm.json`;

    const child = spawn(process.execPath, [BIN, 'run', 'export.yaml', '--accounts', 'accounts.yaml', '--db', 'crm.sqlite'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
    for (let attempt = 0; attempt < 1500 && crmContacts(crmFile).length < 40; attempt += 1) await new Promise((wait) => setTimeout(wait, 20));
    child.kill('SIGINT');
    const { code } = await exited;
    expect(code).toBe(ExitCode.interrupted);
    expect(stderr).toMatch(/\[crm-sync\] interrupted \(Ctrl-C\): export run \S+ left open with (\d+) pending and 0 in doubt \((\d+) committed, 0 rejected\); nothing committed is sent again\. Resume it with: crm-sync run export\.yaml\n/);
    expectNoStack(stderr);
    const [, pending, committed] = /left open with (\d+) pending and 0 in doubt \((\d+) committed/.exec(stderr) ?? [];
    expect(Number(pending)).toBeGreaterThan(0);
    expect(Number(pending) + Number(committed)).toBe(rows);

    const resumed = await cli(dir, ['run', 'export.yaml', '--accounts', 'accounts.yaml', '--db', 'crm.sqlite', '--json'], { CRM_SYNC_ACCOUNT_DEMO_MOCK_LATENCY_MS: '0' });
    expect(resumed.code).toBe(ExitCode.ok);
    // Counted by what happened to each record, whichever invocation settled it.
    const resumedSummary = JSON.parse(resumed.stdout).summary as { created: number; updated: number; skipped: number; rejected: number; notes: string[] };
    expect(resumedSummary).toMatchObject({ created: rows, updated: 0, skipped: 0, rejected: 0 });
    if (Number(committed) > 0) expect(resumedSummary.notes.join('\n')).toContain(`${committed} records were settled by an earlier invocation`);
    const keys = crmContacts(crmFile).map((record) => record.values.externalKey);
    expect(new Set(keys).size).toBe(rows);
    expect(keys).toHaveLength(rows);
  }, 120_000);
});
