import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector, parseArguments, VENDOR_FACT_TOPICS } from '../create-connector.mjs';
import { childEnvironment, linkModules, repoRoot, writeLinkedVitestConfig } from './link-workspace.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === 'node_modules') return [];
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('pnpm create-connector', () => {
  let workDir: string;
  let target: string;

  beforeAll(() => {
    // os.tmpdir() is outside the workspace, so the scaffold gets standalone configs.
    workDir = mkdtempSync(join(tmpdir(), 'crm-sync-scaffold-'));
    target = join(workDir, 'crm-sync-connector-zoho-crm');
    createConnector({ name: 'zoho-crm', dir: target });
    linkModules(target, {
      '@crm-sync/sdk': join(repoRoot, 'packages', 'sdk'),
      '@crm-sync/testkit': join(repoRoot, 'packages', 'testkit'),
      neverthrow: join(repoRoot, 'packages', 'sdk', 'node_modules', 'neverthrow'),
      vitest: join(repoRoot, 'node_modules', 'vitest'),
      '@types/node': join(repoRoot, 'node_modules', '@types', 'node'),
    });
  });

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  it('renames every spelling of the template: no file name or content mentions Acme', () => {
    const files = filesUnder(target);
    expect(files.map((file) => relative(target, file)).sort()).toContain(join('test', 'support', 'zoho-crm-fake.ts'));
    const mentions = files.filter((file) => /acme/i.test(relative(target, file)) || /acme/i.test(readFileSync(file, 'utf8')));
    expect(mentions).toEqual([]);
    const index = readFileSync(join(target, 'src', 'index.ts'), 'utf8');
    expect(index).toContain('ZohoCrmConnector');
    expect(index).toContain('zohoCrmConnector');
    expect(JSON.parse(readFileSync(join(target, 'package.json'), 'utf8'))).toMatchObject({
      name: 'crm-sync-connector-zoho-crm',
      description: 'A crm-sync connector for ZohoCrm CRM.',
      peerDependencies: { '@crm-sync/sdk': expect.stringMatching(/^\^\d+\.\d+\.\d+$/) },
    });
  });

  it("marks every vendor fact of the template's CRM as a TODO instead of stating it as the new CRM's", () => {
    const source = filesUnder(join(target, 'src')).map((file) => readFileSync(file, 'utf8')).join('\n');
    for (const topic of ['retention', 'id pattern', 'error codes', 'auth', 'rate-limit header', 'endpoints']) {
      expect(source, topic).toContain(`// TODO(${topic}): the template's fictional CRM's ${topic}; replace with what ZohoCrm CRM documents.`);
    }
    // Each TODO sits right above the line it is about, and no marker is left behind.
    expect(source).not.toContain('vendor-fact:');
    expect(source).toMatch(/\/\/ TODO\(id pattern\)[^\n]*\n\s*idPattern: /);
    expect(source).toMatch(/\/\/ TODO\(rate-limit header\)[^\n]*\n[^\n]*RATE_LIMIT_RESET_HEADER = 'x-ratelimit-reset'/);
    // Every marker in the template names a known topic.
    const template = filesUnder(join(repoRoot, 'examples', 'connector-template', 'src')).map((file) => readFileSync(file, 'utf8')).join('\n');
    const topics = [...template.matchAll(/\/\/ vendor-fact: (.+)$/gm)].map((match) => match[1]);
    expect(topics.length).toBeGreaterThanOrEqual(10);
    for (const topic of topics) expect(VENDOR_FACT_TOPICS).toContain(topic);
  });

  it('leaves out Acme-only tests, writes a .gitignore and a README without broken links', () => {
    expect(existsSync(join(target, 'test', 'filter.test.ts'))).toBe(false);
    expect(readFileSync(join(target, '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['node_modules/', 'dist/']));
    const readme = readFileSync(join(target, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((match) => match[1] ?? '');
    // No links at all: the guides live in the crm-sync repository, and the packages are on no registry yet.
    expect(links).toEqual([]);
    expect(readme).toContain('grep -rn "TODO(" src test');
    expect(readme).toContain(`crm-sync checkout at \`${repoRoot}\``);
  });

  it('depends on the crm-sync checkout by file: (no registry), or on registry versions with --registry', () => {
    const pkg = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies['@crm-sync/sdk']).toBe(`file:${join(repoRoot, 'packages', 'sdk')}`);
    expect(pkg.devDependencies['@crm-sync/cli']).toBe(`file:${join(repoRoot, 'packages', 'cli')}`);
    const published = join(workDir, 'published');
    createConnector({ name: 'zoho-crm', dir: published, registry: true });
    const registryPkg = JSON.parse(readFileSync(join(published, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; private?: boolean };
    expect(registryPkg.devDependencies['@crm-sync/sdk']).toMatch(/^\^\d+\.\d+\.\d+$/);
    expect(registryPkg.private).toBeUndefined();
    expect(() => createConnector({ name: 'zoho-crm', dir: join(workDir, 'nowhere'), link: workDir })).toThrow(/--link .*: not a crm-sync checkout \(no packages\/sdk\/package.json\)/);
    expect(() => createConnector({ name: 'zoho-crm', dir: join(repoRoot, 'examples', 'connector-never-written'), link: repoRoot })).toThrow(/--link applies to a connector outside this repository/);
    expect(existsSync(join(repoRoot, 'examples', 'connector-never-written'))).toBe(false);
    expect(parseArguments(['x', '--link'])).toEqual({ error: expect.stringContaining('--link needs the path of a crm-sync checkout') });
    expect(parseArguments(['x', '--link', '..', '--registry'])).toEqual({ error: expect.stringContaining('exclude each other') });
  });

  it('type-checks outside the workspace with standalone configs', () => {
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    // The source condition lets TypeScript read the linked packages' sources instead of a build.
    const run = spawnSync(process.execPath, [tsc, '-p', join(target, 'test', 'tsconfig.json'), '--noEmit', '--customConditions', '@crm-sync/source'], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('runs its own contract tests green against its own fake CRM', () => {
    const config = writeLinkedVitestConfig(target);
    const vitest = join(target, 'node_modules', 'vitest', 'vitest.mjs');
    const output = execFileSync(process.execPath, [vitest, 'run', '--config', config, '--reporter=json'], { cwd: target, env: childEnvironment(), encoding: 'utf8' });
    const report = JSON.parse(output.slice(output.indexOf('{'))) as { numPassedTests: number; numFailedTests: number; numPendingTests: number };
    expect(report.numFailedTests).toBe(0);
    // The whole contract suite (47 checks today) plus the template's unit tests.
    expect(report.numPassedTests).toBeGreaterThanOrEqual(45);
  });

  it('refuses to overwrite a folder that is not empty', () => {
    expect(existsSync(target)).toBe(true);
    expect(() => createConnector({ name: 'zoho-crm', dir: target })).toThrow(/exists and is not empty: pick another --dir, or pass --force/);
  });

  it('inside the workspace, points the shared configs and workspace packages at the repository root from any depth', () => {
    const cache = join(repoRoot, 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    const inside = mkdtempSync(join(cache, 'scaffold-'));
    try {
      const dir = join(inside, 'nested', 'connector-foo');
      const result = createConnector({ name: 'foo', dir }) as { inWorkspace: boolean };
      expect(result.inWorkspace).toBe(true);
      const tsconfig = JSON.parse(readFileSync(join(dir, 'tsconfig.json'), 'utf8')) as { extends: string; references: { path: string }[] };
      expect(resolve(dir, tsconfig.extends)).toBe(join(repoRoot, 'tsconfig.base.json'));
      expect(tsconfig.references.map((ref) => resolve(dir, ref.path))).toEqual([join(repoRoot, 'packages', 'sdk')]);
      const testConfig = JSON.parse(readFileSync(join(dir, 'test', 'tsconfig.json'), 'utf8')) as { extends: string };
      expect(resolve(dir, 'test', testConfig.extends)).toBe(join(repoRoot, 'tsconfig.base.json'));
      expect(readFileSync(join(dir, 'package.json'), 'utf8')).toContain('"@crm-sync/sdk": "workspace:');
    } finally {
      rmSync(inside, { recursive: true, force: true });
    }
  });

  it('refuses an id that is not lower-case kebab case, and says what to use', () => {
    expect(parseArguments(['Zoho_CRM'])).toEqual({ error: expect.stringContaining('use lower-case letters, digits and single dashes') });
    expect(parseArguments([])).toEqual({ error: expect.stringContaining('pnpm create-connector <name>') });
  });
});
