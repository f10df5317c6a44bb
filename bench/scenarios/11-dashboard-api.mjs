/**
 * Scenario 9, dashboard API: `@crm-sync/ui` over a SQLite store holding 100,000 runs and one run
 * with 50,000 rejects. Times the API answers a page asks for (first and last page of the runs,
 * filtered pages, a run, a page of rejects, a reject search, the jobs) and the full CSV of the
 * 50,000 rejects, over HTTP on 127.0.0.1. Target: every paged answer's median under 250 ms; a
 * reject search (a scan of the run's rejects: literal text, any case, no index can serve it) under 500 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { startUiServer } from '@crm-sync/ui';
import { check, formatMs, formatRatio, log, measure, repetitions, report, size, unwrap } from '../lib/harness.mjs';

const RUNS = size(100_000);
const REJECTS = size(50_000);
const JOBS = 20;
const BUDGET_MS = 250;
const SEARCH_BUDGET_MS = 500;
const directory = mkdtempSync(path.join(os.tmpdir(), 'crm-sync-bench-ui-'));
// The bench opens the file itself (store-sqlite's own better-sqlite3) so the seeding runs in one
// transaction: the store's calls join it as savepoints, and 100,000 runs cost one commit, not 200,000.
const Database = createRequire(import.meta.resolve('@crm-sync/store-sqlite'))('better-sqlite3');
const db = new Database(path.join(directory, 'ui.sqlite'));
db.pragma('journal_mode = WAL');
const store = unwrap(openSqliteStore(db, { synchronous: 'NORMAL' }), 'opening the SQLite store');
const statuses = ['succeeded', 'succeeded', 'succeeded', 'failed', 'interrupted'];
const t0 = Date.UTC(2024, 0, 1);

log(`seeding ${RUNS} runs`);
const seedStarted = performance.now();
db.exec('BEGIN');
for (let i = 0; i < RUNS; i += 1) {
  const job = i % JOBS;
  await store.history.startRun({ runId: `run-${i}`, jobId: `default/job-${job}`, activity: `job-${job}`, operation: job % 2 === 0 ? 'import' : 'export', host: 'bench', pid: 1, startedAt: new Date(t0 + i * 60_000).toISOString() });
  await store.history.finishRun(`run-${i}`, { status: statuses[i % statuses.length], endedAt: new Date(t0 + i * 60_000 + 5_000).toISOString(), counts: { read: 100, written: 99, created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, rejected: 1, errors: 0 } });
}
log(`seeding ${REJECTS} rejects`);
const big = `run-${RUNS - 1}`;
for (let from = 0; from < REJECTS; from += 5_000) {
  const rejects = Array.from({ length: Math.min(5_000, REJECTS - from) }, (_, k) => {
    const i = from + k;
    return { code: i % 7 === 0 ? 'duplicate' : 'validation', symbol: i % 7 === 0 ? 'DUPLICATE_VALUE' : 'INVALID_EMAIL_ADDRESS', message: `Email: invalid address for row ${i}`, fields: ['Email'], localKey: `k-${i}`, crmId: `003${i}` };
  });
  await store.history.recordProgress(big, { rejects });
}
db.exec('COMMIT');
log(`seeded in ${formatMs(performance.now() - seedStarted)}`);

const server = await startUiServer({ store: { history: store.history, journal: store.journal, options: store.options, leases: store.leases }, databaseLabel: 'bench' });
async function fetchText(route) {
  const response = await fetch(`${server.url}/api/v1${route}`);
  const text = await response.text();
  check(response.status === 200, `${route} answered ${response.status}: ${text.slice(0, 200)}`);
  return text;
}

const reps = repetitions(7, 3);
const routes = [
  ['runs, first page', '/runs?limit=50'],
  ['runs, last page', `/runs?limit=50&offset=${RUNS - 50}`],
  ['runs of one job, failed, page 3', '/runs?job=default/job-3&status=failed&offset=100&limit=50'],
  ['runs in a date range', `/runs?since=${new Date(t0 + RUNS * 30_000).toISOString()}&until=${new Date(t0 + RUNS * 30_000 + 86_400_000).toISOString()}`],
  ['the run with the rejects', `/runs/${big}`],
  ['rejects, page 400 of 500', `/runs/${big}/rejects?limit=100&after=${Math.floor(REJECTS * 0.8)}`],
  ['rejects, search (a scan)', `/runs/${big}/rejects?limit=100&search=duplicate_value`, SEARCH_BUDGET_MS],
  ['jobs (20 jobs, 30 runs each)', '/jobs'],
];
const rows = [];
let ratio = Number.POSITIVE_INFINITY;
for (const [label, route, budget = BUDGET_MS] of routes) {
  await fetchText(route);
  const result = await measure(label, reps, () => fetchText(route));
  ratio = Math.min(ratio, budget / result.medianMs);
  rows.push({ label, route, budget, ...result });
}
await fetchText(`/runs/${big}/rejects.csv`);
const csv = await measure('rejects CSV', reps, async () => (await fetchText(`/runs/${big}/rejects.csv`)).length);
check(csv.last > REJECTS * 40, `the CSV holds ${csv.last} characters`);
await server.close();
store.close();
db.close();
rmSync(directory, { recursive: true, force: true });
log('done');

const met = ratio >= 1;
report({
  id: 'dashboard-api',
  title: `11. Dashboard API over SQLite: ${RUNS.toLocaleString('en-US')} runs, a run with ${REJECTS.toLocaleString('en-US')} rejects`,
  // No CRM is called: the dashboard reads the store only, so 0 API calls against a bound of 0.
  line: { ratio: formatRatio(ratio), target: '1.00', apiCalls: 0, lowerBound: 0 },
  met,
  rows: [
    ...rows.map((row) => ({
      scenario: `11. GET ${row.label}`,
      crmSync: formatMs(row.medianMs),
      baseline: `budget ${row.budget} ms`,
      ratio: formatRatio(row.budget / row.medianMs),
      apiCalls: 0,
      lowerBound: 0,
      peakRss: `${row.peakRssMb} MB`,
      target: `<= ${row.budget} ms`,
      verdict: row.medianMs <= row.budget ? 'ok' : 'short',
    })),
    {
      scenario: `11. GET the CSV of ${REJECTS.toLocaleString('en-US')} rejects (streamed)`,
      crmSync: formatMs(csv.medianMs),
      baseline: 'reported',
      ratio: '-',
      apiCalls: 0,
      lowerBound: 0,
      peakRss: `${csv.peakRssMb} MB`,
      target: 'reported',
      verdict: 'info',
    },
  ],
  details: { runs: RUNS, rejects: REJECTS, routes: rows.map(({ label, route, medianMs, runs }) => ({ label, route, medianMs, runs })), csv: { medianMs: csv.medianMs, runs: csv.runs } },
  notes: [
    `Ratio = the smallest of budget / median over the answers (${BUDGET_MS} ms per page, ${SEARCH_BUDGET_MS} ms for the search) (${reps} runs each after a warm-up), over HTTP on 127.0.0.1 (node:http, JSON, redaction of every answer included).`,
    'Runs page by LIMIT/OFFSET over the crm_sync_runs (started_ms) index and count the same filter; the last page walks the index past the other rows. Rejects page by seq (the primary key); the search scans the rejects of the run.',
  ],
});
