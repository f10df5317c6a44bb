/**
 * The measure of issue 15: a connector scaffolded outside the workspace installs offline against
 * this checkout (`file:` dependencies), its tests pass, it builds, and the `crm-sync` command
 * (built, in a child process) finds it as an installed plugin and runs its four operations
 * against the scaffold's own fake CRM.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../create-connector.mjs';
import { childEnvironment, repoRoot } from './link-workspace.js';

const run = promisify(execFile);

/** What the test uses of the scaffold's fake CRM (a renamed copy of the template's). */
interface Fake {
  readonly url: string;
  readonly apiKey: string;
  seed(object: string, values: readonly Record<string, unknown>[], changedAt?: string): string[];
  close(): Promise<void>;
}

describe('a scaffolded connector, installed offline and run through the CLI', () => {
  let workDir: string;
  let connectorDir: string;
  let project: string;
  let fake: Fake;
  const cliBin = join(repoRoot, 'packages', 'cli', 'dist', 'bin', 'crm-sync.js');
  const crmSync = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [cliBin, ...args], { cwd: project, env: childEnvironment(), encoding: 'utf8' });
      return { code: 0, stdout, stderr };
    } catch (failed) {
      const { code, stdout, stderr } = failed as { code: number; stdout: string; stderr: string };
      return { code, stdout, stderr };
    }
  };

  beforeAll(async () => {
    // The scaffold depends on the checkout's packages as built (dist/): build them (incremental).
    execFileSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'packages/cli', 'packages/testkit'], { cwd: repoRoot, stdio: 'pipe' });
    workDir = mkdtempSync(join(tmpdir(), 'crm-sync-measure-'));
    connectorDir = join(workDir, 'crm-sync-connector-relata');
    createConnector({ name: 'relata', dir: connectorDir, link: repoRoot });
    const npm = (...args: string[]) => execFileSync('npm', args, { cwd: connectorDir, env: childEnvironment(), encoding: 'utf8', stdio: 'pipe' });
    // Every dependency is a file: link into the checkout: nothing to fetch.
    npm('install', '--prefer-offline', '--no-audit', '--no-fund');
    npm('run', 'build');
    // A project that has the connector installed (as `npm install <folder>` would link it).
    project = join(workDir, 'project');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    symlinkSync(connectorDir, join(project, 'node_modules', 'crm-sync-connector-relata'));
    const module = (await import(pathToFileURL(join(connectorDir, 'test', 'support', 'relata-fake.ts')).href)) as Record<string, unknown>;
    const start = Object.entries(module).find(([name, value]) => /^start\w*Fake$/.test(name) && typeof value === 'function')?.[1] as (() => Promise<Fake>) | undefined;
    if (start === undefined) throw new Error('the scaffolded fake exports no start...Fake() function');
    fake = await start();
    const connector = 'connector: crm-sync-connector-relata';
    writeFileSync(join(project, 'accounts.yaml'), `accounts:\n  relata:\n    ${connector}\n    baseUrl: ${fake.url}\n    apiKey: ${fake.apiKey}\n`);
    const head = (activity: string, operation: string) => `activity: ${activity}\n${connector}\naccount: relata\noperation: ${operation}\nobject: contacts\n`;
    writeFileSync(join(project, 'import.yaml'), `${head('importRelata', 'import')}fields: [ { remote: lastName, local: last_name }, { remote: email, local: email } ]\nautomaticIndex: true\nlocal: { table: contacts }\n`);
    writeFileSync(join(project, 'export.yaml'), `${head('exportRelata', 'export')}fields: [ { local: last_name, remote: lastName } ]\nlocal: { table: outbox }\nexport: { mode: upsert, syncKey: email }\n`);
    writeFileSync(join(project, 'deleted.yaml'), `${head('importDeletedRelata', 'import-deleted')}window: { start: { expr: "daysAgo(7)" } }\nlocal: { table: contacts }\n`);
  }, 240_000);

  afterAll(async () => {
    await fake?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('passes its own tests after an offline npm install, with no registry dependency', () => {
    const pkg = JSON.parse(readFileSync(join(connectorDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const version of [...Object.values(pkg.dependencies), ...Object.values(pkg.devDependencies)]) expect(version).toMatch(/^file:/);
    const output = execFileSync('npm', ['test', '--', '--reporter=json'], { cwd: connectorDir, env: childEnvironment(), encoding: 'utf8', stdio: 'pipe' });
    const report = JSON.parse(output.slice(output.indexOf('{'))) as { numPassedTests: number; numFailedTests: number };
    expect(report.numFailedTests).toBe(0);
    expect(report.numPassedTests).toBeGreaterThanOrEqual(45);
  }, 120_000);

  it('is listed by crm-sync connectors list as an installed plugin', async () => {
    const listed = await crmSync('connectors', 'list', '--json');
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as { id: string; kind: string; package: string; version: string; capabilities: string }[];
    expect(rows.find((row) => row.kind === 'plugin')).toMatchObject({ id: 'relata', package: 'crm-sync-connector-relata', version: '0.1.0', capabilities: expect.stringContaining('deletions kept 30 days') });
  });

  it('imports, exports, deletes and imports the deletions through the CLI', async () => {
    const ids = fake.seed('contacts', [{ lastName: 'Visser', email: 'anna@example.test' }, { lastName: 'Bakker', email: 'bram@example.test' }], new Date(Date.now() - 3_600_000).toISOString());
    const db = ['--accounts', 'accounts.yaml', '--db', 'db.sqlite', '--json'];
    const imported = await crmSync('run', 'import.yaml', ...db);
    expect(imported.stderr).not.toMatch(/\n\s+at /);
    expect(imported.code, imported.stdout + imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout).summary).toMatchObject({ operation: 'import', read: 2 });

    // A local row to export, written with the store the CLI uses.
    const { openSqliteStore } = (await import(pathToFileURL(join(repoRoot, 'packages', 'store-sqlite', 'dist', 'index.js')).href)) as {
      openSqliteStore(path: string): { _unsafeUnwrap(): { records: { upsertLocal(table: string, key: string, values: Record<string, unknown>): Promise<unknown> }; close(): void } };
    };
    const store = openSqliteStore(join(project, 'db.sqlite'))._unsafeUnwrap();
    await store.records.upsertLocal('outbox', 'cor@example.test', { last_name: 'Smit' });
    store.close();
    const exported = await crmSync('run', 'export.yaml', ...db);
    expect(exported.code, exported.stdout + exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout).summary).toMatchObject({ operation: 'export', created: 1, rejected: 0 });

    writeFileSync(join(project, 'delete.yaml'), `activity: deleteRelata\nconnector: crm-sync-connector-relata\naccount: relata\noperation: delete\nobject: contacts\nids: [ ${ids.join(', ')} ]\n`);
    const deleted = await crmSync('run', 'delete.yaml', ...db);
    expect(deleted.code, deleted.stdout + deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout).summary).toMatchObject({ operation: 'delete', deleted: 2 });

    const deletions = await crmSync('run', 'deleted.yaml', ...db);
    expect(deletions.code, deletions.stdout + deletions.stderr).toBe(0);
    expect(JSON.parse(deletions.stdout).summary).toMatchObject({ operation: 'import-deleted', deleted: 2 });
  }, 60_000);
});
