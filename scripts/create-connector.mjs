#!/usr/bin/env node
// Scaffolds a new crm-sync connector package from examples/connector-template (Acme CRM).
//
//   pnpm create-connector <name> [--dir <path>] [--force]
//
// <name> is the connector id (`hubspot`, `zoho-crm`): lower-case letters, digits and dashes.
// Inside this workspace (the default, `examples/connector-<name>`) the package uses `workspace:`
// versions and the repository's shared configs; anywhere else it gets standalone configs and
// registry versions of @crm-sync/sdk and @crm-sync/testkit. Every "Acme"/"acme" becomes the new
// name, in file contents and file names.
//
// Written by hand rather than with a generator library: it is one copy-and-rename pass over a
// dozen files, and a generator would add a dependency to every install of this repository.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const PREFIX = '[crm-sync] [create-connector]';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const templateDir = join(root, 'examples', 'connector-template');
/** Template paths never copied: build output and installed dependencies. */
const SKIPPED = new Set(['node_modules', 'dist']);

/** Parses `<name> [--dir <path>] [--force]`; returns an error message instead of throwing. */
export function parseArguments(argv) {
  const positional = [];
  let dir;
  let force = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--dir') {
      dir = argv[i + 1];
      i += 1;
      if (dir === undefined) return { error: '--dir needs a path: pnpm create-connector <name> --dir ../my-connector' };
    } else if (arg === '--force') force = true;
    else if (arg.startsWith('--')) return { error: `unknown option '${arg}': use --dir <path> or --force` };
    else positional.push(arg);
  }
  const [name] = positional;
  if (name === undefined || positional.length > 1) return { error: 'give exactly one connector name: pnpm create-connector <name> [--dir <path>]' };
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name) || name === 'acme') {
    return { error: `'${name}' is not a usable connector id: use lower-case letters, digits and single dashes, starting with a letter (e.g. hubspot, zoho-crm)` };
  }
  return { name, dir, force };
}

/** `zoho-crm` -> `ZohoCrm`. */
function pascal(name) {
  return name
    .split('-')
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

/** `zoho-crm` -> `ZOHO_CRM`. */
function upperSnake(name) {
  return name.replace(/-/g, '_').toUpperCase();
}

/** `zoho-crm` -> `zohoCrm`. */
function camel(name) {
  const p = pascal(name);
  return p[0].toLowerCase() + p.slice(1);
}

/** Replaces every spelling of the template's name with the new connector's. */
function renamer(name) {
  const pairs = [
    ['crm-sync-connector-acme', `crm-sync-connector-${name}`],
    ['connector-acme', `connector-${name}`],
    ['Acme CRM', `${pascal(name)} CRM`],
    ['ACME', upperSnake(name)],
    ['Acme', pascal(name)],
  ];
  // `acmeConnector` is an identifier (camelCase); every other `acme` is the id (kebab-case).
  return (text) => pairs.reduce((out, [from, to]) => out.split(from).join(to), text).replace(/acme(?=[A-Z])/g, camel(name)).replace(/acme/g, name);
}

function listFiles(dir, base = dir) {
  const files = [];
  for (const entry of readdirSync(dir)) {
    if (SKIPPED.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) files.push(...listFiles(path, base));
    else files.push(relative(base, path));
  }
  return files.sort();
}

function isInside(child, parent) {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel);
}

function posix(path) {
  return path.split(sep).join('/');
}

/** The package.json of the new connector. */
function packageJson(template, rename, inWorkspace) {
  const pkg = JSON.parse(rename(template));
  if (!inWorkspace) {
    const version = (name) => `^${JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')).version}`;
    pkg.peerDependencies = { '@crm-sync/sdk': version('sdk') };
    pkg.devDependencies = {
      '@crm-sync/sdk': version('sdk'),
      '@crm-sync/testkit': version('testkit'),
      '@types/node': '^20.19.0',
      typescript: '6.0.3',
      vitest: '4.1.12',
    };
    pkg.scripts = { build: 'tsc -p tsconfig.json', test: 'vitest run' };
    // A connector outside this repository is meant to be published.
    delete pkg.private;
    pkg.publishConfig = { access: 'public' };
  }
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** Standalone compiler options: this repository's base config, inlined. */
function standaloneTsconfig(kind) {
  const base = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;
  const compilerOptions = { ...base };
  delete compilerOptions.composite;
  delete compilerOptions.incremental;
  if (kind === 'src') return { compilerOptions: { ...compilerOptions, rootDir: 'src', outDir: 'dist' }, include: ['src'] };
  return { compilerOptions: { ...compilerOptions, noEmit: true, rootDir: '..' }, include: ['.', '../src'] };
}

/** The contents of one scaffolded file. */
function scaffoldFile(file, text, rename, target, inWorkspace) {
  if (file === 'package.json') return packageJson(text, rename, inWorkspace);
  if (inWorkspace) {
    // Relative paths to the repository's shared configs change with the folder's depth.
    const up = posix(relative(join(target, dirname(file)), root)) || '.';
    const upFromTemplate = posix(relative(join(templateDir, dirname(file)), root)) || '.';
    return rename(text).split(`${upFromTemplate}/`).join(`${up}/`);
  }
  if (file === 'tsconfig.json') return `${JSON.stringify(standaloneTsconfig('src'), null, 2)}\n`;
  if (file === join('test', 'tsconfig.json')) return `${JSON.stringify(standaloneTsconfig('test'), null, 2)}\n`;
  if (file === 'vitest.config.ts') {
    return [
      "import { defineConfig } from 'vitest/config';",
      '',
      '// Contract checks start a fake server per check; loopback HTTP is slower than memory.',
      "export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 } });",
      '',
    ].join('\n');
  }
  return rename(text);
}

/** Scaffolds the connector; returns the target folder and the files written. */
export function createConnector({ name, dir, force = false }) {
  const target = resolve(dir ?? join(root, 'examples', `connector-${name}`));
  if (existsSync(target) && readdirSync(target).length > 0 && !force) {
    throw new Error(`${PREFIX} ${target} exists and is not empty: pick another --dir, or pass --force to overwrite`);
  }
  const inWorkspace = isInside(target, root);
  const rename = renamer(name);
  const written = [];
  for (const file of listFiles(templateDir)) {
    const text = readFileSync(join(templateDir, file), 'utf8');
    const out = join(target, rename(file));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, scaffoldFile(file, text, rename, target, inWorkspace));
    written.push(relative(target, out));
  }
  return { target, inWorkspace, files: written };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const parsed = parseArguments(process.argv.slice(2));
  if (parsed.error) {
    console.error(`${PREFIX} ${parsed.error}`);
    process.exit(2);
  }
  try {
    const { target, inWorkspace, files } = createConnector(parsed);
    console.log(`${PREFIX} created ${files.length} files in ${target}`);
    console.log(
      inWorkspace
        ? `Next: add '${posix(relative(root, target))}' to the projects in vitest.config.ts and to tsconfig.json's references, run pnpm install, then pnpm vitest run --project connector-${parsed.name}.`
        : `Next: cd ${target} && npm install && npm test. Then replace the fake in test/support and the HTTP calls in src with your CRM's (see docs/guides/writing-a-connector.md).`,
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
