// The release plan changesets computes for an SDK release, on a copy of the workspace manifests:
// a minor SDK release must not force majors on the packages that peer-depend on it (connectors,
// testkit, store), while a major one must. This checks `.changeset/config.json`'s
// `onlyUpdatePeerDependentsWhenOutOfRange` together with the peer ranges it depends on.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// get-release-plan is what `changeset version` and `changeset status` use; it is a dependency of
// the pinned @changesets/cli, so it is resolved from there (no extra root dependency). It runs in
// plain Node because vitest's module runner would load its ESM build, which Node cannot resolve.
const RELEASE_PLAN_SCRIPT = `
const { createRequire } = require('node:module');
const fromCli = createRequire(require.resolve('@changesets/cli/package.json', { paths: [process.argv[1]] }));
fromCli('@changesets/get-release-plan').default(process.argv[2]).then((plan) => process.stdout.write(JSON.stringify(plan)));
`;

function getReleasePlan(cwd: string): ReleasePlan {
  return JSON.parse(execFileSync(process.execPath, ['-e', RELEASE_PLAN_SCRIPT, root, cwd], { encoding: 'utf8' })) as ReleasePlan;
}

interface ReleasePlan {
  readonly releases: readonly { readonly name: string; readonly type: string; readonly oldVersion: string; readonly newVersion: string }[];
}

interface Manifest {
  readonly name: string;
  readonly private?: boolean;
  readonly peerDependencies?: Record<string, string>;
}

/** Every workspace package folder (the globs of pnpm-workspace.yaml: packages/*, examples/*, bench). */
function workspacePackageDirs(): string[] {
  const dirs: string[] = [];
  for (const parent of ['packages', 'examples']) {
    for (const entry of readdirSync(join(root, parent))) dirs.push(join(parent, entry));
  }
  dirs.push('bench');
  return dirs.filter((dir) => existsSync(join(root, dir, 'package.json')));
}

let scratch: string | undefined;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/** Copies the manifests and the changesets config into a scratch folder with one SDK changeset. */
function planForSdkRelease(type: 'minor' | 'major'): Map<string, string> {
  scratch = mkdtempSync(join(tmpdir(), 'crm-sync-changesets-'));
  for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset/config.json']) {
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    cpSync(join(root, file), join(scratch, file));
  }
  for (const dir of workspacePackageDirs()) {
    mkdirSync(join(scratch, dir), { recursive: true });
    cpSync(join(root, dir, 'package.json'), join(scratch, dir, 'package.json'));
  }
  writeFileSync(join(scratch, '.changeset/sdk-release.md'), `---\n"@crm-sync/sdk": ${type}\n---\n\nAn SDK ${type} release.\n`);
  const plan = getReleasePlan(scratch);
  return new Map(plan.releases.map((release) => [release.name, release.type]));
}

/** Public packages that declare the SDK as a peer dependency (connectors, testkit, stores). */
function publicPeerDependentsOfSdk(): string[] {
  return workspacePackageDirs()
    .map((dir) => JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Manifest)
    .filter((manifest) => !manifest.private && manifest.peerDependencies?.['@crm-sync/sdk'] !== undefined)
    .map((manifest) => manifest.name);
}

describe('changesets release plan for an SDK release', () => {
  it('finds the public packages that peer-depend on the SDK', () => {
    expect(publicPeerDependentsOfSdk()).toEqual(expect.arrayContaining(['@crm-sync/connector-mock', '@crm-sync/testkit']));
  });

  it('an SDK minor release bumps no peer-dependent package to a new major', () => {
    const plan = planForSdkRelease('minor');
    expect(plan.get('@crm-sync/sdk')).toBe('minor');
    const majors = publicPeerDependentsOfSdk().filter((name) => plan.get(name) === 'major');
    expect(majors, 'peer dependents that an SDK minor would push to a new major').toEqual([]);
  });

  it('an SDK major release still bumps every peer-dependent package to a new major', () => {
    const plan = planForSdkRelease('major');
    const notMajor = publicPeerDependentsOfSdk().filter((name) => plan.get(name) !== 'major');
    expect(notMajor, 'peer dependents an SDK major would leave on the old major').toEqual([]);
  });
});
