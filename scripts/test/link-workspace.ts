/**
 * Makes a folder outside the workspace resolve `@crm-sync/*` to this repository's packages, and
 * their third-party dependencies from its pnpm store, with no network: symbolic links in the
 * folder's `node_modules`, and a vitest config that reads the packages' TypeScript sources (the
 * `@crm-sync/source` export condition), so no build is needed.
 */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Links `packages` (`@crm-sync/sdk` -> packages/sdk) and `modules` (resolved from `from`) into `dir/node_modules`. */
export function linkModules(dir: string, links: Readonly<Record<string, string>>): void {
  for (const [name, target] of Object.entries(links)) {
    const link = join(dir, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(realpathSync(target), link, 'dir');
  }
}

/** Writes `vitest.link.config.ts` next to the folder's own config, adding the source condition. */
export function writeLinkedVitestConfig(dir: string): string {
  const file = join(dir, 'vitest.link.config.ts');
  writeFileSync(
    file,
    [
      "import { defineConfig, mergeConfig } from 'vitest/config';",
      "import base from './vitest.config.ts';",
      "const conditions = ['@crm-sync/source', 'module', 'node', 'import', 'default'];",
      'export default mergeConfig(base, defineConfig({ resolve: { conditions }, ssr: { resolve: { conditions } } }));',
      '',
    ].join('\n'),
  );
  return file;
}

/** The environment of a child vitest run: without this run's VITEST_* variables, which would make it think it is a worker. */
export function childEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_OPTIONS' && key !== 'TEST'));
}
