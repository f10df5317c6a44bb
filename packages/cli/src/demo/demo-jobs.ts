/**
 * The demo's jobs: the same activities as the job files in `examples/`, so that after the demo
 * `crm-sync run examples/import-contacts.yaml --db <demo db>` continues incrementally where the
 * demo stopped.
 *
 * @module
 */
import type { DeleteJob, ExportJob, ImportDeletedJob, ImportJob, Instant } from '@crm-sync/sdk';

/** The local table the demo fills. */
export const DEMO_TABLE = 'contacts';

/** O1: contacts, incremental by automatic index (watermark `LASTIMPORT_default_importContacts`). */
export function demoImportJob(): ImportJob {
  return {
    kind: 'import',
    activity: 'importContacts',
    object: 'contact',
    table: DEMO_TABLE,
    timeZone: 'Europe/Amsterdam',
    processRejects: true,
    automaticIndex: { enabled: true },
    fields: [
      { remote: 'firstName', local: 'first_name' },
      { remote: 'lastName', local: 'last_name' },
      { remote: 'email', local: 'email' },
      { remote: 'phone', local: 'phone' },
      { remote: 'birthDate', local: 'birth_date', conversion: 'date-only' },
      { remote: 'lastActivityAt', local: 'last_activity_at' },
      { remote: 'score', local: 'score' },
      { remote: 'status', local: 'status' },
      { remote: 'accountId', local: 'account_id' },
    ],
  };
}

/** O2: the local rows with these keys back to the CRM; the sync key makes a resent insert harmless. */
export function demoExportJob(keys: readonly string[]): ExportJob {
  return {
    kind: 'export',
    activity: 'exportContacts',
    object: 'contact',
    table: DEMO_TABLE,
    mode: 'auto',
    syncKey: { remoteField: 'externalKey' },
    keys,
    timeZone: 'Europe/Amsterdam',
    processRejects: true,
    fields: [
      { remote: 'firstName', local: 'first_name' },
      { remote: 'lastName', local: 'last_name' },
      { remote: 'email', local: 'email' },
      { remote: 'phone', local: 'phone' },
      { remote: 'status', local: 'status' },
    ],
  };
}

/** O3: records deleted in the CRM between two instants (both included). */
export function demoImportDeletedJob(start: Instant, end: Instant): ImportDeletedJob {
  return { kind: 'import-deleted', activity: 'importDeletedContacts', object: 'contact', table: DEMO_TABLE, start, end };
}

/** O4: delete records in the CRM by id. */
export function demoDeleteJob(ids: readonly string[]): DeleteJob {
  return { kind: 'delete', activity: 'deleteContacts', object: 'contact', ids, processRejects: true };
}
