import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
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
export: { mode: auto, syncKey: externalKey, changedSince: "2000-01-01T00:00:00Z" }
fields:
  - { local: email, remote: email }
  - { local: first_name, remote: firstName }
  - { local: last_name, remote: lastName }
`;

describe('crm-sync commands', () => {
  let dir: string;
  const withDb = (...argv: string[]) => cli(dir, [...argv, '--db', 'db/crm.sqlite']);

  beforeEach(() => {
    dir = tempDir();
    writeFiles(dir, { 'crm-sync.accounts.yaml': MOCK_ACCOUNTS, 'import.yaml': IMPORT_JOB, 'export.yaml': EXPORT_JOB });
  });

  describe('options', () => {
    it('lists the watermark an import left, gets it, and sets it by hand', async () => {
      expect((await withDb('run', 'import.yaml')).code).toBe(ExitCode.ok);
      const listed = await withDb('options', 'list', '--json');
      expect(listed.code).toBe(ExitCode.ok);
      const options = JSON.parse(listed.stdout) as { name: string; value: string }[];
      expect(options.map((option) => option.name)).toEqual(['LASTIMPORT_default_importContacts']);
      expect(options[0]?.value).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/);

      const set = await withDb('options', 'set', 'LASTIMPORT_default_importContacts', '2024/06/01 08:30:00');
      expect(set.code).toBe(ExitCode.ok);
      const got = await withDb('options', 'get', 'LASTIMPORT_default_importContacts');
      expect(got.stdout.trim()).toBe('2024/06/01 08:30:00');
    });

    it('refuses a value that is not yyyy/MM/dd HH:mm:ss, saying the format', async () => {
      const set = await withDb('options', 'set', 'LASTIMPORT_default_importContacts', '2024-06-01 08:30');
      expect(set.code).toBe(ExitCode.invalidInput);
      expect(set.stderr).toMatch(
        /^\[crm-sync\] options set LASTIMPORT_default_importContacts: "2024-06-01 08:30" is not a date in the format yyyy\/MM\/dd HH:mm:ss \(UTC\), e\.g\. \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}; quote it in the shell: "2024\/06\/01 08:30:00"\n$/,
      );
      expect(existsSync(join(dir, 'db'))).toBe(false);
    });

    it('refuses a watermark in the future', async () => {
      const set = await withDb('options', 'set', 'LASTIMPORT_default_importContacts', '2999/01/01 00:00:00');
      expect(set.code).toBe(ExitCode.invalidInput);
      expect(set.stderr).toContain('"2999/01/01 00:00:00" is in the future');
    });

    it('says an option does not exist', async () => {
      const got = await withDb('options', 'get', 'LASTIMPORT_nope');
      expect(got.code).toBe(ExitCode.invalidInput);
      expect(got.stderr.trim()).toBe(`[crm-sync] option "LASTIMPORT_nope" not found in ${join(dir, 'db/crm.sqlite')}; list them with: crm-sync options list`);
    });
  });

  describe('journal', () => {
    it('lists export runs and shows one with its entries', async () => {
      expect((await withDb('run', 'import.yaml')).code).toBe(ExitCode.ok);
      const { openSqliteStore } = await import('@crm-sync/store-sqlite');
      const store = openSqliteStore(join(dir, 'db/crm.sqlite'))._unsafeUnwrap();
      await store.records.upsertLocal('contacts', 'app-1', { first_name: 'Sanne', last_name: 'Hoekstra', email: 'sanne@example.com' });
      store.close();
      const exported = await withDb('run', 'export.yaml', '--json');
      expect(exported.code).toBe(ExitCode.ok);
      const runId = JSON.parse(exported.stdout).summary.runId as string;

      const listed = await withDb('journal', 'list');
      expect(listed.code).toBe(ExitCode.ok);
      expect(listed.stdout).toContain(runId);
      expect(listed.stdout).toContain('default/exportContacts');

      const shown = await withDb('journal', 'show', runId);
      expect(shown.code).toBe(ExitCode.ok);
      expect(shown.stdout).toContain(`Run ${runId} of job default/exportContacts: finished`);
      expect(shown.stdout).toMatch(/app-1\s+\S+\s+committed/);
    });

    it('says there is nothing to resume when the export finished', async () => {
      const resumed = await withDb('journal', 'resume', 'export.yaml');
      expect(resumed.code).toBe(ExitCode.ok);
      expect(resumed.stdout).toContain('Nothing to resume: job default/exportContacts has no interrupted export');
    });

    it('refuses to resume an import job', async () => {
      const resumed = await withDb('journal', 'resume', 'import.yaml');
      expect(resumed.code).toBe(ExitCode.invalidInput);
      expect(resumed.stderr).toContain('journal resume applies to export jobs only');
    });
  });

  describe('describe', () => {
    it('prints the fields of an object with their types', async () => {
      const described = await cli(dir, ['describe', 'contact', '--connector', 'mock', '--account', 'demo']);
      expect(described.code).toBe(ExitCode.ok);
      expect(described.stdout).toContain('contact (Contact): primary key id');
      expect(described.stdout).toMatch(/birthDate\s+date\s+date-only/);
      expect(described.stdout).toMatch(/externalKey\s+string\(80\)\s+external-id/);
      expect(described.stdout).toContain('Change field for incremental import (automatic index): updatedAt');
    });

    it('lists the objects when no object is given', async () => {
      const listed = await cli(dir, ['describe', '--account', 'demo', '--json']);
      expect(listed.code).toBe(ExitCode.ok);
      expect((JSON.parse(listed.stdout) as { name: string }[]).map((object) => object.name)).toEqual(['account', 'contact', 'lead', 'opportunity']);
    });

    it('says an unknown object is unknown, and exits 2', async () => {
      const described = await cli(dir, ['describe', 'contcat', '--account', 'demo']);
      expect(described.code).toBe(ExitCode.invalidInput);
      expect(described.stderr).toContain('contcat');
    });
  });

  describe('accounts', () => {
    it('reads an account from CRM_SYNC_ACCOUNT_<NAME>_<KEY> environment variables', async () => {
      const described = await cli(dir, ['describe', 'lead', '--account', 'env-crm', '--accounts', 'none.yaml'], {});
      expect(described.code).toBe(ExitCode.invalidInput);
      const fromEnv = await cli(dir, ['describe', 'lead', '--account', 'env-crm'], { CRM_SYNC_ACCOUNT_ENV_CRM_CONNECTOR: 'mock', CRM_SYNC_ACCOUNT_ENV_CRM_MOCK_SEED: 'empty' });
      expect(fromEnv.code).toBe(ExitCode.ok);
      expect(fromEnv.stdout).toContain('lead (Lead)');
    });

    it('names the account, the file and the environment prefix when an account is missing', async () => {
      const run = await cli(dir, ['describe', 'contact', '--account', 'sales-org']);
      expect(run.code).toBe(ExitCode.invalidInput);
      expect(run.stderr.trim()).toBe(
        `[crm-sync] account "sales-org" not found: add it under accounts: in ${join(dir, 'crm-sync.accounts.yaml')} (or pass --accounts <file>), or set CRM_SYNC_ACCOUNT_SALES_ORG_CONNECTOR and its other keys in the environment`,
      );
    });

    it('never prints an account secret, even when the account is invalid', async () => {
      writeFiles(dir, {
        'sf.yaml': 'accounts:\n  sales-org:\n    connector: salesforce\n    instanceUrl: not a url\n    accessToken: 00Dxx-very-secret-token\n',
      });
      const run = await cli(dir, ['describe', 'Contact', '--account', 'sales-org', '--accounts', 'sf.yaml']);
      expect(run.code).toBe(ExitCode.invalidInput);
      expect(run.stderr).toContain('accounts.sales-org.instanceUrl');
      expect(run.stderr).not.toContain('00Dxx-very-secret-token');
    });

    it('refuses an account of another connector than the job', async () => {
      writeFiles(dir, { 'other.yaml': IMPORT_JOB.replace('connector: mock', 'connector: dynamics') });
      const run = await withDb('run', 'other.yaml');
      expect(run.code).toBe(ExitCode.invalidInput);
      expect(run.stderr.trim()).toBe(
        `[crm-sync] account "demo" (${join(dir, 'crm-sync.accounts.yaml')}) is for connector "mock", but the job uses connector "dynamics"; use an account of connector dynamics`,
      );
    });

    it('refuses an unknown connector id', async () => {
      writeFiles(dir, { 'other.yaml': IMPORT_JOB.replace('connector: mock', 'connector: hubspot') });
      const run = await withDb('run', 'other.yaml');
      expect(run.code).toBe(ExitCode.invalidInput);
      expect(run.stderr.trim()).toMatch(/^\[crm-sync\] connector "hubspot" is neither built in \(mock, salesforce, dynamics\) nor an installed package .*: install the connector package there/);
    });
  });

  describe('output', () => {
    it('logs as JSON lines through pino with --log-format json, and prints nothing but the summary with --json', async () => {
      const run = await withDb('run', 'import.yaml', '--json', '--log-format', 'json');
      expect(run.code).toBe(ExitCode.ok);
      const summary = JSON.parse(run.stdout);
      expect(summary).toMatchObject({ ok: true, exitCode: 0, summary: { operation: 'import', activity: 'importContacts' } });
      for (const line of run.stderr.split('\n').filter((text) => text !== '')) {
        expect(JSON.parse(line)).toHaveProperty('level');
      }
    });

    it('prints plain progress lines and a summary table when not on a terminal', async () => {
      const run = await withDb('run', 'import.yaml');
      expect(run.code).toBe(ExitCode.ok);
      expect(run.stderr).toMatch(/import contact: done \d+ records, \d+ API calls, 0 rejects/);
      expect(run.stdout).toMatch(/^import contact: done in /);
      expect(run.stdout).toMatch(/read\s+\d+/);
    });

    it('prints help with the exit codes', async () => {
      const help = await cli(dir, ['--help']);
      expect(help.code).toBe(ExitCode.ok);
      expect(help.stdout).toContain('3  finished with rejected records and --fail-on-rejects was given');
    });

    it('refuses a count that is not a whole number with exit 2, naming the option and the value', async () => {
      const limit = await cli(dir, ['journal', 'show', 'some-run', '--limit', 'abc']);
      expect(limit.code).toBe(ExitCode.invalidInput);
      expect(limit.stderr).toContain("[crm-sync] option '--limit <n>' argument 'abc' is invalid. expected a whole number of at least 0");
      const contacts = await cli(dir, ['demo', '--crm', 'mock', '--contacts', '10', '--db', 'demo.sqlite']);
      expect(contacts.code).toBe(ExitCode.invalidInput);
      expect(contacts.stderr).toContain("argument '10' is invalid. expected a whole number of at least 50");
      expect(existsSync(join(dir, 'demo.sqlite'))).toBe(false);
    });

    it('exits 2 on an unknown command', async () => {
      const run = await cli(dir, ['sync']);
      expect(run.code).toBe(ExitCode.invalidInput);
      expect(run.stderr).toContain("unknown command 'sync'");
    });
  });
});
