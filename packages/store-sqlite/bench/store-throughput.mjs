// Throughput of the SQLite store on a real file (WAL, synchronous=FULL): a 100,000-entry export
// journal and a 100,000-record import and export read. Run after a build:
//   npx tsc -b packages/store-sqlite && node packages/store-sqlite/bench/store-throughput.mjs [dir]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteStore } from '../dist/index.js';

const N = 100_000;
const dir = mkdtempSync(join(process.argv[2] ?? tmpdir(), 'crm-sync-bench-'));
const store = openSqliteStore(join(dir, 'throughput.sqlite'))._unsafeUnwrap();

async function timed(label, action) {
  const started = performance.now();
  await action();
  const ms = performance.now() - started;
  console.log(`${label}: ${ms.toFixed(0)} ms (${Math.round((N / ms) * 1000).toLocaleString('en')} rows/s)`);
}

try {
  const seqs = Array.from({ length: N }, (_, seq) => seq);
  const run = await store.journal.startRun('bench');
  await timed(`journal addPending ${N} in one call`, () =>
    store.journal.addPending(run.runId, seqs.map((seq) => ({ seq, localKey: `k${seq}`, syncKey: `s${seq}`, mode: 'upsert', payload: { LastName: `L${seq}`, Email: `p${seq}@example.com`, n: seq } }))),
  );
  await timed(`journal markSent ${N} in batches of 200`, async () => {
    for (let i = 0; i < N; i += 200) await store.journal.markSent(run.runId, seqs.slice(i, i + 200), `b${i}`);
  });
  await timed(`journal recordOutcomes ${N} in batches of 200`, async () => {
    for (let i = 0; i < N; i += 200) {
      await store.journal.recordOutcomes(run.runId, seqs.slice(i, i + 200).map((seq) => ({ seq, state: 'committed', crmId: `003${seq}`, action: 'created' })));
    }
  });
  await timed(`records write ${N} in pages of 2,000 with checkpoint`, async () => {
    for (let i = 0; i < N; i += 2000) {
      const page = seqs.slice(i, i + 2000).map((seq) => ({ crmId: `003${String(seq).padStart(7, '0')}`, changedAt: '2024-01-01T00:00:00.000Z', values: { email: `p${seq}@example.com`, n: seq } }));
      await store.records.write('contacts', page, { optionName: 'LASTIMPORT_bench', value: '2024/01/01 00:00:00' });
    }
  });
  await timed(`records read ${N} in batches of 500`, async () => {
    let rows = 0;
    for await (const batch of store.records.read('contacts')) rows += batch.length;
    if (rows !== N) throw new Error(`read ${rows} rows, expected ${N}`);
  });
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
