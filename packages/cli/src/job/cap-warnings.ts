/**
 * Sizes in a job file that the connector caps: a `pageSize` above its largest page, a `batchSize`
 * above its largest write. The run still works (the orchestrator uses the connector's maximum),
 * but the user asked for something else, so the CLI says so instead of capping silently.
 *
 * @module
 */
import type { ConnectorCapabilities } from '@crm-sync/sdk';
import type { LoadedJob } from './load-job.js';

/** One warning line per capped size, naming the job file, the key, the line and the maximum used. */
export function capWarnings(loaded: LoadedJob, connectorId: string, capabilities: ConnectorCapabilities): string[] {
  const job = loaded.job;
  const warnings: string[] = [];
  const warn = (key: 'pageSize' | 'batchSize', value: number, max: number, what: string) => {
    const line = loaded.source.lineOf([key]);
    warnings.push(
      `${loaded.source.path}: ${key}: ${value} is above the ${connectorId} connector's maximum of ${max} ${what}, so ${max} is used; set ${key}: ${max} or less to silence this${line === undefined ? '' : ` (line ${line})`}`,
    );
  };
  if (job.pageSize !== undefined && job.pageSize > capabilities.maxPageSize) {
    warn('pageSize', job.pageSize, capabilities.maxPageSize, 'records per page');
  }
  if (job.batchSize !== undefined) {
    if (job.operation === 'export' && job.batchSize > capabilities.maxUpsertBatch) warn('batchSize', job.batchSize, capabilities.maxUpsertBatch, 'records per write');
    if (job.operation === 'delete' && job.batchSize > capabilities.maxDeleteBatch) warn('batchSize', job.batchSize, capabilities.maxDeleteBatch, 'ids per delete call');
  }
  return warnings;
}
