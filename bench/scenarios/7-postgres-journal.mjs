/**
 * Scenario 7, journal cost on PostgreSQL (scenario 5 with the PostgreSQL journal of
 * `@crm-sync/store-postgres`): the same export of N local rows to MockConnector (upsert by
 * externalKey, batches of 200), once with the PostgreSQL journal (a fresh schema per run, on the
 * server of CRM_SYNC_PG_URL) and once with the in-memory journal.
 */
import { performance } from 'node:perf_hooks';
import { InMemoryCrm, ManualClock, MockConnector } from '@crm-sync/connector-mock';
import { MemoryExportJournal, MemoryOptionStore, MemoryRecordStore, Orchestrator } from '@crm-sync/sdk';
import { check, formatMs, formatRate, formatRatio, log, measureInterleaved, repetitions, report, size, unwrap } from '../lib/harness.mjs';
import { ArraySource, localRows, MOCK_EXPORT_FIELDS } from '../lib/mock-data.mjs';
import { freshPostgresStore, requirePostgres } from '../lib/postgres.mjs';

const N = size(100_000, 20);
const TARGET = 0.6;
const title = `7. Journal cost on PostgreSQL: export ${N.toLocaleString('en-US')} records to MockConnector, PostgreSQL vs in-memory journal`;
await requirePostgres('postgres-journal-cost', title, String(TARGET));

const rows = localRows(N);
const job = { kind: 'export', activity: 'bench-journal', object: 'contact', table: 'contacts', fields: MOCK_EXPORT_FIELDS, mode: 'upsert', syncKey: { remoteField: 'externalKey' } };

async function exportWith(journalKind) {
  const crm = new InMemoryCrm({ clock: new ManualClock('2024-01-01T00:00:00.000Z') });
  const connector = new MockConnector(crm);
  const source = new ArraySource(rows);
  const pg = journalKind === 'postgres' ? await freshPostgresStore('journal') : undefined;
  const journal = pg?.store.journal ?? new MemoryExportJournal();
  try {
    // Only the export is timed, on both sides: creating and dropping the throwaway schema is not part of it.
    const started = performance.now();
    const orchestrator = new Orchestrator({ connector, options: new MemoryOptionStore(), journal, sink: new MemoryRecordStore(), source });
    const summary = unwrap(await orchestrator.runExport(job), `export with the ${journalKind} journal`);
    const elapsedMs = performance.now() - started;
    check(crm.count('contact') === N && summary.created + summary.updated === N, `export with the ${journalKind} journal wrote ${summary.created + summary.updated} of ${N}`);
    return { elapsedMs, apiCalls: summary.apiCalls };
  } finally {
    await pg?.drop();
  }
}

const reps = repetitions(3, 2);
await exportWith('memory');
await exportWith('postgres');
const [postgres, memory] = await measureInterleaved(
  [
    { label: `export ${N}, PostgreSQL journal`, run: () => exportWith('postgres') },
    { label: `export ${N}, in-memory journal`, run: () => exportWith('memory') },
  ],
  reps,
);
log('done');

const ratio = memory.medianMs / postgres.medianMs;
const lowerBound = 1 + Math.ceil(N / 200);
const met = ratio >= TARGET;
report({
  id: 'postgres-journal-cost',
  title,
  line: { ratio: formatRatio(ratio), target: String(TARGET), apiCalls: postgres.last.apiCalls, lowerBound },
  met,
  rows: [
    {
      scenario: `7. export ${N.toLocaleString('en-US')} to MockConnector, PostgreSQL journal`,
      crmSync: `${formatMs(postgres.medianMs)} (${formatRate(N, postgres.medianMs)})`,
      baseline: `in-memory journal: ${formatMs(memory.medianMs)} (${formatRate(N, memory.medianMs)})`,
      ratio: formatRatio(ratio),
      apiCalls: postgres.last.apiCalls,
      lowerBound,
      peakRss: `${postgres.peakRssMb} MB (memory journal: ${memory.peakRssMb} MB)`,
      target: `>= ${TARGET} x in-memory throughput`,
      verdict: met ? 'ok' : 'short',
    },
  ],
  details: { records: N, postgres, memory },
  notes: [
    `Ratio = in-memory journal median time / PostgreSQL journal median time (${reps} interleaved runs each after a warm-up). PostgreSQL runs ${postgres.runs.join(', ')} ms; in-memory runs ${memory.runs.join(', ')} ms.`,
    'The PostgreSQL journal keeps entries by chunk of up to 200 (one row each): new entries go by COPY, one step of up to 5,000 at a time; the sent marks and outcomes of the batches in flight go as one transaction per group (one group in flight per run, the steps issued meanwhile go with the next); on a fresh schema per run (its creation and drop not timed), over a local TCP connection with the server default synchronous_commit = on (a WAL flush per commit).',
    'The export sends each page once it is journaled pending, straight from the load (no read back); upsert batches leave while their sent mark is written (inserts wait for it); at most 4 send windows of 8 batches are open.',
    `API calls: 1 describe + ceil(N / 200) upsert batches = ${lowerBound}.`,
  ],
});
