/**
 * Scenario 5, journal cost: the same export of N local rows to MockConnector (upsert by
 * externalKey, batches of 200), once with the durable SQLite journal of `@crm-sync/store-sqlite`
 * (its default `synchronous = FULL`, a fresh file per run) and once with the in-memory journal.
 * Each run exports into a fresh, empty in-memory CRM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InMemoryCrm, ManualClock, MockConnector } from '@crm-sync/connector-mock';
import { MemoryExportJournal, MemoryOptionStore, MemoryRecordStore, Orchestrator } from '@crm-sync/sdk';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { check, formatMs, formatRate, formatRatio, log, measureInterleaved, repetitions, report, size, unwrap } from '../lib/harness.mjs';
import { ArraySource, localRows, MOCK_EXPORT_FIELDS } from '../lib/mock-data.mjs';

const N = size(100_000, 20);
const rows = localRows(N);
const directory = mkdtempSync(path.join(os.tmpdir(), 'crm-sync-bench-journal-'));
const job = { kind: 'export', activity: 'bench-journal', object: 'contact', table: 'contacts', fields: MOCK_EXPORT_FIELDS, mode: 'upsert', syncKey: { remoteField: 'externalKey' } };

async function exportWith(journalKind, rep) {
  const crm = new InMemoryCrm({ clock: new ManualClock('2024-01-01T00:00:00.000Z') });
  const connector = new MockConnector(crm);
  const source = new ArraySource(rows);
  let store;
  let journal;
  if (journalKind === 'sqlite' || journalKind === 'sqlite-normal') {
    const options = journalKind === 'sqlite-normal' ? { synchronous: 'NORMAL' } : {};
    store = unwrap(openSqliteStore(path.join(directory, `journal-${journalKind}-${rep}.db`), options), 'opening the SQLite store');
    journal = store.journal;
  } else {
    journal = new MemoryExportJournal();
  }
  try {
    const orchestrator = new Orchestrator({ connector, options: new MemoryOptionStore(), journal, sink: new MemoryRecordStore(), source });
    const summary = unwrap(await orchestrator.runExport(job), `export with the ${journalKind} journal`);
    check(crm.count('contact') === N && summary.created + summary.updated === N, `export with the ${journalKind} journal wrote ${summary.created + summary.updated} of ${N}`);
    return { apiCalls: summary.apiCalls };
  } finally {
    store?.close();
  }
}

const reps = repetitions();
await exportWith('memory', 100);
await exportWith('sqlite', 100);
const [sqlite, memory, sqliteNormal] = await measureInterleaved(
  [
    { label: `export ${N}, SQLite journal`, run: (rep) => exportWith('sqlite', rep) },
    { label: `export ${N}, in-memory journal`, run: () => exportWith('memory') },
    // For information: the same with synchronous = NORMAL (no fsync per commit), to show what the fsyncs cost.
    { label: `export ${N}, SQLite journal, synchronous NORMAL`, run: (rep) => exportWith('sqlite-normal', rep) },
  ],
  reps,
);
rmSync(directory, { recursive: true, force: true });
log('done');

const ratio = memory.medianMs / sqlite.medianMs;
const lowerBound = 1 + Math.ceil(N / 200);
const met = ratio >= 0.85;
report({
  id: 'journal-cost',
  title: `5. Journal cost: export ${N.toLocaleString('en-US')} records to MockConnector, SQLite vs in-memory journal`,
  line: { ratio: formatRatio(ratio), target: '0.85', apiCalls: sqlite.last.apiCalls, lowerBound },
  met,
  rows: [
    {
      scenario: `5. export ${N.toLocaleString('en-US')} to MockConnector, SQLite journal`,
      crmSync: `${formatMs(sqlite.medianMs)} (${formatRate(N, sqlite.medianMs)})`,
      baseline: `in-memory journal: ${formatMs(memory.medianMs)} (${formatRate(N, memory.medianMs)})`,
      ratio: formatRatio(ratio),
      apiCalls: sqlite.last.apiCalls,
      lowerBound,
      peakRss: `${sqlite.peakRssMb} MB (memory journal: ${memory.peakRssMb} MB)`,
      target: '>= 0.85 x in-memory throughput',
      verdict: met ? 'ok' : 'short',
    },
    {
      scenario: `5. same, SQLite journal with synchronous = NORMAL (not the default)`,
      crmSync: `${formatMs(sqliteNormal.medianMs)} (${formatRate(N, sqliteNormal.medianMs)})`,
      baseline: `in-memory journal: ${formatMs(memory.medianMs)}`,
      ratio: formatRatio(memory.medianMs / sqliteNormal.medianMs),
      apiCalls: sqliteNormal.last.apiCalls,
      lowerBound,
      peakRss: `${sqliteNormal.peakRssMb} MB`,
      target: 'reported',
      verdict: 'info',
    },
  ],
  details: { records: N, sqlite, memory, sqliteNormal },
  notes: [
    `Ratio = in-memory journal median time / SQLite journal median time (${reps} interleaved runs each after a warm-up). SQLite runs ${sqlite.runs.join(', ')} ms; in-memory runs ${memory.runs.join(', ')} ms.`,
    `With synchronous = NORMAL (no fsync per commit; may lose the last commits on power loss, never on a process kill) the runs take ${sqliteNormal.runs.join(', ')} ms: the difference to FULL is the fsyncs.`,
    'The SQLite journal runs with its default synchronous = FULL in WAL mode (an fsync per transaction; one transaction per batch step), on a fresh file in the OS temp directory per run.',
    "The in-memory journal (MemoryExportJournal of @crm-sync/sdk) pages by a sorted index since the fix this benchmark prompted (it used to copy, filter and sort the whole run on every listEntries call, which made 100,000-record exports quadratic). The SQLite journal's extra cost is the three durable writes per record (pending, sent, outcome) and their transactions; the synchronous NORMAL row shows that the fsyncs are not what bounds it.",
    'Bounded by CPU: every record is written to the journal as pending, marked sent, then given its outcome; the steps of the batches in flight share one transaction (group commit), so the fsyncs are about one per send window, not one per step; the mock CRM answers at once, so nothing hides the journal cost. Since session 6 the export sends each page straight from the load once it is journaled (no read back), so what is left is the writes themselves: the payloads as JSON (about 15 MB for 100,000 records) and each chunk row rewritten by its sent mark and its outcome.',
    `API calls: 1 describe + ceil(N / 200) upsert batches = ${lowerBound}.`,
  ],
});
