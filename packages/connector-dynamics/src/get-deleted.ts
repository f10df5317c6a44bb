/**
 * `getDeleted` from the `audits` table (operation 3 = delete), or, as an alternative, from change
 * tracking (`Prefer: odata.track-changes`, `$deletedEntity` entries in delta answers).
 *
 * Audit retention is an organisation setting the Web API does not expose, so it comes from the
 * configuration (`deletedRetentionDays`) and is checked against the server's clock (`Date`).
 *
 * @module
 */
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { crmError, parseInstant, toInstant, type CrmError, type DeletedPage, type DeletedRecord, type DeletedRequest, type ObjectDescription } from '@crm-sync/sdk';
import type { DeltaLinkStore, ResolvedDynamicsConfig } from './config.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { CONNECTOR_ID } from './errors.js';
import type { DataverseHttp } from './http.js';
import { vendorOf } from './mapping.js';
import { serverTimeOf } from './query.js';

const DAY_MS = 86_400_000;

/** Reads one page of deleted records. */
export function getDataverseDeleted(
  http: DataverseHttp,
  config: ResolvedDynamicsConfig,
  description: ObjectDescription,
  request: DeletedRequest,
  cursorText: string | undefined,
  deltaLinks: DeltaLinkStore,
  signal?: AbortSignal,
): ResultAsync<DeletedPage, CrmError> {
  const start = parseInstant(request.start);
  const end = parseInstant(request.end);
  if (start === undefined || end === undefined || start > end) {
    return errAsync(crmError('invalid-request', CONNECTOR_ID, `getDeleted: start (${request.start}) and end (${request.end}) must be ISO instants with start <= end`));
  }
  let nextLink: string | undefined;
  if (cursorText !== undefined) {
    const cursor = decodeCursor(cursorText);
    if (cursor.isErr()) return errAsync(cursor.error);
    nextLink = cursor.value.nextLink;
  }
  return config.deletedSource === 'change-tracking'
    ? fromChangeTracking(http, config, description, request, nextLink, deltaLinks, signal)
    : fromAudits(http, config, description, request, start, end, nextLink, signal);
}

function fromAudits(
  http: DataverseHttp,
  config: ResolvedDynamicsConfig,
  description: ObjectDescription,
  request: DeletedRequest,
  start: string,
  end: string,
  nextLink: string | undefined,
  signal?: AbortSignal,
): ResultAsync<DeletedPage, CrmError> {
  const vendor = vendorOf(description);
  if (!vendor.auditEnabled) {
    return errAsync(
      crmError('unsupported', CONNECTOR_ID, `getDeleted: auditing is off for table '${vendor.logicalName}', so Dataverse keeps no record of deletions; turn auditing on for the organisation and the table, or set deletedSource: 'change-tracking'`),
    );
  }
  const filter = `operation eq 3 and objecttypecode eq '${vendor.logicalName}' and createdon ge ${start} and createdon le ${end}`;
  const path = nextLink ?? `audits?$select=${encodeURIComponent('_objectid_value,createdon,operation')}&$filter=${encodeURIComponent(filter)}&$orderby=${encodeURIComponent('createdon asc,auditid asc')}`;
  const pageSize = Math.min(request.pageSize ?? config.pageSize, config.maxPageSize);
  return http
    .send({ method: 'GET', path, operation: 'GET audits', prefer: [`odata.maxpagesize=${pageSize}`], ...(signal ? { signal } : {}) })
    .mapErr((error) =>
      error.kind === 'permission'
        ? crmError('permission', CONNECTOR_ID, `getDeleted: the application user cannot read audits; give its security role the 'View Audit Summary' privilege (prvReadAuditSummary)`, {
            ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
            ...(error.vendorCode !== undefined ? { vendorCode: error.vendorCode } : {}),
          })
        : error,
    )
    .andThen((response) => {
      const now = serverTimeOf(response) ?? toInstant(config.now());
      const earliest = toInstant(Date.parse(now) - config.deletedRetentionDays * DAY_MS);
      if (start < earliest) {
        return errAsync(
          crmError('retention-exceeded', CONNECTOR_ID, `getDeleted: the window starts at ${start}, but audit records are kept ${config.deletedRetentionDays} days (back to ${earliest}); run a full re-sync instead`, {
            earliestAvailable: earliest,
          }),
        );
      }
      const body = response.json as { value?: unknown; '@odata.nextLink'?: unknown } | undefined;
      const rows = Array.isArray(body?.value) ? (body.value as Record<string, unknown>[]) : [];
      const records: DeletedRecord[] = [];
      for (const row of rows) {
        const id = row._objectid_value;
        const at = typeof row.createdon === 'string' ? parseInstant(row.createdon) : undefined;
        if (typeof id === 'string' && at !== undefined) records.push({ id, deletedAt: at });
      }
      const link = typeof body?.['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
      return okAsync({
        records,
        ...(link !== undefined ? { nextCursor: encodeCursor({ chunk: 0, nextLink: link }) } : {}),
        earliestDateAvailable: earliest,
        latestDateCovered: end < now ? end : now,
      });
    });
}

function fromChangeTracking(
  http: DataverseHttp,
  config: ResolvedDynamicsConfig,
  description: ObjectDescription,
  request: DeletedRequest,
  nextLink: string | undefined,
  deltaLinks: DeltaLinkStore,
  signal?: AbortSignal,
): ResultAsync<DeletedPage, CrmError> {
  const vendor = vendorOf(description);
  if (!vendor.changeTrackingEnabled) {
    return errAsync(crmError('unsupported', CONNECTOR_ID, `getDeleted: change tracking is off for table '${vendor.logicalName}'; enable it on the table or use deletedSource: 'audits'`));
  }
  const pageSize = Math.min(request.pageSize ?? config.pageSize, config.maxPageSize);
  const first = nextLink !== undefined ? okAsync<string | undefined, CrmError>(nextLink) : fromStore(deltaLinks.load(vendor.logicalName));
  return first.andThen((link) =>
    http
      .send({
        method: 'GET',
        path: link ?? `${vendor.entitySetName}?$select=${description.primaryKey}`,
        operation: `GET ${vendor.entitySetName} (change tracking)`,
        prefer: ['odata.track-changes', `odata.maxpagesize=${pageSize}`],
        ...(signal ? { signal } : {}),
      })
      .andThen((response) => {
        const now = serverTimeOf(response) ?? toInstant(config.now());
        const body = response.json as { value?: unknown; '@odata.nextLink'?: unknown; '@odata.deltaLink'?: unknown } | undefined;
        const rows = Array.isArray(body?.value) ? (body.value as Record<string, unknown>[]) : [];
        // Delta answers carry no deletion time: the server time of the answer bounds it.
        const records: DeletedRecord[] = link === undefined ? [] : rows.filter((row) => String(row['@odata.context'] ?? '').endsWith('$deletedEntity') && typeof row.id === 'string').map((row) => ({ id: row.id as string, deletedAt: now }));
        const more = typeof body?.['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
        const delta = typeof body?.['@odata.deltaLink'] === 'string' ? body['@odata.deltaLink'] : undefined;
        const saved = more === undefined && delta !== undefined ? fromStore(deltaLinks.save(vendor.logicalName, delta)) : okAsync<void, CrmError>(undefined);
        return saved.map(() => ({
          records,
          ...(more !== undefined ? { nextCursor: encodeCursor({ chunk: 0, nextLink: more }) } : {}),
          latestDateCovered: now,
        }));
      }),
  );
}

function fromStore<T>(promise: Promise<T>): ResultAsync<T, CrmError> {
  return ResultAsync.fromPromise(promise, (cause) => crmError('unknown', CONNECTOR_ID, `the delta-link store failed: ${String(cause)}`, { cause }));
}
