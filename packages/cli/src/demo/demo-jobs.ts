/**
 * The demo's jobs: the same activities as the job files in `examples/`, so that after the demo
 * `crm-sync run examples/import-contacts.yaml --db <demo db>` continues incrementally where the
 * demo stopped.
 *
 * @module
 */
import type { DeleteJob, ExportJob, ImportDeletedJob, ImportJob, Instant } from '@crm-sync/sdk';
import type { DemoProfile } from './demo-profile.js';

/** The local table the demo fills. */
export const DEMO_TABLE = 'contacts';

/** A field mapping when the CRM has the field, else nothing. */
function optionalField(remote: string | undefined, local: string): { remote: string; local: string }[] {
  return remote === undefined ? [] : [{ remote, local }];
}

/** O1: contacts, incremental by automatic index (watermark `LASTIMPORT_default_importContacts`). */
export function demoImportJob(profile: DemoProfile): ImportJob {
  const f = profile.contactFields;
  return {
    kind: 'import',
    activity: 'importContacts',
    object: profile.contact,
    table: DEMO_TABLE,
    timeZone: 'Europe/Amsterdam',
    processRejects: true,
    automaticIndex: { enabled: true },
    fields: [
      { remote: f.firstName, local: 'first_name' },
      { remote: f.lastName, local: 'last_name' },
      { remote: f.email, local: 'email' },
      ...optionalField(f.phone, 'phone'),
      { remote: f.birthDate, local: 'birth_date', conversion: 'date-only' },
      ...optionalField(f.lastActivityAt, 'last_activity_at'),
      ...optionalField(f.score, 'score'),
      { remote: f.status, local: 'status' },
      ...optionalField(f.accountId, 'account_id'),
    ],
  };
}

/** O2: the local rows with these keys back to the CRM; the sync key makes a resent insert harmless. */
export function demoExportJob(profile: DemoProfile, keys: readonly string[]): ExportJob {
  const f = profile.contactFields;
  return {
    kind: 'export',
    activity: 'exportContacts',
    object: profile.contact,
    table: DEMO_TABLE,
    mode: 'auto',
    syncKey: { remoteField: profile.syncKey },
    keys,
    timeZone: 'Europe/Amsterdam',
    processRejects: true,
    fields: [
      { remote: f.firstName, local: 'first_name' },
      { remote: f.lastName, local: 'last_name' },
      { remote: f.email, local: 'email' },
      ...optionalField(f.phone, 'phone'),
      { remote: f.status, local: 'status' },
    ],
  };
}

/** O3: records deleted in the CRM between two instants (both included). */
export function demoImportDeletedJob(profile: DemoProfile, start: Instant, end: Instant): ImportDeletedJob {
  return { kind: 'import-deleted', activity: 'importDeletedContacts', object: profile.contact, table: DEMO_TABLE, start, end };
}

/** O4: delete records in the CRM by id. */
export function demoDeleteJob(profile: DemoProfile, ids: readonly string[]): DeleteJob {
  return { kind: 'delete', activity: 'deleteContacts', object: profile.contact, ids, processRejects: true };
}
