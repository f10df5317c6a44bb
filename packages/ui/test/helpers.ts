/**
 * Stores for the dashboard's tests, each seeded with the same runs: in memory, a SQLite file, and
 * a PostgreSQL schema of its own (skipped with one line when the server is unreachable, failed
 * with CRM_SYNC_REQUIRE_SERVICES=1). Plus a small GET helper.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryExportJournal, MemoryLeaseStore, MemoryOptionStore, MemoryRunHistory, type RunSample } from '@crm-sync/sdk';
import { dropPostgresSchema, openPostgresStore } from '@crm-sync/store-postgres';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { POSTGRES_SERVICE, requireService } from '@crm-sync/testkit';
import type { UiStore } from '../src/index.js';

/** A store under test and how to put it away. */
export interface TestStore extends UiStore {
  readonly leases: NonNullable<UiStore['leases']>;
  close(): Promise<void>;
}

/** Builds one kind of store. */
export interface StoreFactory {
  readonly name: string;
  /** `undefined` when the kind is not available here (PostgreSQL down). */
  open(): Promise<TestStore>;
}

/** The PostgreSQL URL, or `undefined` (then the PostgreSQL cases are skipped with one line). */
export const pgUrl: string | undefined = await requireService(POSTGRES_SERVICE);

const cleanups: (() => Promise<void> | void)[] = [];

/** Puts away every store opened by the factories (call in afterAll). */
export async function cleanUpStores(): Promise<void> {
  for (const cleanup of cleanups.splice(0)) await cleanup();
}

/** Memory and SQLite always; PostgreSQL when reachable. */
export function storeFactories(): StoreFactory[] {
  const factories: StoreFactory[] = [
    {
      name: 'memory',
      async open() {
        const leases = new MemoryLeaseStore();
        return { history: new MemoryRunHistory(leases), journal: new MemoryExportJournal(), options: new MemoryOptionStore(), leases, close: async () => {} };
      },
    },
    {
      name: 'sqlite',
      async open() {
        const dir = mkdtempSync(join(tmpdir(), 'crm-sync-ui-'));
        cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
        const store = openSqliteStore(join(dir, 'ui.sqlite'), { synchronous: 'NORMAL' })._unsafeUnwrap();
        return { history: store.history, journal: store.journal, options: store.options, leases: store.leases, close: async () => store.close() };
      },
    },
  ];
  const url = pgUrl;
  if (url !== undefined) {
    factories.push({
      name: 'postgres',
      async open() {
        const schema = `t_ui_${randomBytes(4).toString('hex')}`;
        const opened = await openPostgresStore(url, { schema });
        if (opened.isErr()) throw opened.error;
        const store = opened.value;
        cleanups.push(async () => {
          await dropPostgresSchema(url, schema);
        });
        return { history: store.history, journal: store.journal, options: store.options, leases: store.leases, close: () => store.close() };
      },
    });
  }
  return factories;
}

/** A sample of the seeded import run, second `i`. */
function sample(i: number, retries: number, waitMs: number): RunSample {
  return { at: new Date(Date.UTC(2024, 0, 10, 3, 0, i)).toISOString(), elapsedMs: i * 1000, read: i * 100, written: i * 100, rejected: i, apiCalls: i + 1, retries, rateLimitWaitMs: waitMs };
}

/** Rejects the seeded import run has. */
export const SEEDED_REJECTS = 250;

/**
 * Seeds the runs every API test reads: an import of `default/contacts-in` (samples with a retry
 * and a rate-limit wait, {@link SEEDED_REJECTS} rejects, window and variables, its watermark), a
 * finished export with its journal (4 committed, 1 rejected), a failed delete, and an export still
 * running (an open journal, no lease: its process is gone).
 */
export async function seed(store: TestStore): Promise<void> {
  const h = store.history;
  await h.startRun({ runId: 'imp-1', jobId: 'default/contacts-in', activity: 'contacts-in', operation: 'import', connector: 'mock', account: 'demo', host: 'h1', pid: 11, startedAt: '2024-01-10T03:00:00.000Z' });
  await h.recordProgress('imp-1', {
    samples: [sample(0, 0, 0), sample(1, 0, 0), sample(2, 1, 0), sample(3, 1, 1500), sample(4, 1, 1500)],
    rejects: Array.from({ length: SEEDED_REJECTS }, (_, i) => ({
      code: i % 5 === 0 ? ('duplicate' as const) : ('validation' as const),
      ...(i % 5 === 0 ? { symbol: 'DUPLICATE_VALUE' } : { symbol: 'INVALID_EMAIL_ADDRESS' }),
      message: i % 5 === 0 ? `duplicate value found: "row, ${i}"` : `Email: invalid address for row ${i}`,
      fields: i % 5 === 0 ? [] : ['Email'],
      localKey: `k-${i}`,
      ...(i % 2 === 0 ? { crmId: `003${String(i).padStart(5, '0')}` } : {}),
    })),
  });
  await h.finishRun('imp-1', {
    status: 'succeeded',
    endedAt: '2024-01-10T03:00:04.500Z',
    counts: { read: 400, written: 400 - SEEDED_REJECTS, created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, rejected: SEEDED_REJECTS, errors: 0 },
    apiCalls: { total: 5, retries: 1, rateLimitWaitMs: 1500, byKind: { query: 4, describe: 1 } },
    window: { start: '2024-01-09T03:00:00.000Z', end: '2024-01-10T02:59:00.000Z' },
    variables: { crmOptionName: 'LASTIMPORT_default_contacts-in', crmStartImport: '2024/01/09 03:00:00', crmEndDate: '2024/01/10 02:59:00' },
  });
  await store.options.setOption('LASTIMPORT_default_contacts-in', '2024-01-10T02:59:00.000Z', { runId: 'imp-1', records: 400 });

  const journal = await store.journal.startRun('default/contacts-out');
  await h.startRun({ runId: 'exp-1', jobId: 'default/contacts-out', activity: 'contacts-out', operation: 'export', connector: 'mock', host: 'h1', pid: 12, startedAt: '2024-01-10T04:00:00.000Z' });
  await store.journal.addPending(journal.runId, Array.from({ length: 5 }, (_, seq) => ({ seq, localKey: `p-${seq}`, mode: 'upsert' as const, payload: { Email: `p${seq}@example.test` } })));
  await store.journal.markSent(journal.runId, [0, 1, 2, 3, 4], 'b1');
  await store.journal.recordOutcomes(journal.runId, [
    ...[0, 1, 2, 3].map((seq) => ({ seq, state: 'committed' as const, crmId: `003E${seq}`, action: 'created' as const })),
    { seq: 4, state: 'rejected' as const, reject: { code: 'validation' as const, message: 'Email: invalid', fields: ['Email'], retryable: false } },
  ]);
  await store.journal.closeRun(journal.runId, 'finished');
  await h.finishRun('exp-1', { status: 'succeeded', endedAt: '2024-01-10T04:00:01.000Z', journalRunId: journal.runId });

  await h.startRun({ runId: 'del-1', jobId: 'eu/contacts-del', activity: 'contacts-del', operation: 'delete', host: 'h2', pid: 13, startedAt: '2024-01-11T00:00:00.000Z' });
  await h.finishRun('del-1', { status: 'failed', endedAt: '2024-01-11T00:00:02.000Z', error: { kind: 'crm', message: 'the CRM refused: INSUFFICIENT_ACCESS' } });

  const open = await store.journal.startRun('eu/contacts-out');
  await store.journal.addPending(open.runId, [{ seq: 0, localKey: 'q-0', mode: 'insert', payload: { Email: 'q0@example.test' } }]);
  await h.startRun({ runId: 'exp-2', jobId: 'eu/contacts-out', activity: 'contacts-out', operation: 'export', host: 'h2', pid: 14, startedAt: '2024-01-12T00:00:00.000Z' });
}

/** GETs `path` from the server; the token as Bearer when given. */
export async function get(base: string, path: string, token?: string): Promise<{ status: number; text: string; json: () => unknown; headers: Headers }> {
  const response = await fetch(`${base}${path}`, token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) as unknown, headers: response.headers };
}
