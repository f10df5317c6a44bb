import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../packages/cli/src/index.js';
import { openSqliteStore } from '../../packages/store-sqlite/src/index.js';
import { repoRoot } from './link-workspace.js';

const GUIDE = join(repoRoot, 'docs', 'guides', 'exporting-application-rows.md');

/** The fenced blocks of the guide, in document order, with their language. */
function blocksOf(text: string): { lang: string; code: string }[] {
  return [...text.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((match) => ({ lang: match[1] ?? '', code: match[2] ?? '' }));
}

interface SavedContact {
  readonly id: string;
  readonly values: Readonly<Record<string, unknown>>;
  readonly deletedAt?: string;
}

/** The SQLite driver store-sqlite uses (a dependency of that package, not of the scripts). */
interface RawDatabase {
  exec(sql: string): void;
  close(): void;
}

/**
 * "Exporting application rows" is followed step by step, as a new user would: every ```sh command
 * through the CLI (in-process, in a copy of the examples, against the mock CRM the accounts file
 * describes, which persists in a JSON file), the ```sql block against the SQLite file, the ```ts
 * sample as written (its package import pointed at the source), in the order the guide gives them.
 * Then the CRM must hold what the guide says.
 */
describe('the guide "Exporting application rows", run as written', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'crm-sync-export-guide-'));
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it('imports, changes rows by SQL and by the SDK, exports them, and the CRM has them', async () => {
    cpSync(join(repoRoot, 'examples'), join(workDir, 'examples'), { recursive: true, filter: (source) => !source.includes('connector-template') });
    const dbFile = join(workDir, '.crm-sync', 'crm-sync.sqlite');
    const outputs: string[] = [];
    const blocks = blocksOf(readFileSync(GUIDE, 'utf8'));
    expect(blocks.map((block) => block.lang)).toEqual(['sh', 'sql', 'ts', 'sh']);

    for (const [index, block] of blocks.entries()) {
      if (block.lang === 'sh') {
        for (const line of block.code.split('\n').filter((text) => text.startsWith('crm-sync '))) {
          let stdout = '';
          let stderr = '';
          const io: CliIo = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) }, env: {}, cwd: workDir };
          const code = await runCli(line.replace(/^crm-sync /, '').split(/\s+/), io);
          expect(code, `${line}\n${stderr}`).toBe(0);
          outputs.push(stdout);
        }
      } else if (block.lang === 'sql') {
        const Database = createRequire(join(repoRoot, 'packages', 'store-sqlite', 'package.json'))('better-sqlite3') as new (path: string) => RawDatabase;
        const db = new Database(dbFile);
        try {
          db.exec(block.code);
        } finally {
          db.close();
        }
      } else if (block.lang === 'ts') {
        const sample = join(workDir, `sample-${index}.ts`);
        writeFileSync(sample, block.code.replaceAll("'@crm-sync/store-sqlite'", `'${join(repoRoot, 'packages', 'store-sqlite', 'src', 'index.ts')}'`));
        const saved = process.env.CRM_SYNC_DB;
        process.env.CRM_SYNC_DB = dbFile;
        try {
          await import(pathToFileURL(sample).href);
        } finally {
          if (saved === undefined) delete process.env.CRM_SYNC_DB;
          else process.env.CRM_SYNC_DB = saved;
        }
      }
    }

    // The export's summary says what the guide says it says.
    expect(outputs.at(-1)).toMatch(/read\s+3\n/);
    expect(outputs.at(-1)).toMatch(/created\s+2\n/);
    expect(outputs.at(-1)).toMatch(/updated\s+1\n/);
    const crm = JSON.parse(readFileSync(`${dbFile}.mock-crm.json`, 'utf8')) as { objects: { contact: SavedContact[] } };
    const live = crm.objects.contact.filter((contact) => contact.deletedAt === undefined);
    const byKey = (key: string) => live.filter((contact) => contact.values.externalKey === key);
    expect(byKey('app-1')).toHaveLength(1);
    expect(byKey('app-1')[0]?.values).toMatchObject({ firstName: 'Sanne', lastName: 'Hoekstra', email: 'sanne@example.com', status: 'Active' });
    expect(byKey('app-2')).toHaveLength(1);
    expect(byKey('app-2')[0]?.values).toMatchObject({ firstName: 'Joost', lastName: 'Kuipers', email: 'joost@example.com' });
    expect(live.filter((contact) => contact.values.phone === '+31 20 123 4567')).toHaveLength(1);

    // "The two new rows now have a crm_id."
    const store = openSqliteStore(dbFile)._unsafeUnwrap();
    try {
      expect((await store.records.getLocal('contacts', 'app-1'))?.crmId).toBe(byKey('app-1')[0]?.id);
      expect((await store.records.getLocal('contacts', 'app-2'))?.crmId).toBe(byKey('app-2')[0]?.id);
    } finally {
      store.close();
    }

    // "Running the export again sends nothing."
    const again = outputs.length;
    let stdout = '';
    const io: CliIo = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: () => true }, env: {}, cwd: workDir };
    const exportLine = blocks.at(-1)?.code.split('\n').find((text) => text.startsWith('crm-sync ')) ?? '';
    expect(await runCli(exportLine.replace(/^crm-sync /, '').split(/\s+/), io)).toBe(0);
    expect(again).toBe(outputs.length);
    expect(stdout).toMatch(/read\s+0\n/);
  });
});
