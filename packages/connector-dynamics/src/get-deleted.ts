/**
 * `getDeleted` from the `audits` table (operation 3 = delete), or, as an alternative, from change
 * tracking (`Prefer: odata.track-changes`, `$deletedEntity` entries in delta answers).
 *
 * Audit history is bounded twice, and the first page of a window checks both before reading:
 * - the organisation's audit retention, read from the `organizations` row
 *   (`auditretentionperiodv2`, in days; `-1` or empty means kept forever); when that row cannot be
 *   read, the configuration's `deletedRetentionDays` stands in. Measured from the server's clock
 *   (`Date` header);
 * - the oldest audit record there is (`audits` ordered by `createdon`, top 1): before it, nothing
 *   was recorded (auditing was off, or the log was deleted), so nothing is known about deletions.
 *
 * A window starting before the later of the two fails with `retention-exceeded` carrying that
 * first covered instant, never a partial list; a window starting there is accepted.
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
  let carried: string | undefined;
  if (cursorText !== undefined) {
    const cursor = decodeCursor(cursorText);
    if (cursor.isErr()) return errAsync(cursor.error);
    nextLink = cursor.value.nextLink;
    carried = cursor.value.earliest;
  }
  return config.deletedSource === 'change-tracking'
    ? fromChangeTracking(http, config, description, request, nextLink, deltaLinks, signal)
    : fromAudits(http, config, description, request, start, end, nextLink, carried, signal);
}

function fromAudits(
  http: DataverseHttp,
  config: ResolvedDynamicsConfig,
  description: ObjectDescription,
  request: DeletedRequest,
  start: string,
  end: string,
  nextLink: string | undefined,
  carried: string | undefined,
  signal?: AbortSignal,
): ResultAsync<DeletedPage, CrmError> {
  const vendor = vendorOf(description);
  if (!vendor.auditEnabled) {
    return errAsync(
      crmError('unsupported', CONNECTOR_ID, `getDeleted: auditing is off for table '${vendor.logicalName}', so Dataverse keeps no record of deletions; turn auditing on for the organisation and the table, or set deletedSource: 'change-tracking'`),
    );
  }
  const pageSize = Math.min(request.pageSize ?? config.pageSize, config.maxPageSize);
  // Only the first page checks the history: later pages continue a window already accepted.
  const history = nextLink === undefined ? auditHistoryStart(http, config, signal) : okAsync<AuditHistory | undefined, CrmError>(undefined);
  return history.andThen((bounds) => readAudits(http, config, vendor.logicalName, start, end, nextLink, pageSize, bounds, carried, signal));
}

/** What bounds the audit history: the organisation's retention and the oldest audit record. */
interface AuditHistory {
  /** Days audit records are kept; `undefined` when kept forever. */
  readonly retentionDays: number | undefined;
  /** Where the retention came from, for messages. */
  readonly retentionSource: 'organization' | 'configuration';
  /** `createdon` of the oldest audit record; `undefined` when there is none. */
  readonly oldest: string | undefined;
}

/** Reads the organisation's audit retention and the oldest audit record. */
function auditHistoryStart(http: DataverseHttp, config: ResolvedDynamicsConfig, signal?: AbortSignal): ResultAsync<AuditHistory, CrmError> {
  const retention = http
    .send({ method: 'GET', path: `organizations?$select=${encodeURIComponent('auditretentionperiodv2')}&$top=1`, operation: 'GET organizations (audit retention)', ...(signal ? { signal } : {}) })
    .map((response): Pick<AuditHistory, 'retentionDays' | 'retentionSource'> => {
      const row = (response.json as { value?: Record<string, unknown>[] } | undefined)?.value?.[0];
      const days = row?.auditretentionperiodv2;
      // -1 (or no value) is "keep forever".
      return { retentionDays: typeof days === 'number' && days > 0 ? days : undefined, retentionSource: 'organization' };
    })
    .orElse((error) =>
      // An application user that may read audits but not the organisation row: the configured retention stands in.
      error.kind === 'permission' || error.kind === 'not-found' || error.kind === 'invalid-request'
        ? okAsync({ retentionDays: config.deletedRetentionDays, retentionSource: 'configuration' as const })
        : errAsync(error),
    );
  return retention.andThen((bounds) =>
    http
      .send({
        method: 'GET',
        path: `audits?$select=createdon&$orderby=${encodeURIComponent('createdon asc')}&$top=1`,
        operation: 'GET audits (oldest record)',
        ...(signal ? { signal } : {}),
      })
      .mapErr(auditPermission)
      .map((response) => {
        const row = (response.json as { value?: Record<string, unknown>[] } | undefined)?.value?.[0];
        const oldest = typeof row?.createdon === 'string' ? parseInstant(row.createdon) : undefined;
        return { ...bounds, oldest };
      }),
  );
}

function readAudits(
  http: DataverseHttp,
  config: ResolvedDynamicsConfig,
  logicalName: string,
  start: string,
  end: string,
  nextLink: string | undefined,
  pageSize: number,
  history: AuditHistory | undefined,
  carried: string | undefined,
  signal?: AbortSignal,
): ResultAsync<DeletedPage, CrmError> {
  const filter = `operation eq 3 and objecttypecode eq '${logicalName}' and createdon ge ${start} and createdon le ${end}`;
  const path = nextLink ?? `audits?$select=${encodeURIComponent('_objectid_value,createdon,operation')}&$filter=${encodeURIComponent(filter)}&$orderby=${encodeURIComponent('createdon asc,auditid asc')}`;
  return http
    .send({ method: 'GET', path, operation: 'GET audits', prefer: [`odata.maxpagesize=${pageSize}`], ...(signal ? { signal } : {}) })
    .mapErr(auditPermission)
    .andThen((response) => {
      const now = serverTimeOf(response) ?? toInstant(config.now());
      const covered = history === undefined ? undefined : firstCovered(history, now);
      const earliest = covered?.at ?? carried;
      if (covered !== undefined && start < covered.at) {
        return errAsync(
          crmError('retention-exceeded', CONNECTOR_ID, `getDeleted: the window starts at ${start}, but Dataverse's audit history only covers ${covered.at} on (${covered.why}); start at ${covered.at} or later, after a full re-sync`, {
            earliestAvailable: covered.at,
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
        ...(link !== undefined ? { nextCursor: encodeCursor({ chunk: 0, nextLink: link, ...(earliest === undefined ? {} : { earliest }) }) } : {}),
        ...(earliest === undefined ? {} : { earliestDateAvailable: earliest }),
        latestDateCovered: end < now ? end : now,
      });
    });
}

/**
 * The first instant the audit history covers, and why: the later of "now minus the retention" and
 * the oldest audit record; with neither (kept forever, but no audit record at all), nothing is
 * known before now.
 */
function firstCovered(history: AuditHistory, now: string): { readonly at: string; readonly why: string } {
  const byRetention = history.retentionDays === undefined ? undefined : toInstant(Date.parse(now) - history.retentionDays * DAY_MS);
  const retentionWhy = `audit records are kept ${history.retentionDays} days, by ${history.retentionSource === 'organization' ? "the organisation's auditretentionperiodv2" : "the configuration's deletedRetentionDays"}`;
  if (history.oldest !== undefined && (byRetention === undefined || history.oldest > byRetention)) {
    return { at: history.oldest, why: 'the oldest audit record is from then: auditing was off before, or older audit logs were deleted' };
  }
  if (byRetention !== undefined) return { at: byRetention, why: retentionWhy };
  return { at: now, why: 'there is no audit record at all' };
}

/** Turns a refused audit read into a message naming the missing privilege. */
function auditPermission(error: CrmError): CrmError {
  return error.kind === 'permission'
    ? crmError('permission', CONNECTOR_ID, `getDeleted: the application user cannot read audits; give its security role the 'View Audit Summary' privilege (prvReadAuditSummary)`, {
        ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
        ...(error.vendorCode !== undefined ? { vendorCode: error.vendorCode } : {}),
      })
    : error;
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
