import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './link-workspace.js';

interface PackageJson {
  readonly name: string;
  readonly private?: boolean;
  readonly license?: string;
  readonly repository?: { readonly url?: string; readonly directory?: string };
  readonly sideEffects?: unknown;
  readonly files?: readonly string[];
  readonly exports?: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
  readonly publishConfig?: { readonly access?: string };
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
}

const publicPackages = readdirSync(join(repoRoot, 'packages'))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(repoRoot, 'packages', dir, 'package.json'), 'utf8')) as PackageJson }))
  .filter(({ pkg }) => !pkg.private);

/** Packages that plug into an application's SDK rather than bringing their own copy. */
const PLUGS_INTO_THE_SDK = /^@crm-sync\/(connector-.*|store-.*|testkit)$/;

describe('release hygiene', () => {
  it.each(publicPackages)('$pkg.name has the metadata a publish needs', ({ dir, pkg }) => {
    expect(pkg.license).toBeTruthy();
    expect(pkg.repository?.url).toBeTruthy();
    expect(pkg.repository?.directory).toBe(`packages/${dir}`);
    expect(pkg.sideEffects).toBeDefined();
    expect(pkg.files).toContain('dist');
    expect(pkg.publishConfig?.access).toBe('public');
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      if (subpath === './package.json') continue;
      expect(target, `exports['${subpath}']`).toMatchObject({ types: expect.stringMatching(/^\.\/dist\/.*\.d\.ts$/), import: expect.stringMatching(/^\.\/dist\/.*\.js$/) });
    }
  });

  it.each(publicPackages.filter(({ pkg }) => PLUGS_INTO_THE_SDK.test(pkg.name)))('$pkg.name peer-depends on the SDK instead of bundling its own', ({ pkg }) => {
    expect(pkg.peerDependencies?.['@crm-sync/sdk']).toBeTruthy();
    expect(pkg.dependencies?.['@crm-sync/sdk']).toBeUndefined();
  });

  it.each(publicPackages)('$pkg.name has a README with an install command and an example', ({ dir }) => {
    const readme = join(repoRoot, 'packages', dir, 'README.md');
    expect(existsSync(readme)).toBe(true);
    const text = readFileSync(readme, 'utf8');
    expect(text).toMatch(/(npm|pnpm) (install|add|i) |npx |crm-sync /);
    expect(text).toMatch(/```(ts|sh)/);
  });

  it.each(publicPackages)('$pkg.name has a committed API report covering each of its entry points', ({ pkg }) => {
    const file = join(repoRoot, 'api-reports', `${pkg.name.replace('@crm-sync/', '')}.api.json`);
    expect(existsSync(file), `${file} (run pnpm api:update)`).toBe(true);
    const report = JSON.parse(readFileSync(file, 'utf8')) as { entryPoints: Record<string, unknown[]> };
    const entryPoints = Object.keys(pkg.exports ?? { '.': '' }).filter((subpath) => subpath !== './package.json');
    expect(Object.keys(report.entryPoints).sort()).toEqual(entryPoints.sort());
  });

  it('CI checks the API before the tests, and the test summary stays the last line', () => {
    const commands = readFileSync(join(repoRoot, '.ci', 'run'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('pnpm '));
    const apiCheck = commands.findIndex((line) => line.startsWith('pnpm api:check'));
    expect(apiCheck).toBeGreaterThanOrEqual(0);
    expect(commands.at(-1)).toBe('pnpm test:ci');
    expect(apiCheck).toBeLessThan(commands.length - 1);
  });
});
