#!/usr/bin/env node
// Public-API reports: one `api-reports/<package>.api.json` per published package, listing every
// export of every entry point (name, kind, signature as text), sorted so the file is stable.
//
//   node scripts/check-api.mjs           regenerate in memory and diff against the committed reports
//   node scripts/check-api.mjs --update  rewrite the committed reports
//
// The reports come from TypeDoc's model of the packages (the same conversion `pnpm run docs`
// renders), so what is checked is exactly what users see. TypeDoc reads the compiled
// declarations of referenced projects, hence the `tsc -b` first (toolchain gotcha 7).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, ReflectionKind } from 'typedoc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reportDir = join(root, 'api-reports');
const update = process.argv.includes('--update');

/** Kinds whose members are part of the report, so removing a property or method is caught too. */
const CONTAINER_KINDS = ReflectionKind.Class | ReflectionKind.Interface | ReflectionKind.Enum | ReflectionKind.Namespace;

/** `(a: string, b?: number) => R` for one call or construct signature, type parameters included. */
function signatureText(signature) {
  const typeParameters = signature.typeParameters?.length
    ? `<${signature.typeParameters.map(typeParameterText).join(', ')}>`
    : '';
  const parameters = (signature.parameters ?? [])
    .map((p) => `${p.flags.isRest ? '...' : ''}${p.name}${p.flags.isOptional || p.defaultValue ? '?' : ''}: ${typeText(p.type)}`)
    .join(', ');
  return `${typeParameters}(${parameters}): ${typeText(signature.type)}`;
}

function typeParameterText(parameter) {
  const constraint = parameter.type ? ` extends ${typeText(parameter.type)}` : '';
  const fallback = parameter.default ? ` = ${typeText(parameter.default)}` : '';
  return `${parameter.name}${constraint}${fallback}`;
}

/** TypeDoc's own rendering of a type, on one line with single spaces. */
function typeText(type) {
  return type ? type.toString().replace(/\s+/g, ' ').trim() : 'void';
}

function flagsText(reflection) {
  const flags = [];
  if (reflection.flags.isStatic) flags.push('static');
  if (reflection.flags.isAbstract) flags.push('abstract');
  if (reflection.flags.isReadonly) flags.push('readonly');
  if (reflection.flags.isOptional) flags.push('optional');
  if (reflection.flags.isProtected) flags.push('protected');
  return flags.length ? `${flags.join(' ')} ` : '';
}

/** The text that changes when the export's shape changes. */
function shapeText(reflection) {
  const parts = [];
  if (reflection.typeParameters?.length) parts.push(`<${reflection.typeParameters.map(typeParameterText).join(', ')}>`);
  if (reflection.extendedTypes?.length) parts.push(`extends ${reflection.extendedTypes.map(typeText).join(', ')}`);
  if (reflection.implementedTypes?.length) parts.push(`implements ${reflection.implementedTypes.map(typeText).join(', ')}`);
  for (const signature of reflection.signatures ?? []) parts.push(signatureText(signature));
  if (reflection.getSignature) parts.push(`get: ${typeText(reflection.getSignature.type)}`);
  if (reflection.setSignature) parts.push(`set${signatureText(reflection.setSignature)}`);
  if (reflection.type) parts.push(typeText(reflection.type));
  if (reflection.kind === ReflectionKind.EnumMember && reflection.type === undefined) parts.push('auto');
  return `${flagsText(reflection)}${parts.join(' ')}`.trim();
}

/** Entries of one entry point: every export, and the public members of classes, interfaces and enums. */
function entriesOf(module) {
  const entries = [];
  const visit = (reflection, prefix) => {
    const name = prefix ? `${prefix}.${reflection.name}` : reflection.name;
    entries.push({ name, kind: ReflectionKind.singularString(reflection.kind), signature: shapeText(reflection) });
    if (reflection.kindOf(CONTAINER_KINDS)) {
      for (const member of reflection.children ?? []) {
        // Inherited members are reported on the type that declares them.
        if (member.inheritedFrom) continue;
        visit(member, name);
      }
    }
  };
  for (const child of module.children ?? []) visit(child, '');
  return entries.sort((a, b) => (a.name === b.name ? a.kind.localeCompare(b.kind) : a.name < b.name ? -1 : 1));
}

/** `{ '@crm-sync/sdk': { '.': [...], }, ... }` from the TypeDoc project. */
function reportsOf(project) {
  const reports = new Map();
  for (const pkg of project.children ?? []) {
    const entryPoints = {};
    const modules = (pkg.children ?? []).filter((c) => c.kind === ReflectionKind.Module);
    if (modules.length === 0) entryPoints['.'] = entriesOf(pkg);
    for (const module of modules) entryPoints[module.name === 'index' ? '.' : `./${module.name}`] = entriesOf(module);
    const sorted = Object.fromEntries(Object.keys(entryPoints).sort().map((key) => [key, entryPoints[key]]));
    reports.set(pkg.name, { package: pkg.name, entryPoints: sorted });
  }
  return reports;
}

function reportFile(packageName) {
  return join(reportDir, `${packageName.replace(/^@crm-sync\//, '')}.api.json`);
}

function serialize(report) {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Human-readable differences between the committed report and the current API. */
function differences(before, after) {
  const lines = [];
  const keys = new Set([...Object.keys(before.entryPoints ?? {}), ...Object.keys(after.entryPoints)]);
  for (const entryPoint of [...keys].sort()) {
    const index = (list) => new Map((list ?? []).map((e) => [`${e.kind} ${e.name}`, e]));
    const old = index(before.entryPoints?.[entryPoint]);
    const now = index(after.entryPoints[entryPoint]);
    const where = `${after.package}${entryPoint === '.' ? '' : entryPoint.slice(1)}`;
    for (const [key, entry] of old) {
      if (!now.has(key)) lines.push(`  removed  ${where}: ${key}`);
      else if (now.get(key).signature !== entry.signature) {
        lines.push(`  changed  ${where}: ${key}\n             was: ${entry.signature}\n             now: ${now.get(key).signature}`);
      }
    }
    for (const key of now.keys()) if (!old.has(key)) lines.push(`  added    ${where}: ${key}`);
  }
  return lines;
}

try {
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-b'], { cwd: root, stdio: 'inherit' });
} catch {
  console.error('[crm-sync] [check-api] `tsc -b` failed (errors above); the API report needs compiled packages.');
  process.exit(1);
}
const app = await Application.bootstrapWithPlugins({
  options: join(root, 'typedoc.json'),
  // Only the model is needed here; `pnpm run docs` is where warnings fail the build.
  logLevel: 'Error',
  treatWarningsAsErrors: false,
  validation: { notExported: false, invalidLink: false, notDocumented: false },
});
const project = await app.convert();
if (!project) {
  console.error('[crm-sync] [check-api] TypeDoc could not convert the packages; run `pnpm run docs` to see why.');
  process.exit(1);
}
const reports = reportsOf(project);

if (update) {
  mkdirSync(reportDir, { recursive: true });
  const wanted = new Set([...reports.keys()].map(reportFile));
  for (const file of readdirSync(reportDir)) {
    if (file.endsWith('.api.json') && !wanted.has(join(reportDir, file))) rmSync(join(reportDir, file));
  }
  for (const [name, report] of reports) writeFileSync(reportFile(name), serialize(report));
  console.log(`[crm-sync] [check-api] wrote ${reports.size} reports to api-reports/`);
  process.exit(0);
}

const problems = [];
for (const [name, report] of reports) {
  const file = reportFile(name);
  if (!existsSync(file)) {
    problems.push(`  new package ${name}: no api-reports/${file.split('/').pop()} yet`);
    continue;
  }
  const committed = readFileSync(file, 'utf8');
  if (committed === serialize(report)) continue;
  const diff = differences(JSON.parse(committed), report);
  problems.push(...(diff.length ? diff : [`  ${name}: report differs only in order or format`]));
}
for (const file of existsSync(reportDir) ? readdirSync(reportDir) : []) {
  const name = `@crm-sync/${file.replace(/\.api\.json$/, '')}`;
  if (file.endsWith('.api.json') && !reports.has(name)) problems.push(`  removed package ${name} (api-reports/${file} has no package)`);
}
if (problems.length) {
  console.error(
    [
      '[crm-sync] [check-api] The public API differs from the committed reports in api-reports/:',
      ...problems,
      'If the change is intended, run `pnpm api:update`, commit api-reports/, and add a changeset',
      '(`pnpm changeset`) that tells users what changed. If not, restore the export.',
    ].join('\n'),
  );
  process.exit(1);
}
console.log(`[crm-sync] [check-api] public API of ${reports.size} packages matches api-reports/`);
