/**
 * Where deletions can be read: the `audits` entity set (operation 3 = delete) and change tracking
 * (`Prefer: odata.track-changes`, delta links with `$deletedEntity` entries).
 *
 * @module
 */
import { toInstant, type FieldDescription } from '@crm-sync/sdk';
import { checkQueryOptions, readSelect, serveCollection } from './collection.js';
import { errorResponse, jsonResponse, queryParameters, type EmulatorContext, type EmulatorRequest, type EmulatorResponse } from './http-types.js';
import { metadataId, tableFacts } from './metadata.js';
import type { WireRow } from './odata-evaluator.js';
import { EMULATOR_CODES } from './reject-codes.js';
import { renderRow, type Table } from './tables.js';

function auditField(name: string, type: FieldDescription['type']): FieldDescription {
  return { name, type, nullable: true, createable: false, updateable: false, filterable: true, sortable: true, externalId: false, primaryKey: name === 'auditid', required: false, ...(type === 'datetime' ? { timeSemantics: 'instant' as const } : {}) };
}

const AUDIT_FIELDS: ReadonlyMap<string, FieldDescription> = new Map(
  [
    auditField('auditid', 'id'),
    auditField('_objectid_value', 'reference'),
    auditField('objecttypecode', 'string'),
    auditField('operation', 'integer'),
    auditField('action', 'integer'),
    auditField('createdon', 'datetime'),
    auditField('_userid_value', 'reference'),
  ].map((field) => [field.name, field]),
);

/** The application user of the emulator, as audits and WhoAmI report it. */
export const EMULATOR_USER_ID = '99999999-0000-0000-0000-000000000001';

/**
 * The instant before which the organisation keeps no audit record: now minus the audit retention
 * (none when kept for ever), or later where the delete log was purged early
 * (`InMemoryCrm.purgeDeleted`). Deleted records older than the engine's `deletedRetentionDays`
 * are gone from the engine whatever the audit retention says: give the engine at least the audit
 * retention.
 */
function auditCutoff(context: EmulatorContext, now: string): string {
  let cutoff = context.auditRetentionDays > 0 ? toInstant(Date.parse(now) - context.auditRetentionDays * 86_400_000) : '0000-01-01T00:00:00.000Z';
  // The engine's own retention is not an audit setting; only an early purge of its delete log is.
  const engineCut = toInstant(Date.parse(now) - context.crm.deletedRetentionDays * 86_400_000);
  for (const summary of context.crm.listObjects()) {
    const purged = context.crm.earliestDeletedAvailable(summary.name);
    if (purged > engineCut && purged > cutoff) cutoff = purged;
  }
  return cutoff;
}

/**
 * `GET audits`: the organisation's oldest audit record still kept, and one delete audit row per
 * deleted record within the retention.
 *
 * A real organisation audits creates and updates as well, so its oldest audit record lies just
 * after the retention cut (or at the moment auditing was turned on, when that is later). The
 * emulator serves deletions only, so it stands in for all that history with one row: an update of
 * the organisation row at the later of `auditEnabledOn` and the cut.
 */
export function serveAudits(context: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  if (!context.auditReadable) return errorResponse(403, EMULATOR_CODES.privilegeDenied, "Principal user is missing prvReadAuditSummary privilege.");
  const rows: WireRow[] = [];
  const now = toInstant(context.crm.clock.now());
  const cutoff = auditCutoff(context, now);
  const oldest = context.auditEnabledOn > cutoff ? context.auditEnabledOn : cutoff;
  if (context.auditing && oldest <= now) {
    rows.push({
      auditid: metadataId('audit.organization.oldest'),
      _objectid_value: metadataId('organization'),
      objecttypecode: 'organization',
      operation: 2,
      action: 2,
      // Dataverse stamps audit records to the second; rounded up so the row stays within retention.
      createdon: `${toInstant(Math.ceil(Date.parse(oldest) / 1000) * 1000).slice(0, 19)}Z`,
      _userid_value: EMULATOR_USER_ID,
    });
  }
  for (const summary of context.crm.listObjects()) {
    const description = context.crm.describe(summary.name);
    if (description === undefined || !context.auditing || !tableFacts(description).auditEnabled) continue;
    for (const deleted of context.crm.deletedBetween(summary.name, cutoff, now)) {
      if (context.rolledBack.has(deleted.id)) continue;
      rows.push({
        auditid: metadataId(`audit.${summary.name}.${deleted.id}.${deleted.deletedAt}`),
        _objectid_value: deleted.id,
        objecttypecode: summary.name,
        operation: 3,
        action: 3,
        createdon: `${deleted.deletedAt.slice(0, 19)}Z`,
        _userid_value: EMULATOR_USER_ID,
      });
    }
  }
  return serveCollection(request, { apiBase: context.apiBase, entitySetName: 'audits', entityName: 'audit', primaryKey: 'auditid', fields: AUDIT_FIELDS, rows });
}

const ORGANIZATION_FIELDS: ReadonlyMap<string, FieldDescription> = new Map(
  [auditField('organizationid', 'id'), auditField('name', 'string'), auditField('isauditenabled', 'boolean'), auditField('auditretentionperiodv2', 'integer')].map((field) => [
    field.name,
    { ...field, primaryKey: field.name === 'organizationid' },
  ]),
);

/** `GET organizations`: the one organisation row, with its audit settings. */
export function serveOrganizations(context: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const row: WireRow = {
    organizationid: metadataId('organization'),
    name: 'Emulator',
    isauditenabled: context.auditing,
    auditretentionperiodv2: context.auditRetentionDays,
  };
  return serveCollection(request, { apiBase: context.apiBase, entitySetName: 'organizations', entityName: 'organization', primaryKey: 'organizationid', fields: ORGANIZATION_FIELDS, rows: [row] });
}

function deltaToken(at: string): string {
  return `${Date.parse(at)}!${at}`;
}

/** `GET entityset` with `Prefer: odata.track-changes` or `$deltatoken`. */
export function serveChangeTracking(context: EmulatorContext, request: EmulatorRequest, table: Table): EmulatorResponse {
  const params = queryParameters(request.url);
  for (const option of ['$filter', '$orderby', '$expand', '$top']) {
    if (params.has(option)) return errorResponse(400, EMULATOR_CODES.invalidArgument, `The "${option}" query parameter isn't supported when Change Tracking is enabled.`);
  }
  if (!tableFacts(table.description).changeTrackingEnabled) {
    return errorResponse(400, EMULATOR_CODES.invalidArgument, `Change tracking is not enabled for entity '${table.description.name}'.`);
  }
  const unsupported = checkQueryOptions(params, new Set(['$select', '$deltatoken']));
  if (unsupported !== undefined) return unsupported;
  const selected = readSelect(params.get('$select'), { fields: table.fields, entityName: table.description.name });
  if (selected !== undefined && !Array.isArray(selected)) return selected;
  const select = selected;
  const nowDate = context.crm.clock.now();
  const now = toInstant(nowDate);
  const token = params.get('$deltatoken');
  const since = token === undefined ? undefined : Number(token.split('!')[0]);
  if (since !== undefined && !Number.isFinite(since)) return errorResponse(400, EMULATOR_CODES.invalidArgument, 'The delta token is not valid.');
  if (since !== undefined && since < nowDate.getTime() - context.changeTrackingExpiryDays * 86_400_000) {
    return errorResponse(400, EMULATOR_CODES.changeTrackingTokenExpired, 'Change tracking token expired: it is older than the organisation keeps changes. Run a full synchronisation.');
  }
  const pick = (row: WireRow): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const name of select ?? Object.keys(row)) out[name] = row[name] ?? null;
    out[table.description.primaryKey] = row[table.description.primaryKey];
    return out;
  };
  const value: Record<string, unknown>[] = [];
  for (const record of context.crm.records(table.description.name)) {
    if (since === undefined || Date.parse(record.changedAt) >= since) value.push(pick(renderRow(table, record)));
  }
  if (since !== undefined) {
    const covered = context.deltaBoundaries.get(token as string) ?? new Set<string>();
    for (const deleted of context.crm.deletedBetween(table.description.name, toInstant(since), now)) {
      if (context.rolledBack.has(deleted.id)) continue;
      if (Date.parse(deleted.deletedAt) === since && covered.has(deleted.id)) continue;
      value.push({ '@odata.context': `${context.apiBase}$metadata#${table.entitySetName}/$deletedEntity`, id: deleted.id, reason: 'deleted' });
    }
  }
  const kept = select ? `$select=${encodeURIComponent(select.join(','))}&` : '';
  const next = deltaToken(now);
  context.deltaBoundaries.set(next, new Set(context.crm.deletedBetween(table.description.name, now, now).map((deleted) => deleted.id)));
  return jsonResponse(
    200,
    {
      '@odata.context': `${context.apiBase}$metadata#${table.entitySetName}${select ? `(${select.join(',')})` : ''}${since !== undefined ? '/$delta' : ''}`,
      '@odata.deltaLink': `${context.apiBase}${table.entitySetName}?${kept}$deltatoken=${encodeURIComponent(next)}`,
      value,
    },
    { 'Preference-Applied': 'odata.track-changes' },
  );
}
