/**
 * `crm-sync demo`: the CRM Connector workflow end to end on a sample CRM, against a SQLite file, with
 * nothing to set up. Import contacts (incremental), deduplicate into the local table, change
 * records in the CRM and import only the changes, export local changes (one rejected), import
 * deleted records, delete a record in the CRM; then a summary and what to try next.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { ManualClock, type InMemoryCrm } from '@crm-sync/connector-mock';
import type { CrmConnector, RejectItem, RunSummary, SyncJob } from '@crm-sync/sdk';
import { dropPostgresSchema } from '@crm-sync/store-postgres';
import { loadMockCrm, saveMockCrm, savedClock } from '../connectors/mock-persistence.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { eprintln, println, type CliIo } from '../io.js';
import { seedSampleData } from '../demo/sample-data.js';
import { DEMO_TABLE, demoDeleteJob, demoExportJob, demoImportDeletedJob, demoImportJob } from '../demo/demo-jobs.js';
import { createDemoEngine, startDemoCrm, type DemoCrm, type DemoEngine } from '../demo/demo-crm.js';
import type { DemoProfile } from '../demo/demo-profile.js';
import { createLogger } from '../report/logger.js';
import { createProgressReporter } from '../report/progress.js';
import { formatDuration } from '../report/summary.js';
import { renderTable } from '../report/table.js';
import { runJob } from '../run-job.js';
import { databaseSidecarBase, isPostgresLocation, openStore, shownDatabase, type CliStore } from '../store.js';
import { reportError } from './report-error.js';
import { uiCommand } from './ui-command.js';
import type { UiServer } from '@crm-sync/ui';
import { runFailed } from '../cli-error.js';

export type { DemoCrm } from '../demo/demo-crm.js';

/** Options of `crm-sync demo`. */
interface DemoCommandOptions {
  readonly crm: DemoCrm;
  readonly db: string;
  readonly fresh?: boolean;
  readonly keep?: boolean;
  readonly contacts: number;
  /** After the demo, serve the dashboard on it (`crm-sync ui`) and try to open a browser. */
  readonly ui?: boolean;
  /** Stops the dashboard of `ui` (tests); Ctrl-C always does. */
  readonly uiSignal?: AbortSignal;
  /** Called once the dashboard of `ui` listens (tests). */
  readonly onUiListening?: (server: UiServer) => void;
}

const MINUTE = 60_000;

interface StepResult {
  readonly step: string;
  readonly summary: RunSummary;
}

/** Runs the demo. Resolves with the exit code; never throws. */
export async function demoCommand(io: CliIo, options: DemoCommandOptions): Promise<ExitCodeValue> {
  const onPostgres = isPostgresLocation(options.db);
  // On PostgreSQL the demo keeps its own schema (crm_sync_demo unless the URL names one with ?schema=).
  const dbPath = onPostgres ? withDefaultSchema(options.db, DEMO_SCHEMA) : resolve(io.cwd, options.db);
  const crmFile = `${databaseSidecarBase(io, dbPath)}.mock-crm.json`;
  const shownDb = onPostgres ? shownDatabase(dbPath) : relative(io.cwd, dbPath) || dbPath;
  // The CRM's clock is manual so that every step's changes land in a distinct, predictable
  // minute; it stays two hours behind the real clock so no timestamp is ever in the future.
  const clock = new ManualClock();
  const engine = await createDemoEngine(options.crm, clock);
  const previousKind = options.keep === true && options.fresh !== true && existsSync(crmFile) ? await savedDemoKind(dbPath) : undefined;
  const keep = previousKind === engine.kind;
  println(io, 'crm-sync demo: the CRM Connector workflow, end to end, on sample data.');
  if (keep) {
    println(io, `Keeping ${shownDb} and its CRM from the previous demo (--keep): the first import is incremental.`);
  } else {
    if (onPostgres) {
      const url = new URL(dbPath);
      const dropped = await dropPostgresSchema(dbPath.replace(/[?&]schema=[^&]*/, ''), url.searchParams.get('schema') ?? DEMO_SCHEMA);
      if (dropped.isErr()) return reportError(io, runFailed(dropped.error.message));
      rmSync(crmFile, { force: true });
    } else {
      for (const suffix of ['', '-wal', '-shm', '.mock-crm.json']) rmSync(`${dbPath}${suffix}`, { force: true });
    }
    const why =
      options.keep !== true ? '' : previousKind === undefined ? ' (nothing to keep yet)' : ` (the previous demo ran on the ${previousKind} CRM, this one on the ${engine.kind} CRM)`;
    println(io, `Starting clean: ${shownDb} is new${why}. Run with --keep to continue from this run's data next time.`);
  }
  const resumeAt = keep ? savedClock(crmFile) : undefined;
  const start = Math.max(Date.now() - 2 * 60 * MINUTE, resumeAt === undefined ? 0 : Date.parse(resumeAt) + MINUTE);
  clock.set(new Date(Math.floor(start / MINUTE) * MINUTE));
  const { crm, profile } = engine;
  if (keep) {
    const loaded = loadMockCrm(crm, crmFile);
    if (loaded.isErr()) return reportError(io, runFailed(`[demo] ${loaded.error}`));
    println(io, `CRM: ${crm.count(profile.contact)} contacts and ${crm.count(profile.account)} accounts from the previous demo.`);
  } else {
    const counts = seedSampleData(crm, { contacts: options.contacts, until: clock.now(), profile });
    println(
      io,
      `CRM: ${counts.contacts} sample contacts and ${counts.accounts} accounts (${counts.contactsWithoutEmail} contacts without email, ${counts.contactsSharingTimestamps} sharing a change timestamp in blocks of 25).`,
    );
  }
  clock.advance(MINUTE);

  const logger = createLogger(io.stderr, 'pretty');
  const started = await startDemoCrm(engine, logger);
  for (const note of started.notes) println(io, `note: ${note}`);
  println(io, `Running on: ${started.label}`);
  const store = await openStore(dbPath);
  if (store.isErr()) {
    await started.close();
    return reportError(io, store.error);
  }
  try {
    await store.value.options.setOption(DEMO_KIND_OPTION, engine.kind);
    const results = await runSteps(io, crm, clock, profile, started.connector, store.value);
    if (results === undefined) return ExitCode.runFailed;
    saveMockCrm(crm, crmFile);
    printClosing(io, results, shownDb, store.value, engine.kind);
  } finally {
    await store.value.close();
    await started.close();
  }
  if (options.ui !== true) return ExitCode.ok;
  println(io, '\nStarting the dashboard on the demo database (--ui):');
  return uiCommand(io, {
    db: dbPath,
    port: 0,
    ...(options.uiSignal === undefined ? {} : { signal: options.uiSignal }),
    onListening: (server) => {
      openBrowser(io.env, server.openUrl);
      options.onUiListening?.(server);
    },
  });
}

/**
 * Asks the desktop to open `url` in a browser: `open` (macOS), `start` (Windows), `xdg-open` with
 * a display (Linux); not on CI. Without one, or when it fails, the printed URL is the way in.
 */
function openBrowser(env: NodeJS.ProcessEnv, url: string): void {
  const command =
    process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '', url] : env.DISPLAY || env.WAYLAND_DISPLAY ? ['xdg-open', url] : undefined;
  if (command === undefined || env.CI !== undefined) return;
  try {
    const child = spawn(command[0] ?? '', command.slice(1), { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No opener on this machine: the URL printed above is enough.
  }
}

/** The option where the demo notes which CRM it ran on, so --keep never mixes two. */
const DEMO_KIND_OPTION = 'CRM_SYNC_DEMO_CRM';

/** The PostgreSQL schema of the demo when the URL names none: dropped and recreated on a fresh start. */
const DEMO_SCHEMA = 'crm_sync_demo';

/** The URL with `?schema=` set to `schema` unless it names one. */
function withDefaultSchema(location: string, schema: string): string {
  try {
    const url = new URL(location);
    if (!url.searchParams.has('schema')) url.searchParams.set('schema', schema);
    return url.toString();
  } catch {
    return location;
  }
}

async function savedDemoKind(dbPath: string): Promise<string | undefined> {
  if (!isPostgresLocation(dbPath) && !existsSync(dbPath)) return undefined;
  const store = await openStore(dbPath);
  if (store.isErr()) return undefined;
  try {
    return (await store.value.options.getOption(DEMO_KIND_OPTION))?.value;
  } finally {
    await store.value.close();
  }
}

async function runSteps(
  io: CliIo,
  crm: InMemoryCrm,
  clock: ManualClock,
  profile: DemoProfile,
  connector: CrmConnector,
  store: CliStore,
): Promise<StepResult[] | undefined> {
  const contact = profile.contact;
  const f = profile.contactFields;
  const results: StepResult[] = [];
  const rejects: RejectItem[] = [];
  // The demo tells its own story: only errors are logged (rejects are shown below their step).
  const quiet = { ...createLogger(io.stderr, 'pretty'), info: () => {}, warn: () => {} };
  const run = async (step: string, job: SyncJob): Promise<RunSummary | undefined> => {
    println(io, `\n${step}`);
    // A bar on a terminal; in a log the step lines below say enough.
    const progress = createProgressReporter(io.stderr.isTTY === true ? 'bar' : 'none', io.stderr, `  ${job.kind} ${job.object}`);
    const result = await runJob(job, {
      connector,
      stores: { options: store.options, journal: store.journal, sink: store.records, source: store.records, leases: store.leases, history: store.history },
      logger: quiet,
      rejects: { write: async (items) => void rejects.push(...items) },
      onProgress: (event) => progress.update(event),
    });
    progress.stop();
    if (result.isErr()) {
      eprintln(io, result.error.message);
      return undefined;
    }
    results.push({ step, summary: result.value });
    return result.value;
  };

  // 1. Import contacts: the first run reads everything, later runs only what changed.
  const first = await run('1. Import contacts (incremental import with automatic index)', demoImportJob(profile));
  if (first === undefined) return undefined;
  const rows = await store.records.countLocal(DEMO_TABLE);
  println(io, `   read ${first.read} contacts in ${first.apiCalls} API calls; ${first.window?.optionName ?? 'watermark'} = ${first.window?.end ?? '-'} (UTC, CRM time)`);
  // Without this, a watermark two hours behind the reader's clock looks like a bug.
  println(io, "   (the sample CRM's clock runs two hours behind yours, a minute per step, so no change is ever in the future)");
  println(io, `   local table "${DEMO_TABLE}": ${rows} rows, one per CRM record (imports upsert by CRM id: deduplicated)`);

  // 2. Change a few records in the CRM, import again: only the changes arrive.
  clock.advance(MINUTE);
  const live = crm.records(contact);
  const picks = [3, 42, Math.floor(live.length / 3), Math.floor(live.length / 2), live.length - 1];
  const changed = [...new Set(picks.map((index) => live[index % live.length]))].filter((record) => record !== undefined);
  for (const record of changed) crm.update(contact, record.id, { [f.status]: profile.statusValues[1], ...(f.score !== undefined ? { [f.score]: 99.5 } : {}) });
  const added = crm.insert(contact, { [f.firstName]: 'Nieuwe', [f.lastName]: 'Klant', [f.email]: 'nieuwe.klant@example.com', [f.status]: profile.statusValues[0] });
  clock.advance(MINUTE);
  const second = await run(`2. Change ${changed.length} contacts and add 1 in the CRM, then import again`, demoImportJob(profile));
  if (second === undefined) return undefined;
  println(io, `   only the changes arrived: read ${second.read} of ${crm.count(contact)} contacts (window ${second.window?.start ?? 'start'} .. ${second.window?.end ?? 'end'} UTC)`);
  println(io, `   local table: ${await store.records.countLocal(DEMO_TABLE)} rows${added.ok ? ` (the new contact ${added.id} added, the changed ones updated in place)` : ''}`);

  // 3. Change rows locally and export them; one has an email the CRM refuses (a validation rule on the mock, the platform's email check on Salesforce).
  const localRows = [changed[0], changed[1]].filter((record) => record !== undefined);
  for (const record of localRows) await store.records.upsertLocal(DEMO_TABLE, record.id, { ...(f.phone !== undefined ? { phone: '+31 20 555 0100' } : {}), status: profile.statusValues[2] });
  const invalid = changed[2];
  if (invalid !== undefined) await store.records.upsertLocal(DEMO_TABLE, invalid.id, { email: 'not-an-email' });
  // New application rows get fresh keys, so that a --keep run adds new contacts too.
  const [newKey1, newKey2] = await freeLocalKeys(store, 2);
  await store.records.upsertLocal(DEMO_TABLE, newKey1, { first_name: 'Sanne', last_name: 'Hoekstra', email: `sanne.hoekstra.${newKey1}@example.com`, status: profile.statusValues[0] });
  await store.records.upsertLocal(DEMO_TABLE, newKey2, { first_name: 'Joost', last_name: 'Kuipers', email: `joost.kuipers.${newKey2}@example.com`, status: profile.statusValues[0] });
  clock.advance(MINUTE);
  const changedKeys = [...localRows.map((record) => record.id), ...(invalid === undefined ? [] : [invalid.id]), newKey1, newKey2];
  const exported = await run('3. Change 3 rows and add 2 in the local table, then export the changes to the CRM', demoExportJob(profile, changedKeys));
  if (exported === undefined) return undefined;
  println(io, `   created ${exported.created}, updated ${exported.updated}, rejected ${exported.rejected} (journal run ${exported.runId ?? '-'})`);
  for (const reject of rejects) {
    println(io, `   rejected: local key ${reject.localKey ?? '-'}: ${reject.code}${reject.symbol !== undefined ? ` (${reject.symbol})` : ''}: ${reject.message}`);
  }
  // The application fixes the row the CRM refused (here: back to the CRM's value).
  if (invalid !== undefined) await store.records.upsertLocal(DEMO_TABLE, invalid.id, { email: crm.get(contact, invalid.id)?.values[f.email] ?? null });

  // 4. Records deleted in the CRM (by its users), imported as deletions.
  clock.advance(MINUTE);
  const windowStart = clock.now().toISOString();
  const toDelete = crm.records(contact).slice(10, 13).map((record) => record.id);
  for (const id of toDelete) crm.delete(contact, id);
  clock.advance(MINUTE);
  const deletedImport = await run(`4. ${toDelete.length} contacts deleted in the CRM; import deleted records`, demoImportDeletedJob(profile, windowStart, clock.now().toISOString()));
  if (deletedImport === undefined) return undefined;
  println(io, `   ${deletedImport.deleted} local rows marked deleted; live rows now ${await store.records.countLocal(DEMO_TABLE)}`);

  // 5. Delete a record in the CRM: the contact the export just created.
  const exportedRow = await store.records.getLocal(DEMO_TABLE, newKey2);
  const target = exportedRow?.crmId ?? crm.records(contact)[20]?.id;
  clock.advance(MINUTE);
  const deleted = await run(`5. Delete a contact in the CRM (${target ?? '-'}, created by the export)`, demoDeleteJob(profile, target === undefined ? [] : [target]));
  if (deleted === undefined) return undefined;
  println(io, `   deleted ${deleted.deleted}; the CRM now has ${crm.count(contact)} contacts`);
  return results;
}

/** The first `count` keys `app-0001`, `app-0002`, ... not yet in the local table. */
async function freeLocalKeys(store: CliStore, count: number): Promise<[string, string]> {
  const keys: string[] = [];
  for (let index = 1; keys.length < count; index += 1) {
    const key = `app-${String(index).padStart(4, '0')}`;
    if ((await store.records.getLocal(DEMO_TABLE, key)) === undefined) keys.push(key);
  }
  return [keys[0] ?? 'app-0001', keys[1] ?? 'app-0002'];
}

function stepResult(summary: RunSummary): string {
  switch (summary.operation) {
    case 'import':
      return `${summary.read} read, ${summary.written} written to the local table`;
    case 'export':
      return `${summary.created} created, ${summary.updated} updated in the CRM`;
    case 'import-deleted':
      return `${summary.deleted} marked deleted locally`;
    case 'delete':
      return `${summary.deleted} deleted in the CRM`;
  }
}

function printClosing(io: CliIo, results: readonly StepResult[], shownDb: string, store: CliStore, kind: DemoEngine['kind']): void {
  println(io, '\nSummary');
  println(
    io,
    renderTable(
      ['Step', 'Operation', 'Result', 'Rejected', 'API calls', 'Time'],
      results.map(({ step, summary }) => [
        step.slice(0, 2).replace('.', ''),
        summary.operation,
        stepResult(summary),
        summary.rejected,
        summary.apiCalls,
        formatDuration(summary.durationMs),
      ]),
    ),
  );
  const exportRun = results.find((result) => result.summary.operation === 'export')?.summary.runId;
  println(io, store.kind === 'postgres' ? `\nThe PostgreSQL database is ${store.path}.` : `\nThe SQLite file is ${shownDb} (${store.path}).`);
  const db = `--db ${shownDb}`;
  println(io, `\nSee the runs, their plots, rejects and journals in the dashboard: crm-sync ui ${db}   (or: pnpm demo -- --ui)`);
  println(io, 'Try next:');
  for (const command of [
    `crm-sync options list ${db}`,
    `crm-sync journal list ${db}`,
    ...(exportRun !== undefined ? [`crm-sync journal show ${exportRun} ${db}`] : []),
    'crm-sync describe contact --account demo --accounts examples/accounts.yaml',
    ...(kind === 'mock'
      ? [
          `crm-sync run examples/import-contacts.yaml --accounts examples/accounts.yaml ${db} --dry-run`,
          `crm-sync run examples/import-contacts.yaml --accounts examples/accounts.yaml ${db}   (continues on the demo's CRM)`,
        ]
      : [`crm-sync run examples/import-contacts.yaml --accounts examples/accounts.yaml --db .crm-sync/examples.sqlite`]),
    'pnpm demo --keep   (run the demo again, incrementally)',
  ]) {
    println(io, `  ${command}`);
  }
  println(io, 'In this repository, crm-sync is: node packages/cli/dist/bin/crm-sync.js (or alias crm-sync="node $PWD/packages/cli/dist/bin/crm-sync.js")');
}
