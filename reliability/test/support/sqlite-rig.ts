/**
 * An orchestrator over a SQLite store file (durable options, journal and local tables), with a
 * capturing logger and recording reject/error outputs: the production wiring, minus the CLI.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Orchestrator, type CrmConnector, type ErrorItem, type RejectItem, type RuntimeOptions } from '@crm-sync/sdk';
import { openSqliteStore, type SqliteStore } from '@crm-sync/store-sqlite';
import { capturingLogger, type CapturingLogger } from './capture.js';

/** What a test inspects after runs. */
export interface SqliteRig {
  readonly orchestrator: Orchestrator;
  readonly store: SqliteStore;
  readonly file: string;
  readonly logger: CapturingLogger;
  readonly rejects: RejectItem[];
  readonly errors: ErrorItem[];
}

/** A new temporary directory for a store file. */
export function tempStoreFile(name = 'crm-sync.sqlite'): string {
  return join(mkdtempSync(join(tmpdir(), 'crm-sync-reliability-')), name);
}

/**
 * Runtime retries without real waiting: the monotonic clock moves by each sleep, so Retry-After
 * is still honoured in the runtime's bookkeeping but costs no wall time.
 */
export function instantRuntime(extra: Partial<RuntimeOptions> = {}): RuntimeOptions {
  let now = 1_000_000;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += Math.max(0, ms);
    },
    retry: { minDelayMs: 0, maxDelayMs: 0 },
    ...extra,
  };
}

/** Opens (or reopens) `file` and builds an orchestrator over it for `connector` (runtime retries without real waits unless `runtime` says otherwise). */
export function sqliteRig(connector: CrmConnector, file: string, logger: CapturingLogger = capturingLogger(), runtime: RuntimeOptions = instantRuntime()): SqliteRig {
  const store = openSqliteStore(file)._unsafeUnwrap();
  const rejects: RejectItem[] = [];
  const errors: ErrorItem[] = [];
  const orchestrator = new Orchestrator({
    connector,
    options: store.options,
    journal: store.journal,
    sink: store.records,
    source: store.records,
    logger,
    rejects: { write: async (items) => void rejects.push(...items) },
    errors: { write: async (items) => void errors.push(...items) },
    runtime,
    sleep: async () => {},
  });
  return { orchestrator, store, file, logger, rejects, errors };
}
