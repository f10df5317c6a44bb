/**
 * The exit codes of the `crm-sync` command, documented in `docs/cli.md`. Scripts branch on them,
 * so they never change meaning.
 *
 * @module
 */

/** Exit codes of `crm-sync`. */
export const ExitCode = {
  /** The command did what it was asked. */
  ok: 0,
  /** The run started and failed (CRM error, store error, in-doubt records, ...). */
  runFailed: 1,
  /** The input is wrong (job file, accounts, arguments); nothing was changed. */
  invalidInput: 2,
  /** The run finished but some records were rejected, and `--fail-on-rejects` was given. */
  finishedWithRejects: 3,
  /**
   * Another run of the same job holds its lease (still running, on this or another host); this
   * run read and wrote nothing. Wait with `--wait <duration>`, or run again later.
   */
  jobRunning: 4,
  /**
   * Interrupted by Ctrl-C (SIGINT), 128 + 2 as shells report it: the run stopped at the next safe
   * point, said what it left (an export's open run and how to resume it), and exited.
   */
  interrupted: 130,
} as const;

/** One of the {@link ExitCode} values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
