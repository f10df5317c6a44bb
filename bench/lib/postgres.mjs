/**
 * PostgreSQL for the benchmark: the server of `CRM_SYNC_PG_URL` (default
 * `postgres://postgres@127.0.0.1:5432/test`), one throwaway schema per store. When the server
 * cannot be reached the scenario reports itself as skipped (one line saying why), unless
 * `CRM_SYNC_REQUIRE_SERVICES=1` (CI), where that is a crash.
 */
import { dropPostgresSchema, openPostgresStore } from '@crm-sync/store-postgres';
import { log, report } from './harness.mjs';

/** The server's URL. */
export const PG_URL = process.env.CRM_SYNC_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

let counter = 0;

/** Opens a store in a fresh schema; `drop()` removes it. Throws the store's error when opening fails. */
export async function freshPostgresStore(prefix) {
  const schema = `bench_${prefix}_${process.pid}_${counter++}`;
  const opened = await openPostgresStore(PG_URL, { schema });
  if (opened.isErr()) throw opened.error;
  const store = opened.value;
  return {
    store,
    async drop() {
      await store.close();
      const dropped = await dropPostgresSchema(PG_URL, schema);
      if (dropped.isErr()) throw dropped.error;
    },
  };
}

/**
 * Resolves when PostgreSQL answers; otherwise reports the scenario as skipped and exits (or
 * throws under CRM_SYNC_REQUIRE_SERVICES=1).
 */
export async function requirePostgres(id, title, target) {
  const opened = await openPostgresStore(PG_URL, { schema: `bench_probe_${process.pid}`, connectTimeoutMs: 3_000 });
  if (opened.isOk()) {
    await opened.value.close();
    await dropPostgresSchema(PG_URL, `bench_probe_${process.pid}`);
    return;
  }
  const reason = `PostgreSQL (CRM_SYNC_PG_URL) is not usable: ${opened.error.message}`;
  if (process.env.CRM_SYNC_REQUIRE_SERVICES === '1') throw new Error(`${reason} (CRM_SYNC_REQUIRE_SERVICES=1: a missing service fails the benchmark)`);
  log(`skipped: ${reason}`);
  report({
    id,
    title,
    line: { ratio: 'n/a', target },
    met: false,
    rows: [{ scenario: title, crmSync: 'skipped', baseline: '', ratio: 'n/a', apiCalls: '', lowerBound: '', peakRss: '', target: `>= ${target}`, verdict: 'skipped' }],
    details: { skipped: reason },
    notes: [`Skipped: ${reason}. Start PostgreSQL or set CRM_SYNC_PG_URL.`],
  });
  process.exit(0);
}
