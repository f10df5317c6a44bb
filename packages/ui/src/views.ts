/**
 * The JSON shapes of the API (version 1): run records as stored, plus what a reader would compute
 * every time (duration, records done). Field names follow the SDK's types so that a tool reading
 * the API reads the same names as one reading the store.
 *
 * @module
 */
import type { JournalEntry, JournalRun, JournalState, RunRecord } from '@crm-sync/sdk';

/** A run as the API returns it: the stored record, its duration and its records done. */
export interface RunView extends RunRecord {
  /** End minus start in ms; absent while the run runs. */
  readonly durationMs?: number;
  /** Records done on the target side: written, created, updated, unchanged and deleted. */
  readonly records: number;
  /**
   * For a `running` run, whether its process still holds the job's lease (`false`: it died
   * without recording its end). Absent for ended runs, or when the store has no leases.
   */
  readonly live?: boolean;
}

/** A journal entry as the API returns it: without its payload (the record's values stay in the store). */
export type JournalEntryView = Omit<JournalEntry, 'payload'>;

/** An export's journal: its run, its counts per state, and the command that resumes it while open. */
export interface JournalView {
  readonly run: JournalRun;
  readonly counts: Readonly<Record<JournalState, number>>;
  /** For an open journal whose run is not live: the command that resumes it. */
  readonly resumeCommand?: string;
}

/** The view of a stored run. */
export function runView(run: RunRecord, live?: boolean): RunView {
  const c = run.counts;
  const durationMs = run.endedAt === undefined ? undefined : Date.parse(run.endedAt) - Date.parse(run.startedAt);
  return {
    ...run,
    ...(durationMs === undefined ? {} : { durationMs }),
    records: c.written + c.created + c.updated + c.unchanged + c.deleted,
    ...(live === undefined ? {} : { live }),
  };
}

/** An entry without its payload. */
export function journalEntryView(entry: JournalEntry): JournalEntryView {
  const { payload: _payload, ...rest } = entry;
  return rest;
}
