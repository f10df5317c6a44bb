/**
 * What the dashboard reads: the run history, the export journal, the options (watermarks) and,
 * when there are, the leases (to tell a live run from one whose process died). Only read methods
 * are called: the server never writes to the store.
 *
 * @module
 */
import type { ExportJournal, LeaseStore, OptionStore, RunHistoryStore } from '@crm-sync/sdk';

/** The stores the dashboard reads (the CLI's `CliStore` is one). */
export interface UiStore {
  /** The run history. */
  readonly history: RunHistoryStore;
  /** The export journal. */
  readonly journal: ExportJournal;
  /** Options; the watermarks among them. */
  readonly options: OptionStore;
  /** Run leases; without them a `running` run is shown as running, live or not. */
  readonly leases?: LeaseStore;
}

/** Kinds of {@link StoreProblem}: why there is nothing to show. */
export type StoreProblemKind = 'empty' | 'newer-schema' | 'corrupt' | 'unreadable';

/**
 * Why the store cannot be shown: the database does not exist yet, was written by a newer
 * release, is damaged, or cannot be opened. The page shows it as a clear message, the API
 * answers 503 with it.
 */
export interface StoreProblem {
  readonly kind: StoreProblemKind;
  /** One line for a heading. */
  readonly title: string;
  /** What is wrong, where, and how to fix it. */
  readonly message: string;
}
