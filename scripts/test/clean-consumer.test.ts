import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './link-workspace.js';

interface ConsumerReport {
  readonly ok: boolean;
  readonly read: number;
  readonly written: number;
  readonly rows: number;
  readonly exportsPerEntryPoint: Readonly<Record<string, number>>;
  /** Whether the installed dashboard served its page, script, uPlot and an API route. */
  readonly uiServes: boolean;
}

/** The publishable packages: every packages/* that is not private. */
function publicPackages(): { dir: string; name: string; version: string }[] {
  return readdirSync(join(repoRoot, 'packages'))
    .map((dir) => ({ dir: join(repoRoot, 'packages', dir), pkg: JSON.parse(readFileSync(join(repoRoot, 'packages', dir, 'package.json'), 'utf8')) as { name: string; version: string; private?: boolean } }))
    .filter(({ pkg }) => !pkg.private)
    .map(({ dir, pkg }) => ({ dir, name: pkg.name, version: pkg.version }));
}

// `pnpm -r pack` tarballs installed into a project outside the workspace, from the local pnpm
// store where it can (`--prefer-offline`): what a user gets from the registry. Not `--offline`:
// that also needs the registry metadata cache (~/.cache/pnpm), which a fresh
// `pnpm install --frozen-lockfile` never writes, so on a fresh machine it failed with
// ERR_PNPM_NO_OFFLINE_META. `.ci/run` runs this file with an empty cache directory to prove it.
describe('packed tarballs in a clean project', () => {
  let workDir: string;
  let consumer: string;
  const packages = publicPackages();

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'crm-sync-consumer-'));
    const tarballs = join(workDir, 'tarballs');
    // The tarballs ship dist/: build it (incremental, so quick when `pnpm build` already ran).
    execFileSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], { cwd: repoRoot, stdio: 'pipe' });
    for (const { dir } of packages) execFileSync('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir, stdio: 'pipe' });
    const files = Object.fromEntries(
      packages.map(({ name, version }) => [name, `file:${join(tarballs, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`)}`]),
    );
    consumer = join(workDir, 'consumer');
    execFileSync('mkdir', ['-p', consumer]);
    // Overrides point the packages' dependencies on each other at the tarballs too.
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'clean-consumer', private: true, type: 'module', dependencies: files, pnpm: { overrides: files } }, null, 2));
    writeFileSync(join(consumer, 'pnpm-workspace.yaml'), 'allowBuilds:\n  better-sqlite3: true\n');
    execFileSync('pnpm', ['install', '--prefer-offline', '--config.confirmModulesPurge=false'], { cwd: consumer, stdio: 'pipe' });
    copyFileSync(join(repoRoot, 'scripts', 'test', 'fixtures', 'consumer-sync.mjs'), join(consumer, 'consumer-sync.mjs'));
  });

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  it('installs every public package and imports every entry point, emulator subpaths included', () => {
    const report = JSON.parse(execFileSync(process.execPath, ['consumer-sync.mjs'], { cwd: consumer, encoding: 'utf8' }).trim()) as ConsumerReport;
    for (const { name } of packages) expect(report.exportsPerEntryPoint[name], name).toBeGreaterThan(0);
    expect(report.exportsPerEntryPoint['@crm-sync/connector-salesforce/emulator']).toBeGreaterThan(0);
    expect(report.exportsPerEntryPoint['@crm-sync/connector-dynamics/emulator']).toBeGreaterThan(0);
    expect(report.uiServes, 'the dashboard serves its page, script and uPlot from the installed package').toBe(true);
  });

  it('runs an incremental import from the mock CRM into the in-memory sink', () => {
    const report = JSON.parse(execFileSync(process.execPath, ['consumer-sync.mjs'], { cwd: consumer, encoding: 'utf8' }).trim()) as ConsumerReport;
    // 25 contacts seeded with scores 0..24; the filter score >= 5 keeps 20.
    expect(report).toMatchObject({ ok: true, read: 20, written: 20, rows: 20 });
  });

  it('installs the crm-sync command, which answers --help', () => {
    const help = execFileSync(join(consumer, 'node_modules', '.bin', 'crm-sync'), ['--help'], { cwd: consumer, encoding: 'utf8' });
    expect(help).toMatch(/crm-sync/);
    expect(help).toMatch(/run/);
  });
});
