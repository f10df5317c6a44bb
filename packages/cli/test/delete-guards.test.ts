import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { cli, IMPORT_HEAD, MOCK_ACCOUNTS, tempDir, writeFiles } from './helpers.js';

/** Live contacts of the mock CRM the runs saved next to the database. */
function liveContacts(dir: string): number {
  const file = join(dir, 'crm.sqlite.mock-crm.json');
  if (!existsSync(file)) return 0;
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { objects: Record<string, { deletedAt?: string }[]> };
  return (saved.objects.contact ?? []).filter((record) => record.deletedAt === undefined).length;
}

const DELETE_HEAD = 'activity: deleteLinked\nconnector: mock\naccount: demo\noperation: delete\nobject: contact\nlocal: { table: contacts }\n';

describe('crm-sync run: deletes need intent and have a limit', () => {
  let dir: string;
  const run = (job: string, ...flags: string[]) => cli(dir, ['run', job, '--db', 'crm.sqlite', ...flags]);

  beforeEach(() => {
    dir = tempDir();
    writeFiles(dir, { 'crm-sync.accounts.yaml': MOCK_ACCOUNTS });
  });

  it('an import job switched to operation delete is refused (exit 2) before anything is opened, naming the line and the fix', async () => {
    writeFiles(dir, { 'copied.yaml': `${IMPORT_HEAD}operation: delete\n` });
    const result = await run('copied.yaml');
    expect(result.code).toBe(ExitCode.invalidInput);
    expect(result.stderr).toMatch(/copied\.yaml: local: this deletes the CRM record of every linked row of table contacts; if that is intended, add confirm: all-linked-rows .*\(line 5\)/);
    expect(existsSync(join(dir, 'crm.sqlite'))).toBe(false);
    expect(existsSync(join(dir, 'crm.sqlite.mock-crm.json'))).toBe(false);
  });

  it('over maxDeletes (a count or a percentage) exit 2 and nothing is deleted; the dry run shows the count and first ids; within the limit all are deleted; import-deleted has the same limit', async () => {
    writeFiles(dir, { 'import.yaml': `${IMPORT_HEAD}operation: import\nfields: [ { remote: email } ]\n` });
    expect((await run('import.yaml')).code).toBe(ExitCode.ok);
    expect(liveContacts(dir)).toBe(300);

    writeFiles(dir, { 'count.yaml': `${DELETE_HEAD}confirm: all-linked-rows\nmaxDeletes: 100\n` });
    const count = await run('count.yaml');
    expect(count.code).toBe(ExitCode.invalidInput);
    expect(count.stderr).toMatch(/maxDeletes: 300 records of contact to delete \(linked rows of table contacts\), more than maxDeletes 100; nothing was deleted\. If that many is intended, raise the limit in the job: maxDeletes: 300 .*\(line 8\)/);
    expect(liveContacts(dir)).toBe(300);

    writeFiles(dir, { 'percent.yaml': `${DELETE_HEAD}confirm: all-linked-rows\nmaxDeletes: "10%"\n` });
    const percent = await run('percent.yaml', '--json');
    expect(percent.code).toBe(ExitCode.invalidInput);
    expect(JSON.parse(percent.stdout).error.message).toMatch(/300 records .* more than maxDeletes "10%" of the 300 records of contact \(30\)/);
    expect(liveContacts(dir)).toBe(300);

    const plan = await run('count.yaml', '--dry-run');
    expect(plan.code).toBe(ExitCode.ok);
    expect(plan.stdout).toContain('records: 300');
    expect(plan.stdout).toMatch(/300 ids to delete, more than maxDeletes 100: a real run would be refused/);
    expect(plan.stdout).toMatch(/first ids: CON-000001, CON-000002, .*\(300 in all\)/);

    writeFiles(dir, { 'all.yaml': `${DELETE_HEAD}confirm: all-linked-rows\nmaxDeletes: 300\n` });
    const all = await run('all.yaml', '--json');
    expect(all.code).toBe(ExitCode.ok);
    expect(JSON.parse(all.stdout).summary).toMatchObject({ operation: 'delete', deleted: 300 });
    expect(liveContacts(dir)).toBe(0);

    // Importing those 300 deletions is held to the same limit: over it, no local row is marked.
    const deletedHead = 'activity: importDeleted\nconnector: mock\naccount: demo\noperation: import-deleted\nobject: contact\nlocal: { table: contacts }\nwindow: { start: { expr: "daysAgo(1)" } }\n';
    writeFiles(dir, { 'deleted.yaml': `${deletedHead}maxDeletes: 100\n` });
    const refused = await run('deleted.yaml');
    expect(refused.code).toBe(ExitCode.invalidInput);
    const localRows = async (): Promise<number> => {
      const store = openSqliteStore(join(dir, 'crm.sqlite'))._unsafeUnwrap();
      const count = await store.records.countLocal('contacts');
      store.close();
      return count;
    };
    expect(await localRows()).toBe(300);
    expect(refused.stderr).toMatch(/maxDeletes: 300 deleted records of contact to mark deleted in table contacts, more than maxDeletes 100; no local row was marked.*\(line 8\)/);
    writeFiles(dir, { 'deleted.yaml': `${deletedHead}maxDeletes: 300\n` });
    const marked = await run('deleted.yaml', '--json');
    expect(marked.code).toBe(ExitCode.ok);
    expect(JSON.parse(marked.stdout).summary).toMatchObject({ operation: 'import-deleted', deleted: 300 });
    expect(await localRows()).toBe(0);
  });

  it('refuses maxDeletes and confirm where they do not apply, and malformed limits (exit 2)', async () => {
    const cases: [string, RegExp][] = [
      [`${IMPORT_HEAD}operation: import\nfields: [ { remote: email } ]\nmaxDeletes: 10\n`, /maxDeletes: only applies to operations delete and import-deleted, not import; remove it, got 10 \(line 8\)/],
      ['activity: d\nconnector: mock\naccount: demo\noperation: delete\nobject: contact\nids: [ CON-000001 ]\nconfirm: all-linked-rows\n', /confirm: only confirms deleting every linked row .*\(line 7\)/],
      [`${DELETE_HEAD}confirm: yes\n`, /confirm: expected one of all-linked-rows, got "yes" \(line 7\)/],
      [`${DELETE_HEAD}confirm: all-linked-rows\nmaxDeletes: "150%"\n`, /maxDeletes: expected a whole number >= 1 \(e.g. 500\) or a percentage of the object above 0% and at most 100% \(e.g. "10%"\), got "150%" \(line 8\)/],
      [`${DELETE_HEAD}confirm: all-linked-rows\nmaxDeletes: 0\n`, /maxDeletes: must be at least 1, got 0 \(line 8\)/],
      [`${DELETE_HEAD}confirm: all-linked-rows\nmaxDeletes: lots\n`, /maxDeletes: .*got "lots" \(line 8\)/],
    ];
    for (const [text, message] of cases) {
      writeFiles(dir, { 'bad.yaml': text });
      const result = await run('bad.yaml');
      expect(result.code, text).toBe(ExitCode.invalidInput);
      expect(result.stderr, text).toMatch(message);
    }
  });
});
