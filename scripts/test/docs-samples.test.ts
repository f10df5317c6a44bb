import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadJobFile } from '../../packages/cli/src/index.js';
import { InMemoryCrm } from '../../packages/connector-mock/src/index.js';
import { repoRoot } from './link-workspace.js';

/** The guides whose TypeScript samples must compile against the packages' current API. */
const GUIDES = [
  'getting-started',
  'operations',
  'incremental-sync',
  'conversions-and-time-zones',
  'rejects-and-errors',
  'export-journal',
  'accounts',
  'writing-a-connector',
  'testkit',
  'writing-a-store',
  'error-taxonomy',
  'exporting-application-rows',
];

/** Entry points a sample may import, mapped to their TypeScript sources. */
const ENTRY_POINTS: Readonly<Record<string, string>> = {
  '@crm-sync/sdk': 'packages/sdk/src/index.ts',
  '@crm-sync/connector-mock': 'packages/connector-mock/src/index.ts',
  '@crm-sync/testkit': 'packages/testkit/src/index.ts',
  '@crm-sync/store-sqlite': 'packages/store-sqlite/src/index.ts',
  '@crm-sync/connector-salesforce': 'packages/connector-salesforce/src/index.ts',
  '@crm-sync/connector-salesforce/emulator': 'packages/connector-salesforce/src/emulator/index.ts',
  '@crm-sync/connector-dynamics': 'packages/connector-dynamics/src/index.ts',
  '@crm-sync/connector-dynamics/emulator': 'packages/connector-dynamics/src/emulator/index.ts',
};

/** The ```ts blocks of a guide that stand alone (no relative imports into a package's own files). */
function samplesOf(guide: string): string[] {
  const text = readFileSync(join(repoRoot, 'docs', 'guides', `${guide}.md`), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '').filter((code) => !/from '\.\.?\//.test(code));
}

describe('code samples in the guides', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'crm-sync-doc-samples-'));
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it('exist: every guide listed has at least one TypeScript sample', () => {
    const empty = GUIDES.filter((guide) => samplesOf(guide).length === 0);
    expect(empty).toEqual([]);
  });

  it('job files in the guides are valid for the crm-sync command', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const guide of GUIDES) {
      const text = readFileSync(join(repoRoot, 'docs', 'guides', `${guide}.md`), 'utf8');
      [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].forEach((match, i) => {
        const file = join(workDir, `${guide}-${i + 1}.yaml`);
        writeFileSync(file, match[1] ?? '');
        const loaded = loadJobFile(file);
        checked += 1;
        if (loaded.isErr()) problems.push(`${guide} job ${i + 1}: ${loaded.error.message}`);
      });
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(4);
  });

  it('type-check against the packages as they are now', () => {
    const files: string[] = [];
    for (const guide of GUIDES) {
      samplesOf(guide).forEach((code, i) => {
        const file = `${guide}-${i + 1}.ts`;
        // `export {}` makes each sample a module, so top-level await and names stay per sample.
        writeFileSync(join(workDir, file), `${code}\nexport {};\n`);
        files.push(file);
      });
    }
    writeFileSync(join(workDir, 'package.json'), JSON.stringify({ type: 'module' }));
    const base = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.base.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
    writeFileSync(
      join(workDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          ...base.compilerOptions,
          composite: false,
          incremental: false,
          declaration: false,
          declarationMap: false,
          noEmit: true,
          typeRoots: [join(repoRoot, 'node_modules', '@types')],
          customConditions: ['@crm-sync/source'],
          paths: Object.fromEntries(Object.entries(ENTRY_POINTS).map(([name, path]) => [name, [join(repoRoot, path)]])),
        },
        files,
      }),
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = spawnSync(process.execPath, [tsc, '-p', join(workDir, 'tsconfig.json')], { encoding: 'utf8' });
    // Errors name the guide and the sample's number (`operations-2.ts`).
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

describe('numbers the guides state', () => {
  it("the deleted-records retention of the mock and of Acme is the connectors' own", () => {
    const text = readFileSync(join(repoRoot, 'docs', 'guides', 'operations.md'), 'utf8').replace(/\s+/g, ' ');
    const start = text.indexOf("The CRM's retention bounds the window");
    expect(start).toBeGreaterThan(-1);
    const sentence = text.slice(start, text.indexOf('A window outside it', start));
    expect(Number(/\bmock\b[^;]*?(\d+) days/.exec(sentence)?.[1])).toBe(new InMemoryCrm().deletedRetentionDays);
    // The template's limits, read from its source (outside this test project's TypeScript root).
    const acme = readFileSync(join(repoRoot, 'examples', 'connector-template', 'src', 'connector.ts'), 'utf8');
    expect(Number(/\bAcme: (\d+) days/.exec(sentence)?.[1])).toBe(Number(/deletedRetentionDays: (\d+)/.exec(acme)?.[1]));
  });
});
