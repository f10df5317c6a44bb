#!/usr/bin/env node
/**
 * `pnpm bench [--quick] [--only <id>[,<id>]]`: runs every scenario in bench/scenarios/ in its own
 * `node --expose-gc` child process (so peak RSS is per scenario), prints one line per scenario
 * (`<id>: ratio=<x> target=<y> <ok|short>`) and a closing count of scenarios meeting their
 * target, and writes bench/results/latest.json and latest.md (quick runs write quick.json/.md,
 * so a smoke run never overwrites the full results).
 *
 * Exit code: 0 whenever every scenario ran, whatever the ratios; 1 only when a scenario crashed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { renderMarkdown, renderTable } from './lib/render.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? '').split(',')) : undefined;

const files = readdirSync(path.join(here, 'scenarios'))
  .filter((file) => file.endsWith('.mjs'))
  .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));

/** Runs one scenario file; resolves with its result line (parsed) or an error description. */
function runScenario(file) {
  return new Promise((resolve) => {
    const id = file.replace(/\.mjs$/, '');
    const child = spawn(process.execPath, ['--expose-gc', path.join(here, 'scenarios', file)], {
      env: { ...process.env, BENCH_QUICK: quick ? '1' : '0', BENCH_SCENARIO: id },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.on('close', (code, signal) => {
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('BENCH_RESULT '));
      if (code !== 0 || line === undefined) {
        resolve({ id, crashed: true, error: `exited with ${signal ?? code}${line === undefined ? ', no result line' : ''}` });
        return;
      }
      resolve(JSON.parse(line.slice('BENCH_RESULT '.length)));
    });
  });
}

const started = performance.now();
const results = [];
for (const file of files) {
  const id = file.replace(/\.mjs$/, '');
  if (only && !only.has(id) && !only.has(id.split('-')[0])) continue;
  process.stderr.write(`running ${id}${quick ? ' (quick)' : ''}\n`);
  const result = await runScenario(file);
  results.push(result);
  if (result.crashed) console.log(`${id}: CRASHED (${result.error})`);
  else console.log(`${result.id}: ratio=${result.line.ratio} target=${result.line.target}${result.line.apiCalls === undefined ? '' : ` calls=${result.line.apiCalls} bound=${result.line.lowerBound}`} ${result.met ? 'ok' : 'short'}`);
}
const elapsedS = Math.round((performance.now() - started) / 1000);
const met = results.filter((result) => !result.crashed && result.met).length;
const crashed = results.filter((result) => result.crashed).length;
console.log(`${met} of ${results.length} scenarios meet their target${crashed > 0 ? `, ${crashed} crashed` : ''} (${elapsedS} s${quick ? ', quick mode' : ''})`);

/**
 * A full-size run of some scenarios (`--only`) replaces those scenarios in the last full results
 * and keeps the others, so one scenario can be re-measured without the whole quarter of an hour.
 */
function mergedScenarios(outFile) {
  if (quick || only === undefined || !existsSync(outFile)) return { scenarios: results, rerun: undefined };
  const previous = JSON.parse(readFileSync(outFile, 'utf8'));
  const fresh = new Map(results.map((result) => [result.id, result]));
  const scenarios = previous.scenarios.map((scenario) => fresh.get(scenario.id) ?? scenario);
  for (const result of results) if (!previous.scenarios.some((scenario) => scenario.id === result.id)) scenarios.push(result);
  const rerun = `${results.map((result) => result.id).join(', ')} re-run on ${new Date().toISOString()} (${elapsedS} s); the others are from the results written on ${previous.date}`;
  return { scenarios, rerun, previousElapsedS: previous.elapsedS };
}

const outDir = path.join(here, 'results');
const merged = mergedScenarios(path.join(outDir, 'latest.json'));
const run = {
  mode: quick ? 'quick (1/10 to 1/25 size, see bench/README.md)' : 'full',
  date: new Date().toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cpus: os.cpus().length,
  loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
  totalMemoryMb: Math.round(os.totalmem() / 1024 / 1024),
  elapsedS: merged.previousElapsedS ?? elapsedS,
  ...(merged.rerun === undefined ? {} : { rerun: merged.rerun }),
  met: merged.scenarios.filter((result) => !result.crashed && result.met).length,
  scenarios: merged.scenarios,
};
mkdirSync(outDir, { recursive: true });
const base = quick ? 'quick' : 'latest';
writeFileSync(path.join(outDir, `${base}.json`), `${JSON.stringify(run, null, 2)}\n`);
writeFileSync(path.join(outDir, `${base}.md`), renderMarkdown(run));
process.stderr.write(`wrote bench/results/${base}.json and ${base}.md\n`);

// A full run of every scenario also refreshes the table in docs/performance.md (between its markers).
const docs = path.join(here, '..', 'docs', 'performance.md');
if (!quick && existsSync(docs)) {
  const text = readFileSync(docs, 'utf8');
  const start = '<!-- bench:results:start -->';
  const end = '<!-- bench:results:end -->';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from >= 0 && to > from) {
    const header = `Measured ${run.date.slice(0, 16).replace('T', ' ')} UTC${run.rerun ? ` (${run.rerun})` : ''}, Node ${run.node}, ${run.cpu} (${run.cpus} cores, shared with other engineers' builds and tests while it ran), whole run ${run.elapsedS} s; ${run.met} of ${run.scenarios.length} scenarios meet their target.`;
    writeFileSync(docs, `${text.slice(0, from + start.length)}\n${header}\n\n${renderTable(run)}\n${text.slice(to)}`);
    process.stderr.write('updated the results table in docs/performance.md\n');
  }
}
process.exitCode = crashed > 0 ? 1 : 0;
