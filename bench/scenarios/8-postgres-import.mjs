/**
 * Scenario 8, import into PostgreSQL: a full import of N contacts (12 fields) from MockConnector
 * (pages of 2,000) into a PostgreSQL local table (JSONB data, one transaction per page with its
 * checkpoint), against the same import into the in-memory record store of `@crm-sync/sdk`.
 */
import { performance } from 'node:perf_hooks';
import { MemoryExportJournal, MemoryOptionStore, MemoryRecordStore, Orchestrator } from '@crm-sync/sdk';
import { MockConnector } from '@crm-sync/connector-mock';
import { check, formatMs, formatRate, formatRatio, log, measureInterleaved, repetitions, report, size, unwrap } from '../lib/harness.mjs';
import { CONTACT_FIELDS, seededMockCrm } from '../lib/mock-data.mjs';
import { freshPostgresStore, requirePostgres } from '../lib/postgres.mjs';

const N = size(1_000_000, 20);
const PAGE_SIZE = 2000;
const TARGET = 0.5;
// A long lease: on a loaded machine a 1,000,000-record run can starve the renewal timer past the default 30 s.
const LEASE_TTL_MS = 600_000;
const title = `8. Import ${N.toLocaleString('en-US')} records (12 fields) from MockConnector into a PostgreSQL local table vs the in-memory sink`;
await requirePostgres('postgres-import', title, String(TARGET));

log(`seeding ${N} contacts`);
const crm = seededMockCrm(N);
const connector = new MockConnector(crm);
const job = { kind: 'import', activity: 'bench-pg-import', object: 'contact', table: 'contacts', fields: CONTACT_FIELDS, pageSize: PAGE_SIZE, timeZone: 'Europe/Paris' };

async function importInto(sinkKind) {
  if (sinkKind === 'memory') {
    const options = new MemoryOptionStore();
    const records = new MemoryRecordStore(options);
    const started = performance.now();
    const orchestrator = new Orchestrator({ connector, options, journal: new MemoryExportJournal(), sink: records, source: records, leaseTtlMs: LEASE_TTL_MS });
    const summary = unwrap(await orchestrator.runImport(job), 'import into memory');
    const elapsedMs = performance.now() - started;
    check(summary.written === N, `memory import wrote ${summary.written} of ${N}`);
    return { elapsedMs, apiCalls: summary.apiCalls };
  }
  const pg = await freshPostgresStore('import');
  try {
    const { store } = pg;
    // Only the import is timed, on both sides: creating, counting and dropping the throwaway schema is not part of it.
    const started = performance.now();
    const orchestrator = new Orchestrator({ connector, options: store.options, journal: store.journal, sink: store.records, source: store.records, leases: store.leases, leaseTtlMs: LEASE_TTL_MS });
    const summary = unwrap(await orchestrator.runImport(job), 'import into PostgreSQL');
    const elapsedMs = performance.now() - started;
    check(summary.written === N && (await store.records.countLocal('contacts')) === N, `PostgreSQL import wrote ${summary.written} of ${N}`);
    return { elapsedMs, apiCalls: summary.apiCalls };
  } finally {
    await pg.drop();
  }
}

const reps = repetitions(3, 2);
await importInto('memory');
const [postgres, memory] = await measureInterleaved(
  [
    { label: `import ${N} into PostgreSQL`, run: () => importInto('postgres') },
    { label: `import ${N} into the in-memory sink`, run: () => importInto('memory') },
  ],
  reps,
);
log('done');

const ratio = memory.medianMs / postgres.medianMs;
const lowerBound = 1 + Math.ceil(N / PAGE_SIZE);
const met = ratio >= TARGET;
report({
  id: 'postgres-import',
  title,
  line: { ratio: formatRatio(ratio), target: String(TARGET), apiCalls: postgres.last.apiCalls, lowerBound },
  met,
  rows: [
    {
      scenario: `8. import ${N.toLocaleString('en-US')} x 12 fields into PostgreSQL (JSONB)`,
      crmSync: `${formatMs(postgres.medianMs)} (${formatRate(N, postgres.medianMs)})`,
      baseline: `in-memory sink: ${formatMs(memory.medianMs)} (${formatRate(N, memory.medianMs)})`,
      ratio: formatRatio(ratio),
      apiCalls: postgres.last.apiCalls,
      lowerBound,
      peakRss: `${postgres.peakRssMb} MB (in-memory sink: ${memory.peakRssMb} MB)`,
      target: `>= ${TARGET} x in-memory sink throughput`,
      verdict: met ? 'ok' : 'short',
    },
  ],
  details: { records: N, pageSize: PAGE_SIZE, postgres, memory },
  notes: [
    `Ratio = in-memory sink median time / PostgreSQL median time (${reps} interleaved runs each, the in-memory one after a warm-up; every PostgreSQL run imports into a fresh schema, whose creation and drop are not timed). PostgreSQL runs ${postgres.runs.join(', ')} ms; in-memory runs ${memory.runs.join(', ')} ms.`,
    'Each page of 2,000 records is one transaction (fence check, records, the checkpoint when the job has one): a page of rows the table does not have yet is one COPY ... FROM STDIN (a page that meets existing rows rolls back and merges them, read as one JSON text by jsonb_to_recordset, with a lookup, an UPDATE and an INSERT ... ON CONFLICT); the orchestrator converts the next page while this one is written; every other statement a named prepared statement; the server runs on the same machine (local TCP).',
    `API calls: 1 describe + ceil(N / ${PAGE_SIZE}) query pages = ${lowerBound}.`,
  ],
});
