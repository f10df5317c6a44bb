/**
 * The @crm-sync packages are not on a registry yet (`npm install @crm-sync/sdk` answers E404): no
 * doc, README or scaffolded README may tell a reader to install them from one.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './link-workspace.js';

/** Markdown files under `dir`, without node_modules, build output and changelogs. */
function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (['node_modules', 'dist', '.git', 'api'].includes(entry) || entry.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return entry.endsWith('.md') && entry !== 'CHANGELOG.md' ? [path] : [];
  });
}

/** An install command that fetches an @crm-sync package by name from a registry. */
const REGISTRY_INSTALL = /\b(?:npm (?:install|i|add)|pnpm (?:add|install)|yarn add)\b[^\n`]*?(?<![/.\w-])@crm-sync\/[a-z-]+/;

describe('install lines', () => {
  it('never assume a registry: every @crm-sync install names a folder of a checkout', () => {
    const offenders = [...markdownFiles(join(repoRoot, 'docs')), ...markdownFiles(join(repoRoot, 'packages')), ...markdownFiles(join(repoRoot, 'examples')), join(repoRoot, 'README.md')]
      .flatMap((file) => readFileSync(file, 'utf8').split('\n').map((line, index) => ({ file, line, index })))
      .filter(({ line }) => REGISTRY_INSTALL.test(line))
      .map(({ file, line, index }) => `${relative(repoRoot, file)}:${index + 1}: ${line.trim()}`);
    expect(offenders).toEqual([]);
  });

  it('the pattern catches a registry install and lets a checkout folder through', () => {
    expect(REGISTRY_INSTALL.test('npm install @crm-sync/sdk @crm-sync/connector-salesforce')).toBe(true);
    expect(REGISTRY_INSTALL.test('pnpm add @crm-sync/sdk')).toBe(true);
    expect(REGISTRY_INSTALL.test('npm install -g @crm-sync/cli')).toBe(true);
    expect(REGISTRY_INSTALL.test('npm install ../crm-sync/packages/sdk ../crm-sync/packages/store-sqlite')).toBe(false);
  });
});
