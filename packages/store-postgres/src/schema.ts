/**
 * The crm-sync tables inside the store's PostgreSQL schema, created and migrated on open. Each
 * migration is one transaction, recorded in `crm_sync_migrations`; opening a schema migrated by a
 * newer release is refused rather than misread. Local record tables are created later, on first
 * use (see `local-tables.ts`).
 *
 * @module
 */
import type { PoolClient } from 'pg';
import { PostgresStoreError } from './errors.js';

/**
 * Names crm-sync uses for its own tables in the schema. A local table may not take one of them,
 * nor start with `crm_sync_` or `pg_`.
 */
export const RESERVED_TABLE_NAMES: readonly string[] = ['options', 'journal_runs', 'journal_entries', 'journal_chunks', 'local_tables'];

/** One step of the schema. */
interface Migration {
  readonly version: number;
  readonly description: string;
  /** SQL with `$S` standing for the quoted schema. */
  readonly sql: string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'options, export journal, local table registry, run leases',
    sql: `
CREATE TABLE $S.options (
  name       text PRIMARY KEY,
  value      text NOT NULL,
  meta       jsonb,
  updated_at text NOT NULL
);

CREATE TABLE $S.journal_runs (
  run_id      text PRIMARY KEY,
  job_id      text NOT NULL,
  status      text NOT NULL CHECK (status IN ('open', 'finished', 'failed')),
  started_at  text NOT NULL,
  finished_at text,
  summary     jsonb,
  created     bigserial
);
CREATE UNIQUE INDEX journal_runs_one_open_per_job ON $S.journal_runs (job_id) WHERE status = 'open';
CREATE INDEX journal_runs_by_job ON $S.journal_runs (job_id, started_at);

CREATE TABLE $S.journal_entries (
  run_id     text NOT NULL REFERENCES $S.journal_runs (run_id),
  seq        integer NOT NULL,
  local_key  text NOT NULL,
  sync_key   text,
  mode       text NOT NULL CHECK (mode IN ('insert', 'update', 'upsert')),
  crm_id     text,
  payload    jsonb NOT NULL,
  state      text NOT NULL CHECK (state IN ('pending', 'sent', 'committed', 'rejected', 'unknown')),
  action     text,
  reject     jsonb,
  batch_id   text,
  attempts   integer NOT NULL DEFAULT 0,
  updated_at text NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITH (fillfactor = 70);
-- No index on state: every batch step changes the state of its entries, and an index on it would
-- make each of those updates write index entries; without one (and with room left in each page)
-- they are HOT updates. Lists and counts per state scan the run's range of the primary key.

CREATE TABLE $S.crm_sync_leases (
  key         text PRIMARY KEY,
  token       bigint NOT NULL,
  host        text NOT NULL,
  pid         integer NOT NULL,
  run_id      text NOT NULL,
  acquired_at timestamptz NOT NULL,
  renewed_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  released    boolean NOT NULL DEFAULT false
);

CREATE TABLE $S.local_tables (
  name       text PRIMARY KEY,
  created_at text NOT NULL
);
`,
  },
  {
    version: 2,
    description: 'run history: runs, progress samples, rejects',
    sql: `
CREATE TABLE $S.crm_sync_runs (
  run_id         text PRIMARY KEY,
  job_id         text NOT NULL,
  activity       text NOT NULL,
  operation      text NOT NULL,
  connector      text,
  account        text,
  host           text NOT NULL,
  pid            integer NOT NULL,
  started_at     timestamptz NOT NULL,
  status         text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
  ended_at       timestamptz,
  counts         jsonb NOT NULL,
  api_calls      jsonb NOT NULL,
  run_window     jsonb,
  variables      jsonb NOT NULL DEFAULT '{}'::jsonb,
  error          jsonb,
  journal_run_id text,
  notes          jsonb NOT NULL DEFAULT '[]'::jsonb,
  next_reject    integer NOT NULL DEFAULT 0,
  next_sample    integer NOT NULL DEFAULT 0,
  recorded       bigserial
);
CREATE INDEX crm_sync_runs_by_start ON $S.crm_sync_runs (started_at DESC, recorded DESC);
CREATE INDEX crm_sync_runs_by_job ON $S.crm_sync_runs (job_id, started_at DESC);

CREATE TABLE $S.crm_sync_run_samples (
  run_id text NOT NULL REFERENCES $S.crm_sync_runs (run_id) ON DELETE CASCADE,
  seq    integer NOT NULL,
  sample jsonb NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE $S.crm_sync_run_rejects (
  run_id    text NOT NULL REFERENCES $S.crm_sync_runs (run_id) ON DELETE CASCADE,
  seq       integer NOT NULL,
  code      text NOT NULL,
  symbol    text,
  message   text NOT NULL,
  fields    jsonb NOT NULL,
  local_key text,
  crm_id    text,
  PRIMARY KEY (run_id, seq)
);
`,
  },
  {
    version: 3,
    description: 'export journal entries stored by chunk (journal_chunks) instead of one row each',
    // Each run's entries are regrouped 200 by seq into chunk rows (layout: `journalChunks` of @crm-sync/sdk):
    // absent fields stay absent; an emptied payload ({}) of a settled entry is marked dropped.
    sql: `
CREATE TABLE $S.journal_chunks (
  run_id    text NOT NULL REFERENCES $S.journal_runs (run_id),
  first_seq integer NOT NULL,
  last_seq  integer NOT NULL,
  entries   text NOT NULL,
  states    text NOT NULL,
  payloads  text NOT NULL,
  pending   integer NOT NULL,
  sent      integer NOT NULL,
  committed integer NOT NULL,
  rejected  integer NOT NULL,
  unknown   integer NOT NULL,
  PRIMARY KEY (run_id, first_seq),
  CHECK (first_seq <= last_seq)
);

INSERT INTO $S.journal_chunks (run_id, first_seq, last_seq, entries, states, payloads, pending, sent, committed, rejected, unknown)
SELECT run_id, min(seq), max(seq),
  jsonb_object_agg(seq::text, CASE WHEN sync_key IS NULL THEN jsonb_build_array(local_key, mode) ELSE jsonb_build_array(local_key, mode, sync_key) END)::text,
  jsonb_build_object('e', jsonb_object_agg(seq::text, jsonb_build_array(
    array_position(ARRAY['pending', 'sent', 'committed', 'rejected', 'unknown'], state) - 1, attempts, updated_at, batch_id, crm_id, action, reject,
    CASE WHEN payload = '{}'::jsonb AND state IN ('committed', 'rejected') THEN 1 END)))::text,
  COALESCE(jsonb_object_agg(seq::text, payload) FILTER (WHERE NOT (payload = '{}'::jsonb AND state IN ('committed', 'rejected'))), '{}'::jsonb)::text,
  count(*) FILTER (WHERE state = 'pending'),
  count(*) FILTER (WHERE state = 'sent'),
  count(*) FILTER (WHERE state = 'committed'),
  count(*) FILTER (WHERE state = 'rejected'),
  count(*) FILTER (WHERE state = 'unknown')
FROM $S.journal_entries
GROUP BY run_id, seq / 200;

DROP TABLE $S.journal_entries;
`,
  },
  {
    version: 4,
    description: 'sent marks kept beside a chunk until the next step that rewrites it (journal_chunks.marks)',
    // One line per markSent step that touched the chunk and was not yet folded into its states:
    // the JSON array [batchId, updatedAt, seqs]. Readers fold them in order; a rewrite of the
    // states folds them and empties the column. Adding a column with a constant default does not
    // rewrite the table.
    sql: `
ALTER TABLE $S.journal_chunks ADD COLUMN marks text NOT NULL DEFAULT '';
`,
  },
  {
    version: 5,
    description: 'chunk states written as seqs and tuples (two arrays) instead of an object by seq',
    // No table changes: rows written before are read as they are and written the new way by the
    // next step that rewrites them. The version is raised so that an older release, which would
    // misread the new rows, refuses the schema instead. The comment documents the layout.
    sql: `
COMMENT ON COLUMN $S.journal_chunks.states IS 'crm-sync journal: {"U": [updatedAt texts], "B": [batch ids], "s": [seqs ascending], "t": [state tuples]} (journalChunks of @crm-sync/sdk); rows written before schema 5 hold {"U", "B", "e": {seq: tuple}}';
`,
  },
];

/** The schema version this release writes; a newer schema is refused. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Creates the schema and applies the missing migrations, under a transaction-scoped advisory lock
 * so that several processes opening one database at once migrate it once. Throws a
 * {@link PostgresStoreError} with code `schema-too-new` when a newer release migrated it.
 * `upTo` stops at an older version (tests of a migration build the schema an older release left).
 */
export async function migrate(client: PoolClient, schema: string, upTo: number = SCHEMA_VERSION): Promise<void> {
  const q = `"${schema}"`;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`crm-sync schema ${schema}`]);
    // Only when missing: CREATE SCHEMA needs CREATE on the database even with IF NOT EXISTS, and a
    // least-privilege role owns an existing schema without that privilege.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${q}.crm_sync_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const current = Number((await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${q}.crm_sync_migrations`)).rows[0]?.v ?? 0);
    if (current > SCHEMA_VERSION) {
      throw new PostgresStoreError(
        'schema-too-new',
        `Schema "${schema}" has crm-sync schema version ${current}, newer than this release understands (${SCHEMA_VERSION}); upgrade @crm-sync/store-postgres. Nothing was changed.`,
      );
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current || migration.version > upTo) continue;
      await client.query(migration.sql.replaceAll('$S', q));
      await client.query(`INSERT INTO ${q}.crm_sync_migrations (version, description) VALUES ($1, $2)`, [migration.version, migration.description]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
