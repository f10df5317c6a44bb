/**
 * Shared helpers of the benchmark scenarios: run size, repetitions, timing with a per-phase peak
 * RSS sampler, medians, and the one-line JSON result each scenario process hands to `bench/run.mjs`.
 */
import { performance } from 'node:perf_hooks';

/**
 * `--quick` (set by run.mjs through the environment): every scenario at a fraction of its size
 * (1/10 unless the scenario asks for less; bench/README.md lists each), so the smoke run CI makes
 * fits its time budget. The full run is always full size.
 */
export const QUICK = process.env.BENCH_QUICK === '1';

/** Scales a full-run record count to the current mode: `full`, or `full / quickDivisor` in quick mode. */
export function size(full, quickDivisor = 10) {
  return QUICK ? Math.round(full / quickDivisor) : full;
}

/** Repetitions per measured variant: 5 in a full run, 3 in quick mode, unless BENCH_REPS says otherwise. */
export function repetitions(full = 5, quick = 3) {
  const forced = Number(process.env.BENCH_REPS);
  if (Number.isInteger(forced) && forced > 0) return Math.min(forced, QUICK ? quick : full);
  return QUICK ? quick : full;
}

/** Median of a non-empty list of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const MB = 1024 * 1024;

/**
 * Samples RSS every 10 ms while a phase runs. `process.resourceUsage().maxRSS` is a high-water
 * mark for the whole process, so it cannot tell a crm-sync run from the baseline run before it;
 * the sampler gives each phase its own peak (it may miss a spike shorter than 10 ms).
 */
function rssSampler() {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/**
 * Runs `body(rep)` `reps` times after a garbage collection each, and returns the wall times, their
 * median, the peak RSS seen while it ran and the last value `body` returned.
 */
export async function measure(label, reps, body) {
  const runs = [];
  let peakRss = 0;
  let last;
  for (let rep = 0; rep < reps; rep += 1) {
    globalThis.gc?.();
    const sampler = rssSampler();
    const started = performance.now();
    last = await body(rep);
    runs.push(performance.now() - started);
    peakRss = Math.max(peakRss, sampler.stop());
    log(`${label}: run ${rep + 1}/${reps} ${runs.at(-1).toFixed(0)} ms`);
  }
  return { label, runs: runs.map((ms) => Math.round(ms * 10) / 10), medianMs: Math.round(median(runs) * 10) / 10, peakRssMb: Math.round(peakRss / MB), last };
}

/**
 * Like {@link measure} for several variants, interleaved run by run (A B A B ...), so a burst of
 * load from other processes on this shared machine hits every variant alike. Returns one
 * measurement per variant, in the order given.
 */
export async function measureInterleaved(variants, reps) {
  const results = variants.map((variant) => ({ label: variant.label, runs: [], peakRss: 0, last: undefined }));
  for (let rep = 0; rep < reps; rep += 1) {
    for (const [index, variant] of variants.entries()) {
      const result = results[index];
      globalThis.gc?.();
      const sampler = rssSampler();
      const started = performance.now();
      result.last = await variant.run(rep);
      // A run that sets itself up (a fresh emulator, say) reports the time of the measured part.
      result.runs.push(typeof result.last?.elapsedMs === 'number' ? result.last.elapsedMs : performance.now() - started);
      result.peakRss = Math.max(result.peakRss, sampler.stop());
      log(`${variant.label}: run ${rep + 1}/${reps} ${result.runs.at(-1).toFixed(0)} ms`);
    }
  }
  return results.map((result) => ({
    label: result.label,
    runs: result.runs.map((ms) => Math.round(ms * 10) / 10),
    medianMs: Math.round(median(result.runs) * 10) / 10,
    peakRssMb: Math.round(result.peakRss / MB),
    last: result.last,
  }));
}

/** Current RSS in MB. */
export function rssMb() {
  return Math.round(process.memoryUsage.rss() / MB);
}

/** The process-wide peak RSS so far (`process.resourceUsage().maxRSS` is in kB). */
export function maxRssMb() {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Progress on stderr, so stdout carries only the result line. */
export function log(message) {
  process.stderr.write(`  [${process.env.BENCH_SCENARIO ?? 'bench'}] ${message}\n`);
}

/** Throws (crashing the scenario, which fails the run) when a run did not do what it claims to measure. */
export function check(condition, message) {
  if (!condition) throw new Error(`[crm-sync] [bench] ${message}`);
}

/** Unwraps a neverthrow Result, throwing its error with context. */
export function unwrap(result, what) {
  if (result.isErr()) {
    const error = result.error;
    throw new Error(`[crm-sync] [bench] ${what} failed: ${error?.kind ?? ''} ${error?.message ?? String(error)}`);
  }
  return result.value;
}

/**
 * Hands the scenario's result to run.mjs: one line `BENCH_RESULT <json>` on stdout, with the
 * process-wide peak RSS added.
 */
export function report(result) {
  process.stdout.write(`BENCH_RESULT ${JSON.stringify({ ...result, processPeakRssMb: maxRssMb() })}\n`);
}

/** `1,234 ms` or `12.3 s`. */
export function formatMs(ms) {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms).toLocaleString('en-US')} ms`;
}

/** Records per second, rounded: `123,456 rec/s`. */
export function formatRate(records, ms) {
  return `${Math.round(records / (ms / 1000)).toLocaleString('en-US')} rec/s`;
}

/** A ratio with two decimals. */
export function formatRatio(ratio) {
  return ratio.toFixed(2);
}

/**
 * Runs this scenario file again in a child `node --expose-gc` with extra environment (e.g. a
 * smaller size for a memory probe, which needs its own process for its own peak RSS); resolves
 * with the child's result.
 */
export async function runChild(scriptUrl, env) {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(scriptUrl)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.on('close', (code) => {
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('BENCH_RESULT '));
      if (code !== 0 || line === undefined) reject(new Error(`[crm-sync] [bench] child run exited with ${code}`));
      else resolve(JSON.parse(line.slice('BENCH_RESULT '.length)));
    });
  });
}
