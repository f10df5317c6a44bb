/**
 * `getDeleted`: the deleted-records feed `GET /sobjects/{Object}/deleted?start=&end=`.
 *
 * Salesforce ignores the seconds of `start` and `end`, so the connector asks for whole minutes
 * around the window (start rounded down, end rounded up) and keeps only deletions inside
 * `[start, end]`: both bounds stay inclusive to the millisecond. A window reaching before
 * `earliestDateAvailable` is refused by Salesforce (`INVALID_REPLICATION_DATE`) and surfaces as
 * `retention-exceeded`; the connector also checks the answer's `earliestDateAvailable` itself.
 *
 * Salesforce's refusal does not say which date is still available, and `now - 15 days` is not it
 * (the delete log can be purged earlier). So on that refusal the connector asks for a recent
 * one-minute window, which is always covered, and reports that answer's `earliestDateAvailable`
 * as the error's `earliestAvailable`: a window starting there is accepted.
 *
 * @module
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import { crmError, parseInstant, type CrmError, type DeletedPage, type DeletedRequest } from '@crm-sync/sdk';
import type { SalesforceApi } from './api.js';
import { checkObjectName } from './describe.js';
import { CONNECTOR_ID } from './errors.js';
import { decodeSalesforceDateTime } from './mapping.js';

interface DeletedAnswer {
  readonly deletedRecords?: readonly { id: string; deletedDate: string }[];
  readonly earliestDateAvailable?: string;
  readonly latestDateCovered?: string;
}

const MINUTE_MS = 60_000;

/** `2024-05-05T00:00:00+00:00`, the format jsforce sends. */
function feedDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** How far back the probe window for `earliestDateAvailable` lies: well inside what Salesforce always keeps. */
const PROBE_AGE_MS = 60 * MINUTE_MS;

/**
 * Turns a refusal without a date into one carrying Salesforce's own `earliestDateAvailable`, read
 * from the answer to a recent one-minute window. When the probe fails too, the refusal is kept.
 */
function withEarliestDate(api: SalesforceApi, object: string, start: string, refusal: CrmError, signal: AbortSignal | undefined): ResultAsync<never, CrmError> {
  if (refusal.kind !== 'retention-exceeded' || refusal.earliestAvailable !== undefined) return errAsync(refusal);
  const probeStart = Math.floor((Date.now() - PROBE_AGE_MS) / MINUTE_MS) * MINUTE_MS;
  return api
    .call<DeletedAnswer>({
      method: 'GET',
      path: `${api.basePath}/sobjects/${object}/deleted/?start=${encodeURIComponent(feedDate(probeStart))}&end=${encodeURIComponent(feedDate(probeStart + MINUTE_MS))}`,
      ...(signal ? { signal } : {}),
    })
    .orElse(() => errAsync(refusal))
    .andThen((answer) => {
      const earliest = answer.body.earliestDateAvailable ? decodeSalesforceDateTime(answer.body.earliestDateAvailable) : undefined;
      if (earliest === undefined) return errAsync(refusal);
      return errAsync(
        crmError('retention-exceeded', CONNECTOR_ID, `getDeleted on ${object}: Salesforce keeps deletions from ${earliest} only, the window starts at ${start}; start at ${earliest} or later, after a full re-sync`, {
          earliestAvailable: earliest,
          ...(refusal.vendorCode === undefined ? {} : { vendorCode: refusal.vendorCode }),
          ...(refusal.vendorMessage === undefined ? {} : { vendorMessage: refusal.vendorMessage }),
          ...(refusal.httpStatus === undefined ? {} : { httpStatus: refusal.httpStatus }),
        }),
      );
    });
}

/** Reads deletions in `[start, end]`. The feed is not paged: one call answers the window. */
export function getDeletedSalesforce(api: SalesforceApi, request: DeletedRequest, signal: AbortSignal | undefined): ResultAsync<DeletedPage, CrmError> {
  const start = parseInstant(request.start);
  const end = parseInstant(request.end);
  if (!start || !end || start > end) {
    return errAsync(crmError('invalid-request', CONNECTOR_ID, `getDeleted on ${request.object}: start and end must be ISO 8601 instants with start <= end (got ${request.start} .. ${request.end})`));
  }
  const startMs = Math.floor(Date.parse(start) / MINUTE_MS) * MINUTE_MS;
  // Salesforce wants end after start; a one-minute window at least.
  const endMs = Math.max(Math.ceil((Date.parse(end) + 1) / MINUTE_MS) * MINUTE_MS, startMs + MINUTE_MS);
  return checkObjectName(request.object).andThen((object) =>
    api
      .call<DeletedAnswer>({
        method: 'GET',
        path: `${api.basePath}/sobjects/${object}/deleted/?start=${encodeURIComponent(feedDate(startMs))}&end=${encodeURIComponent(feedDate(endMs))}`,
        ...(signal ? { signal } : {}),
      })
      .orElse((error) => withEarliestDate(api, object, start, error, signal))
      .andThen((answer) => {
        const earliest = answer.body.earliestDateAvailable ? decodeSalesforceDateTime(answer.body.earliestDateAvailable) : undefined;
        if (earliest && start < earliest) {
          return errAsync(
            crmError('retention-exceeded', CONNECTOR_ID, `getDeleted on ${object}: Salesforce keeps deletions from ${earliest} only, the window starts at ${start}; run a full re-sync instead`, {
              earliestAvailable: earliest,
            }),
          );
        }
        const records = (answer.body.deletedRecords ?? [])
          .map((record) => ({ id: record.id, deletedAt: decodeSalesforceDateTime(record.deletedDate) }))
          .filter((record) => record.deletedAt >= start && record.deletedAt <= end);
        const latest = answer.body.latestDateCovered ? decodeSalesforceDateTime(answer.body.latestDateCovered) : undefined;
        return okAsync({ records, ...(earliest ? { earliestDateAvailable: earliest } : {}), ...(latest ? { latestDateCovered: latest } : {}) });
      }),
  );
}
