/**
 * Third-party connectors as plugins: the template connector (examples/connector-template, Acme)
 * runs through the CLI against its fake CRM on loopback, and a plugin that cannot be used gives a
 * clear error (exit 2), never a stack trace.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InMemoryCrm, MockConnector } from '@crm-sync/connector-mock';
import { DynamicsConnector } from '@crm-sync/connector-dynamics';
import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { SDK_VERSION, type CrmConnector } from '@crm-sync/sdk';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capabilityText } from '../src/commands/connectors-command.js';
import { ExitCode } from '../src/exit-codes.js';
import { cli, tempDir, writeFiles } from './helpers.js';

const TEMPLATE = resolve(import.meta.dirname, '../../../examples/connector-template');

/** What the test uses of the template's fake Acme CRM (test/support/acme-fake.ts). */
interface AcmeFake {
  readonly url: string;
  readonly apiKey: string;
  seed(object: string, values: readonly Record<string, unknown>[], changedAt?: string): string[];
  deleteDirect(object: string, id: string, at?: string): void;
  close(): Promise<void>;
}

async function startFake(): Promise<AcmeFake> {
  // A computed path: the template's test support is not part of this package's TypeScript project.
  const module = (await import(pathToFileURL(join(TEMPLATE, 'test', 'support', 'acme-fake.ts')).href)) as Record<string, unknown>;
  const start = Object.entries(module).find(([name, value]) => /^start\w*Fake$/.test(name) && typeof value === 'function')?.[1] as (() => Promise<AcmeFake>) | undefined;
  if (start === undefined) throw new Error('the template fake exports no start...Fake() function');
  return start();
}

/** Writes a plain-JavaScript plugin package into `dir/node_modules/<name>`. */
function writePluginPackage(dir: string, name: string, source: string, packageJson: Record<string, unknown> = {}): string {
  const folder = join(dir, 'node_modules', ...name.split('/'));
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ name, version: '1.2.3', type: 'module', keywords: ['crm-sync-connector'], exports: './index.js', ...packageJson }));
  writeFileSync(join(folder, 'index.js'), source);
  return folder;
}

/** A plugin definition in plain JavaScript, with the given SDK version. */
function definitionSource(id: string, sdkVersion: string): string {
  return `export const crmSyncPlugin = {
  id: '${id}', title: 'Relata CRM', sdkVersion: '${sdkVersion}', secretSettings: ['token'],
  capabilities: { maxPageSize: 500, upsertByExternalId: false, deletedRetentionDays: 7, serverTime: true, changeFields: ['modifiedMs'] },
  settings: { '~standard': { version: 1, vendor: 'relata', validate: (value) => typeof value.token === 'string' ? { value } : { issues: [{ path: ['token'], message: 'token is required' }] } } },
  plugin: () => ({ id: '${id}', register() { throw new Error('Relata is not reachable from this test'); } }),
};\n`;
}

describe('the template connector (Acme) as a plugin, through the CLI', () => {
  let fake: AcmeFake;
  let dir: string;
  const entry = join(TEMPLATE, 'src', 'index.ts');

  beforeAll(async () => {
    fake = await startFake();
    dir = tempDir();
    writeFiles(dir, {
      'accounts.yaml': `accounts:\n  acme:\n    connector: ${entry}\n    baseUrl: ${fake.url}\n    apiKey: ${fake.apiKey}\n`,
      'import.yaml': `activity: importAcme
connector: ${entry}
account: acme
operation: import
object: contacts
fields:
  - { remote: firstName, local: first_name }
  - { remote: lastName, local: last_name }
  - { remote: email, local: email }
automaticIndex: true
local: { table: contacts }
`,
      'export.yaml': `activity: exportAcme
connector: ${entry}
account: acme
operation: export
object: contacts
fields:
  - { local: first_name, remote: firstName }
  - { local: last_name, remote: lastName }
local: { table: outbox }
export: { mode: upsert, syncKey: email }
`,
      'deleted.yaml': `activity: importDeletedAcme
connector: ${entry}
account: acme
operation: import-deleted
object: contacts
window: { start: { expr: "daysAgo(7)" } }
local: { table: contacts }
`,
    });
  });

  afterAll(async () => {
    await fake.close();
  });

  const run = (file: string) => cli(dir, ['run', file, '--accounts', 'accounts.yaml', '--db', 'db.sqlite', '--json']);

  it('describes an object through the plugin', async () => {
    const described = await cli(dir, ['describe', 'contacts', '--account', 'acme', '--accounts', 'accounts.yaml']);
    expect(described.stderr).toBe('');
    expect(described.code).toBe(ExitCode.ok);
    expect(described.stdout).toContain('contacts');
    expect(described.stdout).toMatch(/Change field for incremental import \(automatic index\): updatedAt/);
  });

  it('imports, exports, deletes and imports the deletions', async () => {
    const ids = fake.seed('contacts', [
      { lastName: 'Visser', firstName: 'Anna', email: 'anna@example.test' },
      { lastName: 'Bakker', firstName: 'Bram', email: 'bram@example.test' },
      { lastName: 'Smit', firstName: 'Cor', email: 'cor@example.test' },
      // Changed a while ago: an incremental window ends a little before the CRM's clock.
    ], new Date(Date.now() - 3_600_000).toISOString());
    const imported = await run('import.yaml');
    expect(imported.stderr).not.toMatch(/\n\s+at /);
    expect(imported.code).toBe(ExitCode.ok);
    expect(JSON.parse(imported.stdout).summary, imported.stdout + imported.stderr).toMatchObject({ operation: "import", read: 3 });

    const store = openSqliteStore(join(dir, 'db.sqlite'))._unsafeUnwrap();
    // The local key fills the sync key (email), so a resent upsert never duplicates.
    await store.records.upsertLocal('outbox', 'dirk@example.test', { first_name: 'Dirk', last_name: 'Mulder' });
    store.close();
    const exported = await run('export.yaml');
    expect(exported.code, exported.stdout).toBe(ExitCode.ok);
    expect(JSON.parse(exported.stdout).summary).toMatchObject({ operation: 'export', created: 1, rejected: 0 });

    writeFiles(dir, {
      'delete.yaml': `activity: deleteAcme
connector: ${entry}
account: acme
operation: delete
object: contacts
ids: [ ${ids[0]}, ${ids[1]} ]
`,
    });
    const deleted = await run('delete.yaml');
    expect(deleted.code).toBe(ExitCode.ok);
    expect(JSON.parse(deleted.stdout).summary).toMatchObject({ operation: 'delete', deleted: 2, rejected: 0 });

    const deletions = await run('deleted.yaml');
    expect(deletions.code).toBe(ExitCode.ok);
    expect(JSON.parse(deletions.stdout).summary).toMatchObject({ operation: 'import-deleted', deleted: 2 });
  });

  it('takes a plugin account from environment variables', async () => {
    const env = { CRM_SYNC_ACCOUNT_ACME_ENV_CONNECTOR: entry, CRM_SYNC_ACCOUNT_ACME_ENV_BASE_URL: fake.url, CRM_SYNC_ACCOUNT_ACME_ENV_API_KEY: fake.apiKey, CRM_SYNC_ACCOUNT_ACME_ENV_TIMEOUT_MS: '5000' };
    const listed = await cli(dir, ['describe', '--account', 'acme-env', '--json'], env);
    expect(listed.stderr).toBe('');
    expect(JSON.parse(listed.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'contacts' })]));
  });

  it("validates the account with the plugin's settings schema, without echoing the secret", async () => {
    writeFiles(dir, { 'bad-accounts.yaml': `accounts:\n  acme:\n    connector: ${entry}\n    apiKey: not-shown-anywhere-42\n    colour: blue\n` });
    const refused = await cli(dir, ['run', 'import.yaml', '--accounts', 'bad-accounts.yaml', '--db', 'db.sqlite']);
    expect(refused.code).toBe(ExitCode.invalidInput);
    expect(refused.stderr).toContain('accounts.acme.baseUrl: baseUrl is required');
    expect(refused.stderr).toContain('accounts.acme.colour: unknown setting; use baseUrl, apiKey, timeoutMs');
    expect(refused.stderr).not.toContain('not-shown-anywhere-42');
  });
});

describe('connector plugins that cannot be used', () => {
  let dir: string;
  const accounts = (connector: string) => `accounts:\n  relata:\n    connector: "${connector}"\n    token: secret-token-123\n`;
  const job = (connector: string) => `activity: importRelata\nconnector: "${connector}"\naccount: relata\noperation: import\nobject: contacts\nfields: [ { remote: name, local: name } ]\nlocal: { table: contacts }\n`;
  const runWith = async (connector: string) => {
    writeFiles(dir, { 'accounts.yaml': accounts(connector), 'job.yaml': job(connector) });
    return cli(dir, ['run', 'job.yaml', '--accounts', 'accounts.yaml', '--db', 'db.sqlite']);
  };

  beforeAll(() => {
    dir = tempDir();
    writePluginPackage(dir, '@acme/crm-sync-connector-relata', definitionSource('relata', SDK_VERSION));
    writePluginPackage(dir, 'crm-sync-connector-future', definitionSource('future', '9.0.0'));
    writePluginPackage(dir, 'crm-sync-connector-empty', 'export const somethingElse = 1;\n');
    writePluginPackage(dir, 'crm-sync-connector-broken', "import 'a-dependency-that-is-not-installed';\nexport const crmSyncPlugin = {};\n");
    writePluginPackage(dir, 'not-a-connector', 'export default 1;\n', { keywords: [] });
  });

  it('lists the built-in connectors and the discovered plugins with versions and capabilities', async () => {
    const listed = await cli(dir, ['connectors', 'list', '--json']);
    expect(listed.code).toBe(ExitCode.ok);
    const rows = JSON.parse(listed.stdout) as { id: string; kind: string; package: string; version: string; capabilities: string; error?: string }[];
    expect(rows.filter((row) => row.kind === 'built-in').map((row) => row.id)).toEqual(['mock', 'salesforce', 'dynamics']);
    expect(rows.find((row) => row.id === 'mock')?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(rows.find((row) => row.id === 'relata')).toEqual({
      id: 'relata',
      kind: 'plugin',
      package: '@acme/crm-sync-connector-relata',
      version: '1.2.3',
      use: '@acme/crm-sync-connector-relata',
      capabilities: 'query (pages of 500), insert/update, delete, deletions kept 7 days, server time, change field modifiedMs',
    });
    expect(rows.find((row) => row.package === 'crm-sync-connector-future')?.error).toMatch(/built with @crm-sync\/sdk 9\.0\.0/);
    expect(rows.some((row) => row.package === 'not-a-connector')).toBe(false);
    // The built-ins' capabilities are what the connectors declare with a default configuration.
    const builtIns: Record<string, CrmConnector> = {
      mock: new MockConnector(new InMemoryCrm()),
      salesforce: new SalesforceConnector({ instanceUrl: 'https://example.my.salesforce.com', auth: { kind: 'access-token', accessToken: 'list-test-token' } }),
      dynamics: new DynamicsConnector({ orgUrl: 'https://example.crm4.dynamics.com', tenantId: '00000000-0000-0000-0000-000000000000', clientId: '00000000-0000-0000-0000-000000000000', clientSecret: 'list-test-secret' }),
    };
    for (const [id, connector] of Object.entries(builtIns)) expect(rows.find((row) => row.id === id)?.capabilities, id).toBe(capabilityText(connector.capabilities));
    const table = await cli(dir, ['connectors', 'list']);
    expect(table.stdout).toMatch(/relata\s+│?\s*plugin/);
  });

  it('loads a package by name, validates its settings and reports what its plugin throws, without a stack trace', async () => {
    const refused = await runWith('@acme/crm-sync-connector-relata');
    expect(refused.code).toBe(ExitCode.invalidInput);
    expect(refused.stderr.trim()).toBe('[crm-sync] [relata] account "relata" (' + join(dir, 'accounts.yaml') + '): Relata is not reachable from this test');
  });

  it('finds a discovered plugin by its id', async () => {
    const refused = await runWith('relata');
    expect(refused.stderr).toContain('Relata is not reachable from this test');
  });

  it('refuses a plugin built against another SDK major version', async () => {
    const refused = await runWith('crm-sync-connector-future');
    expect(refused.code).toBe(ExitCode.invalidInput);
    expect(refused.stderr).toContain(`was built with @crm-sync/sdk 9.0.0, but this crm-sync uses @crm-sync/sdk ${SDK_VERSION}`);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a package that exports no plugin, and says what to export', async () => {
    const refused = await runWith('crm-sync-connector-empty');
    expect(refused.code).toBe(ExitCode.invalidInput);
    expect(refused.stderr).toContain('exports nothing usable: no export crmSyncPlugin (nor a default export) that is an object; export a plugin made with defineConnectorPlugin');
  });

  it('refuses a package that fails to load, with the reason on one line', async () => {
    const refused = await runWith('crm-sync-connector-broken');
    expect(refused.code).toBe(ExitCode.invalidInput);
    expect(refused.stderr).toMatch(/package crm-sync-connector-broken failed to load .*a-dependency-that-is-not-installed/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a package that is not installed, and a path that does not exist', async () => {
    const missing = await runWith('@acme/crm-sync-connector-nowhere');
    expect(missing.code).toBe(ExitCode.invalidInput);
    expect(missing.stderr).toContain('connector "@acme/crm-sync-connector-nowhere" is neither built in (mock, salesforce, dynamics) nor an installed package');
    const noPath = await runWith('./connectors/nowhere');
    expect(noPath.code).toBe(ExitCode.invalidInput);
    expect(noPath.stderr).toContain(`connector path ${join(dir, 'connectors', 'nowhere')} does not exist`);
  });

  it('loads a plugin by a relative path, from the folder of the file that names it', async () => {
    mkdirSync(join(dir, 'connectors'), { recursive: true });
    symlinkSync(join(dir, 'node_modules', '@acme', 'crm-sync-connector-relata'), join(dir, 'connectors', 'relata'));
    const refused = await runWith('./connectors/relata');
    expect(refused.stderr).toContain('Relata is not reachable from this test');
  });

  it('refuses a job and an account that name different connectors', async () => {
    writeFiles(dir, { 'accounts.yaml': accounts('@acme/crm-sync-connector-relata'), 'job.yaml': job('crm-sync-connector-future') });
    const refused = await cli(dir, ['run', 'job.yaml', '--accounts', 'accounts.yaml', '--db', 'db.sqlite']);
    expect(refused.code).toBe(ExitCode.invalidInput);
    expect(refused.stderr).toContain('is for connector "@acme/crm-sync-connector-relata", but the job uses connector "crm-sync-connector-future"');
  });
});
