/**
 * What a queued sync job carries: the job's definition and the name of the CRM account, never a
 * secret. The worker resolves the account (credentials, URLs) from its own accounts file and
 * environment, so Redis holds nothing that opens a CRM.
 *
 * @module
 */
import type { SyncOperation } from '@crm-sync/sdk';

/** Version of {@link SyncJobPayload}; a worker refuses a payload of another version. */
export const PAYLOAD_VERSION = 1;

/** The data of a queued sync job. */
export interface SyncJobPayload {
  /** Always {@link PAYLOAD_VERSION}. */
  readonly version: typeof PAYLOAD_VERSION;
  /** The account's name (the queue is the account's), resolved by the worker. */
  readonly account: string;
  /** The job's lease key, `<instance>/<activity>` (what `crm-sync runs` lists). */
  readonly jobKey: string;
  /**
   * The job's definition, as the worker's {@link PrepareRun} reads it: the CLI puts the job file's
   * YAML text here; an application may put its own form. Never secrets (the CLI refuses a job
   * file holding one before it is queued).
   */
  readonly definition: unknown;
  /** The job's activity, for the run history when the definition cannot be read. */
  readonly activity?: string;
  /** The job's operation, for the run history when the definition cannot be read. */
  readonly operation?: SyncOperation;
  /** Where the definition came from (a job file's name), for messages. */
  readonly source?: string;
}

/** Checks that `data` is a {@link SyncJobPayload}; returns what is wrong, or `undefined`. */
export function payloadProblem(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return 'the job data is not an object';
  const payload = data as Partial<SyncJobPayload>;
  if (payload.version !== PAYLOAD_VERSION) return `the job data has version ${String(payload.version)}, this worker reads version ${PAYLOAD_VERSION}; run workers and enqueuers of the same crm-sync version`;
  if (typeof payload.account !== 'string' || payload.account === '') return 'the job data names no account';
  if (typeof payload.jobKey !== 'string' || payload.jobKey === '') return 'the job data has no job key';
  if (payload.definition === undefined) return 'the job data has no definition';
  return undefined;
}
