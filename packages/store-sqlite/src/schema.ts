/**
 * The crm-sync tables inside the SQLite file, created on open. Local record tables are created
 * later, on first use (see `local-tables.ts`).
 *
 * @module
 */
import { journalChunks } from '@crm-sync/sdk';
import type { Database } from 'better-sqlite3';
import type { JournalState, Reject, WriteAction, WriteMode } from '@crm-sync/sdk';

// The chunk layout is shared with the other database store (see `journalChunks` of @crm-sync/sdk).
const { CHUNK_ENTRIES, legacyChunk } = journalChunks;
type LegacyEntry = journalChunks.LegacyEntry;

/**
 * Schema version written to `PRAGMA user_version`; a newer file is refused rather than misread.
 * 2 added `crm_sync_leases` (run leases and fencing tokens); 3 added the run history
 * (`crm_sync_runs`, `crm_sync_run_samples`, `crm_sync_run_rejects`); 4 moved the journal's payloads
 * into `journal_payloads` (a batch step then rewrites only the narrow entry row, never the
 * values) and dropped the index on the entries' state (every step changes the state; lists and
 * counts scan the run's range of the primary key); 5 keeps the journal's entries by chunk in
 * `journal_chunks` (see `journalChunks` of @crm-sync/sdk; `journal_entries` and `journal_payloads` are converted
 * and dropped); 6 added `crm_sync_journal_marks` (a batch's sent mark as a row of its own, folded
 * into the chunks by the next step that writes them); 7 writes a chunk's states as its seqs and
 * their tuples (two arrays, see `journalChunks.ChunkStates`) instead of an object by seq: no table
 * changes, and the rows a version 6 file holds are read as they are (and written the new way by the
 * next step that rewrites them), but a version 6 release would misread the new ones, so it is
 * refused the file. An older file gains what it lacks on open; its data is kept.
 */
export const SCHEMA_VERSION = 7;

/**
 * Names crm-sync uses for its own tables. A local table may not take one of them (compared
 * case-insensitively, as SQLite does).
 */
export const RESERVED_TABLE_NAMES: readonly string[] = ['options', 'journal_runs', 'journal_entries', 'journal_payloads', 'journal_chunks', 'local_tables'];

const CREATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS options (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  meta       TEXT,
  updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS journal_runs (
  run_id      TEXT PRIMARY KEY,
  job_id      TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('open', 'finished', 'failed')),
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  summary     TEXT
);
-- At most one open run per job: resuming must find exactly one.
CREATE UNIQUE INDEX IF NOT EXISTS journal_runs_one_open_per_job ON journal_runs (job_id) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS journal_runs_by_job ON journal_runs (job_id, started_at);

-- Entries by chunk of up to 200 (journalChunks of @crm-sync/sdk): keys, changing states and the values still
-- kept as JSON text, and the entries per state. The values of a settled entry are dropped
-- (personal data is not kept for audit; keys, ids and outcomes are).
CREATE TABLE IF NOT EXISTS journal_chunks (
  run_id    TEXT NOT NULL REFERENCES journal_runs (run_id),
  first_seq INTEGER NOT NULL,
  last_seq  INTEGER NOT NULL,
  entries   TEXT NOT NULL,
  states    TEXT NOT NULL,
  payloads  TEXT NOT NULL,
  pending   INTEGER NOT NULL,
  sent      INTEGER NOT NULL,
  committed INTEGER NOT NULL,
  rejected  INTEGER NOT NULL,
  unknown   INTEGER NOT NULL
);
-- A rowid table with a covering index of the seq ranges: finding the chunks of a range scans the
-- index only (in a WITHOUT ROWID table each row visited is read whole, JSON included: 7 ms per
-- lookup at 500 chunks). A run's chunks start at distinct seqs (a new chunk starts at a seq the run
-- did not hold).
CREATE UNIQUE INDEX IF NOT EXISTS journal_chunks_by_seq ON journal_chunks (run_id, first_seq, last_seq);

-- Sent marks not yet folded into the chunks they touch: one row per markSent step, the batch's
-- seqs as a JSON array. A mark is durable before its batch is sent, like the chunk rewrite it
-- replaces, and costs one small insert instead of a rewrite of the chunk. The next step that
-- writes one of its chunks folds it into all of them (in id order) and deletes it; readers fold the
-- marks still here over what they read. A closed run has none.
CREATE TABLE IF NOT EXISTS crm_sync_journal_marks (
  id         INTEGER PRIMARY KEY,
  run_id     TEXT NOT NULL REFERENCES journal_runs (run_id),
  first_seq  INTEGER NOT NULL,
  last_seq   INTEGER NOT NULL,
  batch_id   TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  seqs       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS crm_sync_journal_marks_by_run ON crm_sync_journal_marks (run_id, first_seq);

-- One row per job: the run lease. Kept after release, so a token is never reused.
CREATE TABLE IF NOT EXISTS crm_sync_leases (
  key         TEXT PRIMARY KEY,
  token       INTEGER NOT NULL,
  host        TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  run_id      TEXT NOT NULL,
  acquired_at TEXT NOT NULL,
  renewed_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  released    INTEGER NOT NULL DEFAULT 0 CHECK (released IN (0, 1))
);

-- The run history: one row per run (not per dry run), counts as columns so plain SQL can sum them.
CREATE TABLE IF NOT EXISTS crm_sync_runs (
  run_id             TEXT PRIMARY KEY,
  job_id             TEXT NOT NULL,
  activity           TEXT NOT NULL,
  operation          TEXT NOT NULL,
  connector          TEXT,
  account            TEXT,
  host               TEXT NOT NULL,
  pid                INTEGER NOT NULL,
  started_at         TEXT NOT NULL,
  started_ms         INTEGER NOT NULL,
  ended_at           TEXT,
  status             TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
  read_count         INTEGER NOT NULL DEFAULT 0,
  written_count      INTEGER NOT NULL DEFAULT 0,
  created_count      INTEGER NOT NULL DEFAULT 0,
  updated_count      INTEGER NOT NULL DEFAULT 0,
  deleted_count      INTEGER NOT NULL DEFAULT 0,
  unchanged_count    INTEGER NOT NULL DEFAULT 0,
  skipped_count      INTEGER NOT NULL DEFAULT 0,
  rejected_count     INTEGER NOT NULL DEFAULT 0,
  error_count        INTEGER NOT NULL DEFAULT 0,
  api_calls          INTEGER NOT NULL DEFAULT 0,
  retries            INTEGER NOT NULL DEFAULT 0,
  rate_limit_wait_ms INTEGER NOT NULL DEFAULT 0,
  api_calls_by_kind  TEXT NOT NULL DEFAULT '{}',
  window_start       TEXT,
  window_end         TEXT,
  crm_option_name    TEXT,
  crm_start_import   TEXT,
  crm_end_date       TEXT,
  error_kind         TEXT,
  error_message      TEXT,
  journal_run_id     TEXT,
  notes              TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS crm_sync_runs_by_start ON crm_sync_runs (started_ms);
CREATE INDEX IF NOT EXISTS crm_sync_runs_by_job ON crm_sync_runs (job_id, started_ms);

CREATE TABLE IF NOT EXISTS crm_sync_run_samples (
  run_id             TEXT NOT NULL,
  seq                INTEGER NOT NULL,
  at                 TEXT NOT NULL,
  elapsed_ms         INTEGER NOT NULL,
  phase              TEXT,
  read_count         INTEGER NOT NULL,
  written_count      INTEGER NOT NULL,
  rejected_count     INTEGER NOT NULL,
  api_calls          INTEGER NOT NULL,
  retries            INTEGER NOT NULL,
  rate_limit_wait_ms INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS crm_sync_run_rejects (
  run_id    TEXT NOT NULL,
  seq       INTEGER NOT NULL,
  code      TEXT NOT NULL,
  symbol    TEXT,
  message   TEXT NOT NULL,
  fields    TEXT NOT NULL,
  local_key TEXT,
  crm_id    TEXT,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS local_tables (
  name       TEXT PRIMARY KEY COLLATE NOCASE,
  created_at TEXT NOT NULL
);
`;

/**
 * Version 3 -> 4: payloads move to `journal_payloads`, the state index goes. `DROP COLUMN`
 * rewrites `journal_entries` once; it runs inside the upgrade transaction, so a kill leaves the
 * file at version 3, whole.
 */
const MOVE_PAYLOADS_OUT_OF_ENTRIES = `
CREATE TABLE journal_payloads (
  run_id  TEXT NOT NULL,
  seq     INTEGER NOT NULL,
  payload TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
INSERT INTO journal_payloads (run_id, seq, payload) SELECT run_id, seq, payload FROM journal_entries;
DROP INDEX IF EXISTS journal_entries_by_state;
ALTER TABLE journal_entries DROP COLUMN payload;
`;

/**
 * Creates the crm-sync tables if missing and stamps the schema version. Throws when the file was
 * written by a newer schema, so an old release never corrupts a newer file. Every statement is
 * `IF NOT EXISTS`, so this is also the migration from versions 1 and 2 (it adds `crm_sync_leases`
 * and the run-history tables); from a version 1 to 3 file, the journal's payloads first move to
 * their own table. A file already at this version is not
 * written to at all.
 */
export function ensureSchema(db: Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `the file has crm-sync schema version ${version}, newer than this release understands (${SCHEMA_VERSION}); upgrade @crm-sync/store-sqlite`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  // IMMEDIATE: several processes may open one file at once (two runs started together); a
  // deferred transaction that upgrades from read to write would fail at once with SQLITE_BUSY
  // instead of waiting for the busy timeout.
  db.transaction(() => {
    const splitPayloads = version > 0 && version < 4;
    if (splitPayloads) db.exec(MOVE_PAYLOADS_OUT_OF_ENTRIES);
    db.exec(CREATE_SCHEMA);
    if (version > 0 && version < 5) moveEntriesIntoChunks(db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/**
 * Version 4 -> 5: each run's entries (with their payloads) regrouped 200 by seq into chunk rows,
 * every field kept, absent fields absent, values already dropped still dropped; then the old tables
 * go. Inside the upgrade transaction: a kill leaves the file at version 4, whole.
 */
function moveEntriesIntoChunks(db: Database): void {
  const rows = db
    .prepare<[], LegacyRow>(
      `SELECT e.run_id, e.seq, e.local_key, e.sync_key, e.mode, e.crm_id, p.payload, e.state, e.action, e.reject, e.batch_id, e.attempts, e.updated_at
       FROM journal_entries e LEFT JOIN journal_payloads p ON p.run_id = e.run_id AND p.seq = e.seq ORDER BY e.run_id, e.seq`,
    )
    .all();
  const insert = db.prepare(
    `INSERT INTO journal_chunks (run_id, first_seq, last_seq, entries, states, payloads, pending, sent, committed, rejected, unknown)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const write = (runId: string, entries: LegacyEntry[]): void => {
    const chunk = legacyChunk(entries);
    insert.run(runId, chunk.firstSeq, chunk.lastSeq, chunk.entries, chunk.states, chunk.payloads, ...chunk.counts);
  };
  let group: LegacyEntry[] = [];
  let key = '';
  let runId = '';
  for (const row of rows) {
    const rowKey = `${row.run_id}\u0000${Math.floor(row.seq / CHUNK_ENTRIES)}`;
    if (rowKey !== key && group.length > 0) {
      write(runId, group);
      group = [];
    }
    key = rowKey;
    runId = row.run_id;
    group.push({
      seq: row.seq,
      localKey: row.local_key,
      syncKey: row.sync_key,
      mode: row.mode,
      crmId: row.crm_id,
      payload: row.payload,
      state: row.state,
      action: row.action,
      reject: row.reject === null ? null : (JSON.parse(row.reject) as Reject),
      batchId: row.batch_id,
      attempts: row.attempts,
      updatedAt: row.updated_at,
    });
  }
  if (group.length > 0) write(runId, group);
  db.exec('DROP TABLE journal_payloads; DROP TABLE journal_entries;');
}

interface LegacyRow {
  readonly run_id: string;
  readonly seq: number;
  readonly local_key: string;
  readonly sync_key: string | null;
  readonly mode: WriteMode;
  readonly crm_id: string | null;
  readonly payload: string | null;
  readonly state: JournalState;
  readonly action: WriteAction | null;
  readonly reject: string | null;
  readonly batch_id: string | null;
  readonly attempts: number;
  readonly updated_at: string;
}
