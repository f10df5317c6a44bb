// Schema version 3 moves the export journal from one row per entry (journal_entries) to chunk rows
// (journal_chunks). A schema an older release left, with runs in every state, must read back the
// same after the migration, and keep working: steps, closing, pruning, resuming.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openPostgresStore, SCHEMA_VERSION } from '../src/index.js';
import { migrate } from '../src/schema.js';
import { adminQuery, freshSchema, pgUrl } from './helpers.js';

/** A schema at version 2 (the per-entry journal) with two runs written as that release wrote them. */
async function version2Schema(): Promise<string> {
  const schema = freshSchema();
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await migrate(client as unknown as pg.PoolClient, schema, 2);
  } finally {
    await client.end();
  }
  const q = `"${schema}"`;
  await adminQuery(
    `INSERT INTO ${q}.journal_runs (run_id, job_id, status, started_at, finished_at, summary) VALUES
       ('open-run', 'default/export', 'open', '2026-01-01T00:00:00.000Z', NULL, NULL),
       ('old-run', 'default/export', 'finished', '2025-01-01T00:00:00.000Z', '2025-01-01T01:00:00.000Z', '{"note":"done"}')`,
  );
  // The open run: 450 entries (three chunks after the migration, the last one partial), in every state.
  await adminQuery(
    `INSERT INTO ${q}.journal_entries (run_id, seq, local_key, sync_key, mode, crm_id, payload, state, action, reject, batch_id, attempts, updated_at)
     SELECT 'open-run', i, 'k' || i, CASE WHEN i % 2 = 0 THEN 's' || i END, CASE WHEN i % 3 = 0 THEN 'insert' ELSE 'upsert' END,
       CASE WHEN i % 5 = 2 OR i % 10 = 0 THEN 'C' || i END,
       CASE WHEN i % 5 = 2 THEN '{}'::jsonb ELSE jsonb_build_object('n', i, 'name', 'Name ' || i, 'none', NULL) END,
       (ARRAY['pending', 'sent', 'committed', 'rejected', 'unknown'])[1 + i % 5],
       CASE WHEN i % 5 = 2 THEN 'created' END,
       CASE WHEN i % 5 = 3 THEN jsonb_build_object('code', 'invalid-value', 'message', 'bad ' || i, 'fields', jsonb_build_array('n')) END,
       CASE WHEN i % 5 <> 0 THEN 'b' || (i / 200) END,
       i % 5 AS attempts, '2026-01-01T00:00:0' || (i % 10) || '.000Z'
     FROM generate_series(0, 449) AS i`,
  );
  await adminQuery(
    `INSERT INTO ${q}.journal_entries (run_id, seq, local_key, mode, payload, state, attempts, updated_at)
     SELECT 'old-run', i, 'o' || i, 'upsert', '{}'::jsonb, 'committed', 1, '2025-01-01T00:30:00.000Z' FROM generate_series(0, 9) AS i`,
  );
  return schema;
}

/** The entries as version 2 held them, in the journal's shape (absent columns left out). */
async function entriesBefore(schema: string, runId: string): Promise<unknown[]> {
  const rows = await adminQuery<Record<string, unknown>>(
    `SELECT run_id, seq, local_key, sync_key, mode, crm_id, payload, state, action, reject, batch_id, attempts, updated_at FROM "${schema}".journal_entries WHERE run_id = $1 ORDER BY seq`,
    [runId],
  );
  const names: Record<string, string> = { run_id: 'runId', local_key: 'localKey', sync_key: 'syncKey', crm_id: 'crmId', batch_id: 'batchId', updated_at: 'updatedAt' };
  return rows.map((row) => Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null).map(([name, value]) => [names[name] ?? name, value])));
}

describe.skipIf(pgUrl === undefined)('export journal migration to chunk rows (schema version 3)', () => {
  it('an export journal written one row per entry reads back the same after the migration, absent fields absent', async () => {
    const schema = await version2Schema();
    const before = await entriesBefore(schema, 'open-run');
    const old = await entriesBefore(schema, 'old-run');
    const store = (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap();
    try {
      expect((await adminQuery<{ version: number }>(`SELECT max(version) AS version FROM "${schema}".crm_sync_migrations`))[0]!.version).toBe(SCHEMA_VERSION);
      expect(await adminQuery(`SELECT to_regclass('"${schema}".journal_entries') AS gone`)).toEqual([{ gone: null }]);
      expect(await store.journal.listEntries('open-run')).toEqual(before);
      expect(await store.journal.listEntries('old-run')).toEqual(old);
      expect(await store.journal.listEntries('open-run', { states: ['unknown', 'sent'], afterSeq: 200, limit: 7 })).toEqual(
        before.filter((entry) => ['unknown', 'sent'].includes((entry as { state: string }).state) && (entry as { seq: number }).seq > 200).slice(0, 7),
      );
      expect(await store.journal.countByState('open-run')).toEqual({ pending: 90, sent: 90, committed: 90, rejected: 90, unknown: 90 });
      expect(await store.journal.findOpenRun('default/export')).toMatchObject({ runId: 'open-run' });
    } finally {
      await store.close();
    }
  });

  it('a migrated run keeps working: steps apply, closing drops settled payloads, pruning keeps it while in doubt', async () => {
    const schema = await version2Schema();
    const store = (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap();
    try {
      const journal = store.journal;
      // Re-adding seqs the migrated run holds is ignored; a new seq is added.
      await journal.addPending('open-run', [
        { seq: 1, localKey: 'other', mode: 'upsert', payload: { n: -1 } },
        { seq: 450, localKey: 'k450', mode: 'upsert', payload: { n: 450 } },
      ]);
      const pending = await journal.listEntries('open-run', { states: ['pending'] });
      expect(pending.map((entry) => entry.seq)).toEqual([...Array.from({ length: 90 }, (_, i) => i * 5), 450]);
      expect(pending[1]).toEqual({ runId: 'open-run', seq: 5, localKey: 'k5', mode: 'upsert', payload: { n: 5, name: 'Name 5', none: null }, state: 'pending', attempts: 0, updatedAt: '2026-01-01T00:00:05.000Z' });
      expect(pending[2]).toMatchObject({ seq: 10, syncKey: 's10', crmId: 'C10' });
      await journal.markSent('open-run', [5, 10, 450], 'b-new');
      await journal.recordOutcomes('open-run', [
        { seq: 5, state: 'committed', action: 'updated' },
        { seq: 10, state: 'rejected', reject: { code: 'invalid-value', message: 'no', fields: [], retryable: false } },
        { seq: 450, state: 'committed', crmId: 'C450', action: 'created' },
      ]);
      expect(await journal.listEntries('open-run', { afterSeq: 449 })).toEqual([
        expect.objectContaining({ seq: 450, state: 'committed', crmId: 'C450', action: 'created', batchId: 'b-new', attempts: 1, payload: {} }),
      ]);
      expect((await journal.listEntries('open-run', { afterSeq: 9, limit: 1 }))[0]).toMatchObject({ seq: 10, state: 'rejected', attempts: 1, payload: { n: 10, name: 'Name 10', none: null } });
      expect(await journal.pruneRuns({ finishedBefore: '2099-01-01T00:00:00.000Z', dryRun: true })).toEqual({ runIds: ['old-run'], entries: 10, keptInDoubt: [] });
      await journal.closeRun('open-run', 'failed');
      const closed = await journal.listEntries('open-run');
      expect(closed.filter((entry) => entry.state === 'committed' || entry.state === 'rejected').every((entry) => Object.keys(entry.payload).length === 0)).toBe(true);
      expect(closed.find((entry) => entry.seq === 4)).toMatchObject({ state: 'unknown', payload: { n: 4, name: 'Name 4', none: null } });
      // The old run went with the close (past the retention); the closed one stays while in doubt.
      expect(await journal.listEntries('old-run')).toEqual([]);
      expect(await journal.pruneRuns({ finishedBefore: '2099-01-01T00:00:00.000Z' })).toEqual({ runIds: [], entries: 0, keptInDoubt: ['open-run'] });
      expect(await journal.countByState('open-run')).toEqual({ pending: 88, sent: 90, committed: 92, rejected: 91, unknown: 90 });
    } finally {
      await store.close();
    }
  });
});
