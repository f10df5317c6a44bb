import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { cli, tempDir } from './helpers.js';

const EXAMPLES = resolve(import.meta.dirname, '../../../examples');

interface SavedContact {
  readonly id: string;
  readonly values: Record<string, unknown>;
}

/**
 * Issue 12 §1, end to end with the shipped examples: an export never writes a value the
 * application did not supply. The import maps fewer fields than the export (no phone); exporting
 * a changed row keeps the CRM's phone. A local name the table does not have is refused (exit 2).
 */
describe('export: absent local values are never sent as null', () => {
  let dir: string;
  const db = 'db/crm.sqlite';
  const run = (name: string, ...flags: string[]) => cli(dir, ['run', `examples/${name}.yaml`, '--accounts', 'examples/accounts.yaml', '--db', db, ...flags]);
  const crmFile = () => join(dir, `${db}.mock-crm.json`);
  const contacts = (): SavedContact[] => (JSON.parse(readFileSync(crmFile(), 'utf8')) as { objects: { contact: SavedContact[] } }).objects.contact;
  const example = (name: string) => readFileSync(join(dir, 'examples', `${name}.yaml`), 'utf8');

  beforeEach(async () => {
    dir = tempDir();
    cpSync(EXAMPLES, join(dir, 'examples'), { recursive: true, filter: (source) => !source.endsWith('.md') && !source.includes('connector-template') });
    // The import maps fewer fields than the export: no phone.
    const importJob = example('import-contacts');
    expect(importJob).toContain('  - { remote: phone, local: phone }\n');
    writeFileSync(join(dir, 'examples', 'import-no-phone.yaml'), importJob.replace('  - { remote: phone, local: phone }\n', ''));
    expect((await run('import-no-phone')).code).toBe(ExitCode.ok);
  });

  /** An imported row whose CRM record has a phone: the row itself has no phone column. */
  async function importedContactWithPhone(): Promise<SavedContact> {
    const store = openSqliteStore(join(dir, db))._unsafeUnwrap();
    try {
      for (const contact of contacts()) {
        if (typeof contact.values.phone !== 'string') continue;
        const row = await store.records.getLocal('contacts', contact.id);
        if (row !== undefined) {
          expect(row.values).not.toHaveProperty('phone');
          return contact;
        }
      }
    } finally {
      store.close();
    }
    throw new Error('no imported contact with a phone in the sample CRM');
  }

  it('updates a changed row without touching the phone it never had, and still exports a phone the application did set', async () => {
    const target = await importedContactWithPhone();
    const store = openSqliteStore(join(dir, db))._unsafeUnwrap();
    await store.records.upsertLocal('contacts', target.id, { first_name: 'Changed' });
    await store.records.upsertLocal('contacts', 'app-1', { first_name: 'Sanne', last_name: 'Hoekstra', email: 'sanne@example.com', phone: '+31 20 555 0101' });
    store.close();

    const exported = await run('export-contacts', '--json');
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(ExitCode.ok);
    expect(JSON.parse(exported.stdout).summary).toMatchObject({ operation: 'export', created: 1, updated: 1, rejected: 0 });
    const after = contacts();
    const updated = after.find((contact) => contact.id === target.id)!;
    expect(updated.values.firstName).toBe('Changed');
    expect(updated.values.phone).toBe(target.values.phone);
    expect(updated.values.lastName).toBe(target.values.lastName);
    expect(after.find((contact) => contact.values.externalKey === 'app-1')?.values.phone).toBe('+31 20 555 0101');
  });

  it('refuses a misspelt local name before calling the CRM: exit 2, the line, and did you mean', async () => {
    const target = await importedContactWithPhone();
    const store = openSqliteStore(join(dir, db))._unsafeUnwrap();
    await store.records.upsertLocal('contacts', target.id, { first_name: 'Changed' });
    store.close();
    const before = readFileSync(crmFile(), 'utf8');
    writeFileSync(join(dir, 'examples', 'export-typo.yaml'), example('export-contacts').replace('{ local: first_name, remote: firstName }', '{ local: first_nmae, remote: firstName }'));

    const exported = await run('export-typo');
    expect(exported.code).toBe(ExitCode.invalidInput);
    expect(exported.stderr.trim().split('\n')).toEqual([
      '[crm-sync] examples/export-typo.yaml: fields[0].local: "first_nmae" is not a column of local table "contacts" (did you mean "first_name"?); no row of the table has it, so nothing would be exported for firstName: fix the local name, or remove the mapping until the table has that column (line 12)',
      '[crm-sync] examples/export-typo.yaml: fields[3].local: "phone" is not a column of local table "contacts"; its columns are birth_date, email, first_name, last_activity_at, last_name, status; no row of the table has it, so nothing would be exported for phone: fix the local name, or remove the mapping until the table has that column (line 15)',
    ]);
    expect(readFileSync(crmFile(), 'utf8')).toBe(before);
    const check = openSqliteStore(join(dir, db))._unsafeUnwrap();
    expect(await check.journal.listRuns()).toHaveLength(0);
    check.close();
  });

  it('with --json, the refusal is a JSON answer with exit code 2', async () => {
    const exported = await run('export-contacts', '--json');
    expect(exported.code).toBe(ExitCode.invalidInput);
    const answer = JSON.parse(exported.stdout);
    expect(answer).toMatchObject({ ok: false, exitCode: ExitCode.invalidInput });
    expect(answer.error.message).toContain('fields[3].local: "phone" is not a column of local table "contacts"');
  });
});
