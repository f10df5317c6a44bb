// Measures the cost of synchronous=FULL against NORMAL (both WAL) on 10,000 journal updates, on a
// real file (fsync matters only on disk). Run after a build:
//   npx tsc -b packages/store-sqlite && node packages/store-sqlite/bench/journal-synchronous.mjs [dir]
// Prints one line per case; numbers vary with the disk, compare them within one run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteStore } from '../dist/index.js';

const UPDATES = 10_000;
const BATCH = 200;
const dir = mkdtempSync(join(process.argv[2] ?? tmpdir(), 'crm-sync-bench-'));

async function measure(synchronous, perCall) {
  const store = openSqliteStore(join(dir, `${synchronous}-${perCall}.sqlite`), { synchronous })._unsafeUnwrap();
  const run = await store.journal.startRun('bench');
  const seqs = Array.from({ length: UPDATES }, (_, seq) => seq);
  await store.journal.addPending(run.runId, seqs.map((seq) => ({ seq, localKey: `k${seq}`, mode: 'insert', payload: { LastName: `L${seq}`, n: seq } })));
  const started = performance.now();
  for (let i = 0; i < UPDATES; i += perCall) {
    const slice = seqs.slice(i, i + perCall);
    await store.journal.recordOutcomes(run.runId, slice.map((seq) => ({ seq, state: 'committed', crmId: `003${seq}`, action: 'created' })));
  }
  const ms = performance.now() - started;
  store.close();
  return ms;
}

try {
  for (const perCall of [1, BATCH]) {
    const results = {};
    for (const synchronous of ['NORMAL', 'FULL']) results[synchronous] = await measure(synchronous, perCall);
    const transactions = Math.ceil(UPDATES / perCall);
    console.log(
      `${UPDATES} journal updates, ${perCall} per transaction (${transactions} commits): ` +
        `NORMAL ${results.NORMAL.toFixed(0)} ms, FULL ${results.FULL.toFixed(0)} ms, FULL/NORMAL ${(results.FULL / results.NORMAL).toFixed(2)}x, ` +
        `FULL ${((results.FULL / transactions) * 1000).toFixed(0)} us/commit`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
