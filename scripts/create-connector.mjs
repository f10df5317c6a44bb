#!/usr/bin/env node
// Scaffolds a new crm-sync connector package from examples/connector-template (Acme CRM).
//
//   pnpm create-connector <name> [--dir <path>] [--link <crm-sync checkout>] [--registry] [--force]
//
// <name> is the connector id (`hubspot`, `zoho-crm`): lower-case letters, digits and dashes.
// Inside this workspace (the default, `examples/connector-<name>`) the package uses `workspace:`
// versions and the repository's shared configs. Anywhere else it gets standalone configs and,
// while the @crm-sync packages are not on a registry, `file:` dependencies on the packages of a
// crm-sync checkout (`--link <path>`, default this checkout), so that `npm install && npm test`
// works offline; `--registry` uses registry versions instead (once published). Every
// "Acme"/"acme" becomes the new name; every line of the template marked `// vendor-fact: <topic>`
// (Acme's retention, id pattern, error codes, auth, rate-limit header, endpoints) gets a TODO
// above it, since it states a fact of the template's fictional CRM, not of yours. Acme-only tests
// are left out; a README and a .gitignore are written.
//
// Written by hand rather than with a generator library: it is one copy-and-rename pass over a
// dozen files, and a generator would add a dependency to every install of this repository.
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const PREFIX = '[crm-sync] [create-connector]';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const templateDir = join(root, 'examples', 'connector-template');
/** Template paths never copied: build output, installed dependencies, and the testkit's mutant copies. */
const SKIPPED = new Set(['node_modules', 'dist', '.mutants']);
/** Template files not copied: tests of Acme's own syntax (its JSON filter, its API-key page), and the README (one is written). */
const ACME_ONLY = new Set([join('test', 'filter.test.ts'), 'README.md']);
/** The vendor facts the template marks with `// vendor-fact: <topic>`; the scaffold turns each into a TODO. */
export const VENDOR_FACT_TOPICS = ['limits and retention', 'retention', 'id pattern', 'change field', 'error codes', 'auth', 'rate-limit header', 'endpoints'];

/** Parses `<name> [--dir <path>] [--force]`; returns an error message instead of throwing. */
export function parseArguments(argv) {
  const positional = [];
  let dir;
  let link;
  let registry = false;
  let force = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--dir' || arg === '--link') {
      const value = argv[i + 1];
      i += 1;
      if (value === undefined || value.startsWith('--')) {
        return { error: arg === '--dir' ? '--dir needs a path: pnpm create-connector <name> --dir ../my-connector' : '--link needs the path of a crm-sync checkout: pnpm create-connector <name> --link ../crm-sync' };
      }
      if (arg === '--dir') dir = value;
      else link = value;
    } else if (arg === '--registry') registry = true;
    else if (arg === '--force') force = true;
    else if (arg.startsWith('--')) return { error: `unknown option '${arg}': use --dir <path>, --link <crm-sync checkout>, --registry or --force` };
    else positional.push(arg);
  }
  if (registry && link !== undefined) return { error: '--link and --registry exclude each other: --link depends on a local crm-sync checkout, --registry on published packages' };
  const [name] = positional;
  if (name === undefined || positional.length > 1) return { error: 'give exactly one connector name: pnpm create-connector <name> [--dir <path>]' };
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name) || name === 'acme') {
    return { error: `'${name}' is not a usable connector id: use lower-case letters, digits and single dashes, starting with a letter (e.g. hubspot, zoho-crm)` };
  }
  return { name, dir, force, ...(link !== undefined ? { link } : {}), ...(registry ? { registry } : {}) };
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

/** The package.json of the new connector. `linked` is the crm-sync checkout to depend on, or `undefined` for registry versions. */
function packageJson(template, rename, inWorkspace, linked) {
  const pkg = JSON.parse(rename(template));
  pkg.description = `A crm-sync connector for ${pascal(pkg.name.replace(/^crm-sync-connector-/, ''))} CRM.`;
  if (!inWorkspace) {
    pkg.scripts = { build: 'tsc -p tsconfig.json', test: 'vitest run' };
    if (linked === undefined) {
      const version = (name) => `^${JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')).version}`;
      pkg.peerDependencies = { '@crm-sync/sdk': version('sdk') };
      pkg.devDependencies = {
        '@crm-sync/cli': version('cli'),
        '@crm-sync/sdk': version('sdk'),
        '@crm-sync/testkit': version('testkit'),
        '@types/node': '^20.19.0',
        typescript: '6.0.3',
        vitest: '4.1.12',
      };
      // A connector on the registry is meant to be published.
      delete pkg.private;
      pkg.publishConfig = { access: 'public' };
    } else {
      // Unpublished crm-sync: every dependency is a folder of the checkout (npm links it), so
      // `npm install` needs no registry. Switch to registry versions once crm-sync is published
      // (pnpm create-connector <name> --registry shows them).
      const fromCheckout = (path) => `file:${realpathSync(join(linked, path))}`;
      pkg.dependencies = { ...pkg.dependencies, neverthrow: fromCheckout(join('packages', 'sdk', 'node_modules', 'neverthrow')) };
      pkg.peerDependencies = { '@crm-sync/sdk': `^${JSON.parse(readFileSync(join(linked, 'packages', 'sdk', 'package.json'), 'utf8')).version}` };
      pkg.devDependencies = {
        '@crm-sync/cli': fromCheckout(join('packages', 'cli')),
        '@crm-sync/sdk': fromCheckout(join('packages', 'sdk')),
        '@crm-sync/testkit': fromCheckout(join('packages', 'testkit')),
        '@types/node': fromCheckout(join('node_modules', '@types', 'node')),
        typescript: fromCheckout(join('node_modules', 'typescript')),
        vitest: fromCheckout(join('node_modules', 'vitest')),
      };
    }
  }
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** Checks that `checkout` is a crm-sync checkout with its dependencies installed; the error says how to fix it. */
function checkCheckout(checkout) {
  if (!existsSync(join(checkout, 'packages', 'sdk', 'package.json'))) {
    throw new Error(`${PREFIX} --link ${checkout}: not a crm-sync checkout (no packages/sdk/package.json); give the folder you cloned crm-sync into`);
  }
  for (const module of ['vitest', 'typescript', join('@types', 'node'), join('..', 'packages', 'sdk', 'node_modules', 'neverthrow')]) {
    if (!existsSync(join(checkout, 'node_modules', module))) {
      throw new Error(`${PREFIX} --link ${checkout}: its dependencies are not installed (no node_modules/${module}); run pnpm install in ${checkout} first`);
    }
  }
}

/** The checkout's packages that must be built (dist/) before the connector can use them. */
function unbuilt(checkout) {
  return ['sdk', 'testkit', 'cli', 'connector-mock', 'store-sqlite'].filter((name) => !existsSync(join(checkout, 'packages', name, 'dist', 'index.js')));
}

/** Puts a TODO above every line the template marks `// vendor-fact: <topic>`, and drops the marker. */
export function markVendorFacts(text, crmName) {
  return text.replace(/^([ \t]*)(.*?)[ \t]*\/\/ vendor-fact: (.+)$/gm, (_line, indent, code, topic) =>
    `${indent}// TODO(${topic}): the template's fictional CRM's ${topic}; replace with what ${crmName} documents.\n${indent}${code}`,
  );
}

/** The .gitignore of the new connector. */
const GITIGNORE = ['node_modules/', 'dist/', '*.tsbuildinfo', 'vitest.link.config.ts', '.crm-sync/', '*.sqlite', '*.sqlite-wal', '*.sqlite-shm', ''].join('\n');

/** The README of the new connector: no relative links (the guides live in the crm-sync repository). */
function readme(name, linked, inWorkspace) {
  const crm = `${pascal(name)} CRM`;
  const docs = inWorkspace ? posix(relative(root, root)) || '.' : linked ?? 'the crm-sync repository';
  const install = inWorkspace
    ? ['pnpm install', `pnpm vitest run --project connector-${name}`]
    : linked !== undefined
      ? [`# once: build the crm-sync checkout this connector depends on (file: dependencies)`, `(cd ${linked} && pnpm install && pnpm build)`, 'npm install', 'npm test']
      : ['npm install', 'npm test'];
  return `# crm-sync-connector-${name}

A crm-sync connector for **${crm}**, scaffolded from
crm-sync's template connector, whose CRM is fictional. It builds and its contract tests pass
against the fake CRM in \`test/support/\` as generated; your work is to make both talk ${crm}.

## Build and test

\`\`\`sh
${install.join('\n')}
\`\`\`

${
  linked !== undefined
    ? `While crm-sync is not published on a registry, this package depends on the packages of the
crm-sync checkout at \`${linked}\` through \`file:\` dependencies (npm links the folders), so
\`npm install\` needs no network. They are used built: run \`pnpm build\` in the checkout after
pulling it. Once crm-sync is published, replace the \`file:\` versions with registry ones
(\`pnpm create-connector ${name} --registry --dir <another folder>\` in the checkout writes a package.json
with them).
`
    : ''
}
## What to change

Every fact of the template's fictional CRM that the code states is marked with a TODO naming its
topic: retention, id pattern, change field, error codes, auth, rate-limit header, endpoints.
List them with:

\`\`\`sh
grep -rn "TODO(" src test
\`\`\`

1. Replace the fake in \`test/support/\` with a fake of ${crm} (its endpoints, its error bodies, its
   paging, its deletion history), built on the fake-server kit of \`@crm-sync/testkit\`.
2. Replace the HTTP calls in \`src/\` with ${crm}'s, resolving each TODO from ${crm}'s API docs.
3. Keep \`npm test\` green: the contract suite (\`test/contract.test.ts\`) checks what crm-sync
   relies on.

The guides are in ${docs === '.' ? 'this repository' : `\`${docs}\``}: \`docs/guides/writing-a-connector.md\` (each file, step by
step) and \`docs/guides/contract-reference.md\` (every contract type, with examples).

## Run it through the crm-sync CLI

The package exports \`crmSyncPlugin\` (see \`src/plugin.ts\`), so the CLI runs it by path or, once
installed in a project, by package name:

\`\`\`yaml
# accounts.yaml
accounts:
  ${name}:
    connector: ${inWorkspace ? `./examples/connector-${name}` : '.'}         # or: crm-sync-connector-${name} once installed
    baseUrl: https://your-account.example   # TODO(auth): ${crm}'s settings
    apiKey: REPLACE_ME
\`\`\`

\`\`\`sh
npm run build
npx crm-sync describe --account ${name} --accounts accounts.yaml
npx crm-sync connectors list
\`\`\`
`;
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
function scaffoldFile(file, text, rename, target, inWorkspace, linked, crmName) {
  if (file === 'package.json') return packageJson(text, rename, inWorkspace, linked);
  const marked = markVendorFacts(text, crmName);
  if (inWorkspace) {
    // Relative paths to the repository's shared configs change with the folder's depth.
    const up = posix(relative(join(target, dirname(file)), root)) || '.';
    const upFromTemplate = posix(relative(join(templateDir, dirname(file)), root)) || '.';
    return rename(marked).split(`${upFromTemplate}/`).join(`${up}/`);
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
  return rename(marked);
}

/**
 * Scaffolds the connector; returns the target folder, the files written, and the checkout packages
 * still to build. `link` is the crm-sync checkout to depend on (default this one, outside the
 * workspace, unless `registry`).
 *
 * @param {{ name: string, dir?: string, force?: boolean, link?: string, registry?: boolean }} options
 */
export function createConnector({ name, dir, force = false, link, registry = false }) {
  const target = resolve(dir ?? join(root, 'examples', `connector-${name}`));
  if (existsSync(target) && readdirSync(target).length > 0 && !force) {
    throw new Error(`${PREFIX} ${target} exists and is not empty: pick another --dir, or pass --force to overwrite`);
  }
  const inWorkspace = isInside(target, root);
  if (inWorkspace && (link !== undefined || registry)) {
    throw new Error(`${PREFIX} ${link !== undefined ? '--link' : '--registry'} applies to a connector outside this repository; inside it (${target}) the package uses workspace: versions. Pass --dir <a folder outside ${root}>`);
  }
  const linked = inWorkspace || registry ? undefined : resolve(link ?? root);
  if (linked !== undefined) checkCheckout(linked);
  const rename = renamer(name);
  const crmName = `${pascal(name)} CRM`;
  const written = [];
  for (const file of listFiles(templateDir)) {
    if (ACME_ONLY.has(file)) continue;
    const text = readFileSync(join(templateDir, file), 'utf8');
    const out = join(target, rename(file));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, scaffoldFile(file, text, rename, target, inWorkspace, linked, crmName));
    written.push(relative(target, out));
  }
  writeFileSync(join(target, 'README.md'), readme(name, linked, inWorkspace));
  writeFileSync(join(target, '.gitignore'), GITIGNORE);
  written.push('README.md', '.gitignore');
  return { target, inWorkspace, files: written.sort(), ...(linked !== undefined ? { linked, unbuilt: unbuilt(linked) } : {}) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const parsed = parseArguments(process.argv.slice(2));
  if (parsed.error) {
    console.error(`${PREFIX} ${parsed.error}`);
    process.exit(2);
  }
  try {
    const { target, inWorkspace, files, linked, unbuilt: toBuild } = createConnector(parsed);
    console.log(`${PREFIX} created ${files.length} files in ${target}`);
    if (linked !== undefined) console.log(`It depends on the packages of the crm-sync checkout ${linked} (file: dependencies; no registry needed).`);
    if (toBuild !== undefined && toBuild.length > 0) console.log(`First build them: cd ${linked} && pnpm build (not built yet: ${toBuild.join(', ')}).`);
    console.log(
      inWorkspace
        ? `Next: add '${posix(relative(root, target))}' to the projects in vitest.config.ts and to tsconfig.json's references, run pnpm install, then pnpm vitest run --project connector-${parsed.name}.`
        : `Next: cd ${target} && npm install && npm test. Then resolve the TODOs (grep -rn "TODO(" src test): replace the fake in test/support and the HTTP calls in src with your CRM's (see docs/guides/writing-a-connector.md).`,
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
