/**
 * Steady-state cost of incremental imports: what a scheduler does every few minutes, a run of the
 * same import job through a fresh connector built from one configuration, all runs sharing one
 * option store (watermark, describe cache) and one local table. A connector whose runs after the
 * first send more than their data pages and one server-time call is re-describing, signing in
 * again, or paging badly; this measures each run's requests so a test can say which.
 *
 * @module
 */
import { MemoryExportJournal, MemoryOptionStore, MemoryRecordStore, Orchestrator, type CrmConnector, type ImportJob } from '@crm-sync/sdk';

/** What {@link measureSteadyStateImports} needs from the connector's test. */
export interface SteadyStateOptions {
  /** The incremental import run each time (its `table` is read back to count the records). */
  readonly job: ImportJob;
  /** Records the CRM gets before each run: one run per element, after that many inserts. */
  readonly changes: readonly number[];
  /** Inserts the `n`-th record (from 0) into the CRM; throw when the CRM refuses it. */
  readonly insert: (n: number) => void;
  /** Called after a run's inserts, before the run: typically moves a manual clock past the safety lag. */
  readonly beforeRun?: () => void;
  /** A new connector from the one configuration, as a scheduler builds one per run; closed after the run. */
  readonly connector: () => CrmConnector;
  /** How many requests the CRM has logged so far. */
  readonly requestCount: () => number;
  /** The requests logged since position `from`, counted by kind (route, "token", "metadata"...). */
  readonly requestsSince: (from: number) => Readonly<Record<string, number>>;
}

/** What {@link measureSteadyStateImports} saw. */
export interface SteadyStateResult {
  /** Per run, its requests by kind. */
  readonly perRun: readonly Readonly<Record<string, number>>[];
  /** Per run, the records it read (each run must read exactly the records inserted before it). */
  readonly read: readonly number[];
  /** Rows in the local table after the last run (every record inserted, once). */
  readonly rows: number;
}

/** Runs the job once per element of `changes`, each through a fresh connector, and counts each run's requests. */
export async function measureSteadyStateImports(options: SteadyStateOptions): Promise<SteadyStateResult> {
  const stores = new MemoryOptionStore();
  const records = new MemoryRecordStore();
  const perRun: Record<string, number>[] = [];
  const read: number[] = [];
  let inserted = 0;
  for (const count of options.changes) {
    for (let i = 0; i < count; i += 1) options.insert(inserted++);
    options.beforeRun?.();
    const from = options.requestCount();
    const connector = options.connector();
    try {
      const orchestrator = new Orchestrator({ connector, options: stores, journal: new MemoryExportJournal(), sink: records, source: records });
      const run = await orchestrator.runImport(options.job);
      if (run.isErr()) throw new Error(`steady-state run ${perRun.length + 1} failed: ${run.error.kind}: ${run.error.message}`);
      read.push(run.value.read);
    } finally {
      await connector.close?.();
    }
    perRun.push({ ...options.requestsSince(from) });
  }
  return { perRun, read, rows: records.rows(options.job.table).length };
}
