import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { cli, IMPORT_HEAD, MOCK_ACCOUNTS, tempDir, writeFiles } from './helpers.js';

/**
 * Every mistake is reported with the file, the path inside it, what is expected and (where the
 * mistake has a place) the line; the run exits 2 and creates no database.
 */
describe('crm-sync run with an invalid job file', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
    writeFiles(dir, { 'accounts.yaml': MOCK_ACCOUNTS });
  });

  async function runBad(name: string, text: string) {
    writeFiles(dir, { [name]: text });
    const run = await cli(dir, ['run', name, '--accounts', 'accounts.yaml', '--db', 'db/crm.sqlite']);
    expect(run.code).toBe(ExitCode.invalidInput);
    expect(existsSync(join(dir, 'db'))).toBe(false);
    expect(existsSync(join(dir, 'db', 'crm.sqlite.mock-crm.json'))).toBe(false);
    return run.stderr.trim();
  }

  it('names an unknown operation and lists the valid ones', async () => {
    const message = await runBad('bad.yaml', `${IMPORT_HEAD}operation: upsert\nfields:\n  - { remote: email }\n`);
    expect(message).toBe('[crm-sync] bad.yaml: operation: expected one of import, export, import-deleted, delete, got "upsert" (line 6)');
  });

  it('reports a missing object', async () => {
    const message = await runBad('bad.yaml', 'activity: a\nconnector: mock\naccount: demo\noperation: import\nlocal: { table: contacts }\nfields:\n  - { remote: email }\n');
    expect(message).toBe('[crm-sync] bad.yaml: object: is required: name the remote object, e.g. object: Contact (list them with crm-sync describe --account <name>)');
  });

  it('reports a misspelt conversion with its path, the valid names and the value given', async () => {
    const message = await runBad(
      'bad.yaml',
      `${IMPORT_HEAD}operation: import\nfields:\n  - { remote: firstName }\n  - { remote: lastName }\n  - { remote: birthDate, local: birth_date, conversion: dateonly }\n`,
    );
    expect(message).toBe(
      '[crm-sync] bad.yaml: fields[2].conversion: expected one of default, date-only, without-time-offset, copy-paste, got "dateonly" (line 10)',
    );
  });

  it('refuses a filter level that mixes and and or (portable rule 1)', async () => {
    const message = await runBad(
      'bad.yaml',
      `${IMPORT_HEAD}operation: import\nfields:\n  - { remote: email }\nfilter:\n  conditions:\n    - { field: score, op: gt, value: 10 }\n    - and\n    - { field: email, op: isNotEmpty }\n    - or\n    - { field: phone, op: isEmpty }\n`,
    );
    expect(message).toBe(
      '[crm-sync] bad.yaml: filter.conditions: this level mixes "and" and "or" (portable rule 1); nest the and-ed conditions in their own group, e.g. { or: [ { and: [c1, c2] }, c3 ] } (line 11)',
    );
  });

  it('refuses a negated group (portable rule 2)', async () => {
    const message = await runBad(
      'bad.yaml',
      `${IMPORT_HEAD}operation: import\nfields:\n  - { remote: email }\nfilter:\n  and:\n    - { field: score, op: gt, value: 10 }\n    - not: { or: [ { field: email, op: isEmpty } ] }\n`,
    );
    expect(message).toBe(
      '[crm-sync] bad.yaml: filter.and[1].not: negated groups (AND NOT) are not portable (rule 2); invert the conditions instead (e.g. lt for gte, isEmpty for isNotEmpty) (line 12)',
    );
  });

  it('refuses a comparison with text in the portable profile (rule 3)', async () => {
    const message = await runBad('bad.yaml', `${IMPORT_HEAD}operation: import\nfields:\n  - { remote: email }\nfilter:\n  and:\n    - { field: lastName, op: eq, value: Smith }\n`);
    expect(message).toBe(
      '[crm-sync] bad.yaml: filter.and[0].value: a text value ("Smith") is not portable: compare only with numbers, dates or null (rule 3); use a date "YYYY-MM-DD", a number, { expr: "daysAgo(30)" }, or set filterProfile: native (line 11)',
    );
  });

  it('finds an unknown remote field against describe, before any data is read, and suggests the right one', async () => {
    const message = await runBad('bad.yaml', `${IMPORT_HEAD}operation: import\nfields:\n  - { remote: firstName }\n  - { remote: emial }\n`);
    expect(message).toBe(
      '[crm-sync] bad.yaml: fields[1].remote: "emial" is not a field of contact (did you mean "email"?); list the fields with: crm-sync describe contact --connector mock --account demo (line 9)',
    );
  });

  it('reports a date compared with a number field, checked against the field types', async () => {
    const message = await runBad('bad.yaml', `${IMPORT_HEAD}operation: import\nfields:\n  - { remote: email }\nfilter:\n  and:\n    - { field: score, op: gt, value: "2012-11-01" }\n`);
    expect(message).toBe('[crm-sync] bad.yaml: filter.and[0].value: a date value does not fit a number field; compare it with a number (line 11)');
  });

  it('reports an unknown time zone', async () => {
    const message = await runBad('bad.yaml', `${IMPORT_HEAD}operation: import\ntimeZone: Europe/Amsterdamm\nfields:\n  - { remote: email }\n`);
    expect(message).toBe(
      '[crm-sync] bad.yaml: timeZone: expected an IANA time zone such as Europe/Amsterdam, America/New_York or UTC, got "Europe/Amsterdamm" (line 7)',
    );
  });

  it('refuses a secret inside the job file without echoing it', async () => {
    const message = await runBad(
      'bad.yaml',
      'activity: a\nconnector: mock\naccount:\n  name: demo\n  password: hunter2-secret\noperation: import\nobject: contact\nlocal: { table: contacts }\nfields:\n  - { remote: email }\n',
    );
    expect(message).toBe(
      '[crm-sync] bad.yaml: account.password: secrets never go in a job file; put the account in the accounts file (--accounts, default ./crm-sync.accounts.yaml) or in CRM_SYNC_ACCOUNT_<NAME>_<KEY> environment variables, and name it here, e.g. account: sales-org (line 5)',
    );
    expect(message).not.toContain('hunter2-secret');
  });

  it('reports an automatic index start that is not a date, before any query', async () => {
    const message = await runBad('bad.yaml', `${IMPORT_HEAD}operation: import\nautomaticIndex: { initialStart: "01/11/2012" }\nfields:\n  - { remote: email }\n`);
    expect(message).toBe(
      '[crm-sync] bad.yaml: automaticIndex.initialStart: expected a date "YYYY-MM-DD" or an ISO date-time with offset such as "2024-06-01T00:00:00Z", got "01/11/2012" (line 7)',
    );
  });

  it('reports a YAML syntax error with its line and column', async () => {
    const message = await runBad('bad.yaml', 'activity: a\nconnector: mock\naccount: demo\noperation: import\nobject: contact\nfields:\n  - { remote: email\n  - { remote: phone }\n');
    expect(message).toBe('[crm-sync] bad.yaml: line 8, column 3: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }');
  });

  it('reports an expression that does not parse, with its position', async () => {
    const message = await runBad('bad.yaml', `${IMPORT_HEAD}operation: import\nfields:\n  - { remote: email }\nfilter:\n  and:\n    - { field: score, op: gt, value: { expr: "daysAgo(" } }\n`);
    expect(message).toBe(
      '[crm-sync] bad.yaml: filter.and[0].value: expression "daysAgo(": expected a number, a variable or a function but found the end of the expression at position 8 (line 11)',
    );
  });

  it('reports several mistakes at once, one line each', async () => {
    const message = await runBad('bad.yaml', `${IMPORT_HEAD}operation: import\ncolour: blue\nfields:\n  - { remote: email, conversion: raw }\n`);
    expect(message.split('\n')).toEqual([
      '[crm-sync] bad.yaml: fields[0].conversion: expected one of default, date-only, without-time-offset, copy-paste, got "raw" (line 9)',
      '[crm-sync] bad.yaml: colour: unknown key; check the spelling against docs/cli.md (line 7)',
    ]);
  });

  it('answers scripts in JSON on stdout with --json', async () => {
    writeFiles(dir, { 'bad.yaml': `${IMPORT_HEAD}operation: upsert\nfields:\n  - { remote: email }\n` });
    const run = await cli(dir, ['run', 'bad.yaml', '--accounts', 'accounts.yaml', '--db', 'db/crm.sqlite', '--json']);
    expect(run.code).toBe(ExitCode.invalidInput);
    expect(JSON.parse(run.stdout)).toEqual({
      ok: false,
      exitCode: 2,
      error: { message: '[crm-sync] bad.yaml: operation: expected one of import, export, import-deleted, delete, got "upsert" (line 6)' },
    });
  });

  it('says which file is missing', async () => {
    const run = await cli(dir, ['run', 'nope.yaml', '--accounts', 'accounts.yaml', '--db', 'db/crm.sqlite']);
    expect(run.code).toBe(ExitCode.invalidInput);
    expect(run.stderr.trim()).toBe('[crm-sync] nope.yaml: cannot read the job file: file not found');
  });
});
