/**
 * How long an export journal keeps its closed runs. A finished run is kept for inspection and
 * audit (`crm-sync journal show`), not for recovery: only an open run is ever resumed. So closed
 * runs go after a retention, 30 days unless the store is told otherwise, and a run with an entry
 * in doubt is kept whatever its age.
 *
 * @module
 */
import type { Instant } from '../contract/values.js';

/** Days a closed export run is kept when the store is given no retention. */
export const DEFAULT_JOURNAL_RETENTION_DAYS = 30;

/**
 * A journal retention: whole or fractional days (> 0) after a run finished, or `'forever'` to
 * prune only on request (`ExportJournal.pruneRuns`, `crm-sync journal prune`).
 */
export type JournalRetention = number | 'forever';

const DAY_MS = 86_400_000;

/**
 * The `finishedBefore` instant of the automatic prune at `now`, or `undefined` for `'forever'`.
 * Throws on a retention that is not a positive number of days, naming the option.
 */
export function journalPruneCutoff(now: Date, retention: JournalRetention, option = 'journalRetentionDays'): Instant | undefined {
  if (retention === 'forever') return undefined;
  if (typeof retention !== 'number' || !Number.isFinite(retention) || retention <= 0) {
    throw new Error(`[crm-sync] [journal] ${option} must be a number of days > 0 or 'forever', got ${JSON.stringify(retention)}`);
  }
  return new Date(now.getTime() - retention * DAY_MS).toISOString();
}
