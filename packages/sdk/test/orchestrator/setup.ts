/** Builds an orchestrator over a harness with in-memory stores and recording outputs. */
import {
  MemoryExportJournal,
  MemoryOptionStore,
  MemoryRecordStore,
  Orchestrator,
  type ErrorItem,
  type ExportJob,
  type ImportJob,
  type Logger,
  type OrchestratorOptions,
  type RejectItem,
} from '../../src/index.js';
import type { Harness } from './harnesses.js';

/** Everything a test inspects. */
export interface Rig {
  readonly orchestrator: Orchestrator;
  readonly options: MemoryOptionStore;
  readonly journal: MemoryExportJournal;
  readonly records: MemoryRecordStore;
  readonly rejects: RejectItem[];
  readonly errors: ErrorItem[];
  readonly warnings: { fields: Record<string, unknown>; message?: string }[];
  readonly logger: Logger;
  /** Waits requested by the wait-and-retry policy. */
  readonly waits: number[];
}

/**
 * Runtime options on a fake monotonic clock: a sleep returns at once and moves the clock by its
 * length, so Retry-After pauses are honoured without tests waiting for real.
 */
export function fakeTime(): NonNullable<OrchestratorOptions['runtime']> {
  let now = 1_000_000;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += Math.max(0, ms);
    },
    retry: { minDelayMs: 0, maxDelayMs: 0 },
  };
}

/** An orchestrator whose stores are shared with `base` (a restart after a crash keeps the stores). */
export function makeRig(harness: Harness, overrides: Partial<OrchestratorOptions> = {}, base?: Rig): Rig {
  const options = base?.options ?? new MemoryOptionStore();
  const journal = base?.journal ?? new MemoryExportJournal();
  const records = base?.records ?? new MemoryRecordStore(options);
  const rejects: RejectItem[] = base?.rejects ?? [];
  const errors: ErrorItem[] = base?.errors ?? [];
  const warnings: Rig['warnings'] = base?.warnings ?? [];
  const waits: number[] = base?.waits ?? [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (fields, message) => warnings.push({ fields, ...(message === undefined ? {} : { message }) }),
    error: () => {},
  };
  const orchestrator = new Orchestrator({
    connector: harness.connector,
    options,
    journal,
    sink: records,
    source: records,
    logger,
    rejects: { write: async (items) => void rejects.push(...items) },
    errors: { write: async (items) => void errors.push(...items) },
    runtime: fakeTime(),
    sleep: async (ms) => void waits.push(ms),
    ...overrides,
  });
  return { orchestrator, options, journal, records, rejects, errors, warnings, logger, waits };
}

/** The export job the export tests start from: table `people` (last name, email) to the harness's contacts, mode auto. */
export function peopleExportJob(harness: Harness, overrides: Partial<ExportJob> = {}): ExportJob {
  const { names } = harness;
  return {
    kind: 'export',
    activity: 'exportContacts',
    object: names.object,
    table: 'people',
    mode: 'auto',
    fields: [
      { local: 'last_name', remote: names.lastName },
      { local: 'email', remote: names.email },
    ],
    ...overrides,
  };
}

/** The watermark option of {@link contactsImportJob}: `LASTIMPORT_<instance>_<activity>`. */
export const CONTACTS_IMPORT_OPTION = 'LASTIMPORT_default_importContacts';

/** The import job the import tests start from: last name and email, incremental, pages of 200. */
export function contactsImportJob(harness: Harness, overrides: Partial<ImportJob> = {}): ImportJob {
  const { names } = harness;
  return {
    kind: 'import',
    activity: 'importContacts',
    object: names.object,
    table: 'contacts',
    fields: [
      { remote: names.lastName, local: 'last_name' },
      { remote: names.email, local: 'email' },
    ],
    automaticIndex: { enabled: true, safetyLagMs: 1000 },
    pageSize: 200,
    ...overrides,
  };
}
