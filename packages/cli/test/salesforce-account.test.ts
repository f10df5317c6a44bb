import { InMemoryCrm, SystemClock } from '@crm-sync/connector-mock';
import { salesforceEmulatorSchemas, startSalesforceEmulator, type SalesforceEmulator } from '@crm-sync/connector-salesforce/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVendor } from '../src/connectors/vendor-connectors.js';
import { ExitCode } from '../src/exit-codes.js';
import { createLogger } from '../src/report/logger.js';
import { cli, tempDir, writeFiles } from './helpers.js';

const IMPORT_JOB = `activity: importSalesforceContacts
connector: salesforce
account: sales-org
operation: import
object: Contact
timeZone: Europe/Amsterdam
fields:
  - { remote: FirstName, local: first_name }
  - { remote: LastName, local: last_name }
  - { remote: Birthdate, local: birth_date, conversion: date-only }
filter:
  and:
    - { field: Score__c, op: gte, value: 10 }
automaticIndex: true
local: { table: contacts }
`;

/** A Salesforce account (instance URL + access token) reaching the emulator over loopback. */
describe('a salesforce account', () => {
  let emulator: SalesforceEmulator;
  let dir: string;
  let token: string;

  beforeAll(async () => {
    // The real clock: the import's window ends at the CRM's "now", after these records.
    emulator = await startSalesforceEmulator({ crm: new InMemoryCrm({ schemas: salesforceEmulatorSchemas(), clock: new SystemClock() }) });
    const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();
    for (let index = 0; index < 30; index += 1) {
      emulator.crm.insert('Contact', { FirstName: `F${index}`, LastName: `L${index}`, Score__c: index, Birthdate: '1980-02-29' }, { at: anHourAgo });
    }
    token = emulator.issueAccessToken();
    dir = tempDir();
    writeFiles(dir, {
      'accounts.yaml': `accounts:\n  sales-org:\n    connector: salesforce\n    instanceUrl: ${emulator.url}\n    accessToken: ${token}\n`,
      'import.yaml': IMPORT_JOB,
    });
  });
  afterAll(async () => emulator.close());

  it('describes an object through the Salesforce connector', async () => {
    const described = await cli(dir, ['describe', 'Contact', '--account', 'sales-org', '--accounts', 'accounts.yaml']);
    expect(described.stderr).toBe('');
    expect(described.code).toBe(ExitCode.ok);
    expect(described.stdout).toContain('Contact (Contact): primary key Id');
    expect(described.stdout).toContain('Change field for incremental import (automatic index): LastModifiedDate');
  });

  it('runs an import job and never shows the access token', async () => {
    const run = await cli(dir, ['run', 'import.yaml', '--accounts', 'accounts.yaml', '--db', 'db.sqlite', '--json', '--log-format', 'json', '--verbose']);
    expect(run.code).toBe(ExitCode.ok);
    expect(JSON.parse(run.stdout).summary).toMatchObject({ operation: 'import', read: 20 });
    expect(run.stdout + run.stderr).not.toContain(token);
  });

  it('can take the token from the environment instead of the file', async () => {
    writeFiles(dir, { 'no-token.yaml': `accounts:\n  sales-org:\n    connector: salesforce\n    instanceUrl: ${emulator.url}\n` });
    const run = await cli(dir, ['describe', 'Contact', '--account', 'sales-org', '--accounts', 'no-token.yaml'], { CRM_SYNC_ACCOUNT_SALES_ORG_ACCESS_TOKEN: token });
    expect(run.code).toBe(ExitCode.ok);
  });

  it('says how to sign in when the account has no credentials', async () => {
    writeFiles(dir, { 'empty.yaml': `accounts:\n  sales-org:\n    connector: salesforce\n    instanceUrl: ${emulator.url}\n` });
    const run = await cli(dir, ['describe', 'Contact', '--account', 'sales-org', '--accounts', 'empty.yaml']);
    expect(run.code).toBe(ExitCode.invalidInput);
    expect(run.stderr).toContain('[crm-sync] [salesforce] account "sales-org"');
    expect(run.stderr).toContain('no way to sign in: give instanceUrl + accessToken, or username + password (+ securityToken)');
  });
});

describe('a connector package that is not installed', () => {
  it('is reported as not available, with what to do', async () => {
    const opened = await openVendor(
      { account: { name: 'x', settings: { connector: 'acme' }, directory: '.', origin: 'test' }, logger: createLogger({ write: () => {} }, 'pretty') },
      '@crm-sync/connector-acme-not-installed',
      'acme',
      'AcmeConnector',
      {},
    );
    expect(opened.isErr()).toBe(true);
    expect(opened._unsafeUnwrapErr()).toEqual({
      exitCode: ExitCode.invalidInput,
      message:
        '[crm-sync] [acme] the acme connector is not available: package @crm-sync/connector-acme-not-installed is not installed or not built yet. Install it (pnpm add @crm-sync/connector-acme-not-installed) or, in this repository, run pnpm build; the mock connector works meanwhile (connector: mock)',
    });
  });
});
