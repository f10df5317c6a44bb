/**
 * Scenario 10, steady state (the "scenario 8"; 7, 8 and 9 were taken): consecutive
 * incremental imports with 0 to 10 changes each, as a scheduler runs them every few minutes, each
 * through a fresh connector built from one configuration, sharing one option store. Salesforce
 * (emulator in its own process, password sign-in) and Dataverse (emulator in this process,
 * client-credentials token through msal). Target: after the first run, the API calls of every
 * run = its data pages + at most 1 (the server time), token requests included.
 */
import { InMemoryCrm, ManualClock } from '@crm-sync/connector-mock';
import { DynamicsConnector } from '@crm-sync/connector-dynamics';
import { dataverseSchemas, startDataverseEmulator } from '@crm-sync/connector-dynamics/emulator';
import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { MemoryExportJournal, MemoryOptionStore, MemoryRecordStore, Orchestrator } from '@crm-sync/sdk';
import { check, formatMs, formatRatio, log, median, QUICK, report, unwrap } from '../lib/harness.mjs';
import { startSalesforceHost } from '../lib/salesforce-client.mjs';

const RUNS = QUICK ? 30 : 100;
const SEED = 500;
const PAGE_SIZE = 2000;

/** Changes per run: 0 to 10, from a fixed linear congruential sequence (the same every time). */
function changesPerRun() {
  let state = 17;
  return Array.from({ length: RUNS }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % 11;
  });
}
const changes = changesPerRun();

/** Counts what it is given and keeps nothing. */
class CountingSink {
  atomicCheckpoint = false;
  records = 0;
  async write(_table, records) {
    this.records += records.length;
  }
  async markDeleted() {}
}

/**
 * Runs the first (full) import and then RUNS incremental ones; `classify(from)` returns the
 * requests since log position `from` as { total, dataPages, token, byKind }.
 */
async function steadyRuns({ label, makeConnector, job, addChanges, logLength, classify }) {
  const options = new MemoryOptionStore();
  const sink = new CountingSink();
  const runs = [];
  let inserted = 0;
  for (let run = 0; run <= RUNS; run += 1) {
    const count = run === 0 ? 0 : changes[run - 1];
    await addChanges(count, inserted);
    inserted += count;
    const from = await logLength();
    const connector = makeConnector();
    const orchestrator = new Orchestrator({ connector, options, journal: new MemoryExportJournal(), sink, source: new MemoryRecordStore() });
    const started = performance.now();
    const summary = unwrap(await orchestrator.runImport(job), `${label} import ${run}`);
    const elapsedMs = performance.now() - started;
    await connector.close?.();
    check(summary.read === (run === 0 ? SEED : count), `${label} run ${run} read ${summary.read}, expected ${run === 0 ? SEED : count}`);
    runs.push({ run, changes: count, elapsedMs, ...(await classify(from)) });
  }
  const steady = runs.slice(1);
  const extra = steady.map((run) => run.total - run.dataPages);
  const result = {
    first: runs[0],
    runs: steady.length,
    totalCalls: steady.reduce((sum, run) => sum + run.total, 0),
    dataPages: steady.reduce((sum, run) => sum + run.dataPages, 0),
    tokens: steady.reduce((sum, run) => sum + run.token, 0),
    maxExtra: Math.max(...extra),
    medianExtra: median(extra),
    medianMs: Math.round(median(steady.map((run) => run.elapsedMs)) * 10) / 10,
    byKind: steady.reduce((sum, run) => {
      for (const [kind, n] of Object.entries(run.byKind)) sum[kind] = (sum[kind] ?? 0) + n;
      return sum;
    }, {}),
  };
  log(`${label}: ${result.runs} runs, ${result.totalCalls} calls for ${result.dataPages} data pages, extra per run max ${result.maxExtra}, tokens ${result.tokens}`);
  return result;
}

// Salesforce: the emulator in its own process, a password sign-in (the emulator accepts any).
const host = await startSalesforceHost();
const { url } = await host.call('start');
await host.call('seed', { count: SEED });
const sfConfig = { loginUrl: url, auth: { kind: 'password', username: 'bench@example.com', password: 'bench-password', clientId: 'bench-client', clientSecret: 'bench-secret' }, pageSize: PAGE_SIZE };
const sfFields = [
  { remote: 'FirstName', local: 'first_name' },
  { remote: 'LastName', local: 'last_name' },
  { remote: 'Email', local: 'email' },
  { remote: 'LastModifiedDate', local: 'modified_at' },
];
const salesforce = await steadyRuns({
  label: 'Salesforce',
  makeConnector: () => new SalesforceConnector(sfConfig),
  job: { kind: 'import', activity: 'bench-steady-sf', object: 'Contact', table: 'contacts', fields: sfFields, pageSize: PAGE_SIZE, automaticIndex: { enabled: true } },
  addChanges: (count, from) => host.call('insertContacts', { count, from }),
  logLength: async () => {
    await host.call('resetCounters');
    return 0;
  },
  classify: async () => {
    const entries = await host.call('requestLog');
    const byKind = {};
    for (const entry of entries) byKind[entry.route] = (byKind[entry.route] ?? 0) + 1;
    return { total: entries.length, dataPages: (byKind.query ?? 0) + (byKind['query-more'] ?? 0), token: byKind.token ?? 0, byKind };
  },
});
await host.stop();

// Dataverse: the emulator in this process, one connector configuration for every run.
const clock = new ManualClock('2024-01-01T00:00:00.000Z');
const crm = new InMemoryCrm({ clock, schemas: dataverseSchemas(), deletedRetentionDays: 30 });
for (let i = 0; i < SEED; i += 1) {
  crm.insert('contact', { firstname: `First${i}`, lastname: `Last-${i}`, emailaddress1: `person.${i}@example.com` });
  clock.advance(1);
}
clock.advance(3_600_000);
const emulator = await startDataverseEmulator({ crm });
const dvConfig = emulator.connectorConfig({ pageSize: PAGE_SIZE });
const dataverse = await steadyRuns({
  label: 'Dataverse',
  makeConnector: () => new DynamicsConnector(dvConfig),
  job: {
    kind: 'import',
    activity: 'bench-steady-dv',
    object: 'contact',
    table: 'contacts',
    fields: [
      { remote: 'firstname', local: 'first_name' },
      { remote: 'lastname', local: 'last_name' },
      { remote: 'emailaddress1', local: 'email' },
      { remote: 'modifiedon', local: 'modified_at' },
    ],
    pageSize: PAGE_SIZE,
    automaticIndex: { enabled: true },
  },
  addChanges: async (count, from) => {
    for (let i = 0; i < count; i += 1) {
      crm.insert('contact', { firstname: `New${from + i}`, lastname: `Changed-${from + i}`, emailaddress1: `new.${from + i}@example.com` });
      clock.advance(1);
    }
    clock.advance(60_000);
  },
  logLength: async () => emulator.requestLog.length,
  classify: async (from) => {
    const byKind = {};
    let dataPages = 0;
    let token = 0;
    for (const entry of emulator.requestLog.slice(from)) {
      const path = entry.path.split('?')[0];
      const kind = path.includes('/oauth2/') ? 'token' : path.includes('EntityDefinitions') ? 'metadata' : path.endsWith('/WhoAmI') ? 'WhoAmI' : `GET ${path.split('/').pop()}`;
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      if (kind === 'token') token += 1;
      else if (kind !== 'metadata' && kind !== 'WhoAmI') dataPages += 1;
    }
    return { total: emulator.requestLog.length - from, dataPages, token, byKind };
  },
});
await emulator.close();
log('done');

const kinds = (byKind) =>
  Object.entries(byKind)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
const row = (name, result) => ({
  scenario: `10. steady state, ${name}: ${result.runs} incremental imports of 0-10 changes`,
  crmSync: `${result.totalCalls} calls (${formatRatio(result.totalCalls / result.runs)} per run), median run ${formatMs(result.medianMs)}`,
  baseline: `data pages: ${result.dataPages}`,
  ratio: formatRatio(result.totalCalls / result.dataPages),
  apiCalls: `${result.totalCalls} (${kinds(result.byKind)}); first run ${result.first.total} (${kinds(result.first.byKind)})`,
  lowerBound: `data pages = ${result.dataPages}; target <= pages + 1 per run = ${result.dataPages + result.runs}`,
  peakRss: '',
  target: 'per run: calls <= data pages + 1 (tokens included)',
  verdict: result.maxExtra <= 1 ? 'ok' : 'short',
});
const met = salesforce.maxExtra <= 1 && dataverse.maxExtra <= 1;
const worst = Math.max(salesforce.maxExtra, dataverse.maxExtra);
report({
  id: 'steady-state',
  title: `10. Steady state: ${RUNS} consecutive incremental imports with 0-10 changes each (Salesforce, Dataverse)`,
  line: {
    ratio: formatRatio((salesforce.totalCalls + dataverse.totalCalls) / (salesforce.dataPages + dataverse.dataPages)),
    target: 'calls <= pages + 1 per run',
    apiCalls: salesforce.totalCalls + dataverse.totalCalls,
    lowerBound: salesforce.dataPages + dataverse.dataPages,
  },
  met,
  rows: [row('Salesforce', salesforce), row('Dataverse', dataverse)],
  details: { runs: RUNS, seed: SEED, changes, salesforce, dataverse },
  notes: [
    `Each run builds a fresh connector from one configuration (as a scheduler or the CLI in watch mode does) and shares one option store with the others; changes per run: ${changes.join(', ')}. The first run (a full read of the ${SEED} seeded contacts) signs in and describes; it is reported apart. Most calls beyond the data pages per run, over all runs: Salesforce ${salesforce.maxExtra}, Dataverse ${dataverse.maxExtra} (the server-time call, /limits or WhoAmI, which fixes the end of the incremental window); token requests after the first run: Salesforce ${salesforce.tokens}, Dataverse ${dataverse.tokens}.`,
    'The description comes from the describe cache in the option store (option CRMSYNC_DESCRIBE_<connector>_<instance hash>_<object>, TTL one hour by default, dropped on an unknown-field error); the Salesforce session from the connector\'s process-wide session cache (replaced on a 401); the Dataverse token from msal\'s cache, shared by the connectors of one process with the same app registration and network client.',
    `Worst run: ${worst} call(s) beyond its data pages. An empty window still costs one data page: the query that finds nothing.`,
  ],
});
