/**
 * `query` over the in-memory CRM: validation, filter, window with keyset, order by, ids and
 * paging that never skips or repeats a record.
 *
 * Windowed reads without an order by page with a keyset cursor (the last `(time, id)` served)
 * over the engine's cached `(field, id)` ordering, so a million-record import sorts once and each
 * page is a binary search plus a short scan. Every other read snapshots the matching ids when the
 * query starts and pages over that list, like a server-side cursor: memory is one id per match.
 *
 * @module
 */
import { crmError, parseInstant, type ConnectorCapabilities, type CrmError, type CrmRecord, type FieldDescription, type QueryRequest, type RecordPage } from '@crm-sync/sdk';
import { err, ok, type Result } from 'neverthrow';
import { compileFilter, compileOrderBy, filterFieldNames, type RecordPredicate } from './filter-eval.js';
import type { InMemoryCrm, StoredRecord } from './in-memory-crm.js';
import { decodeCursor, encodeCursor } from './paging-cursor.js';

/** Snapshots kept at once; the oldest is dropped beyond this, so abandoned reads cannot leak memory. */
const MAX_SNAPSHOTS = 64;

/** A request checked and normalised. */
interface PlannedQuery {
  readonly request: QueryRequest;
  readonly pageSize: number;
  readonly predicate: RecordPredicate | undefined;
  readonly start: string | undefined;
  readonly end: string | undefined;
  readonly after: { readonly at: string; readonly id: string } | undefined;
}

/** Runs queries for one connector; holds its snapshot cursors. */
export class QueryRunner {
  #snapshots = new Map<number, readonly string[]>();
  #nextSnapshot = 1;

  constructor(
    private readonly crm: InMemoryCrm,
    private readonly connectorId: string,
    private readonly capabilities: ConnectorCapabilities,
  ) {}

  /** One page of `request`, continuing from `cursor`. */
  run(request: QueryRequest, cursor: string | undefined): Result<RecordPage, CrmError> {
    const planned = this.#plan(request);
    if (planned.isErr()) return err(planned.error);
    const plan = planned.value;
    const useKeyset = request.window !== undefined && !request.orderBy?.length && request.ids === undefined;
    let decoded;
    if (cursor !== undefined) {
      decoded = decodeCursor(cursor, request.object);
      if (!decoded || (decoded.mode === 'keyset') !== useKeyset) return err(this.#invalid(request, `the cursor is not one this connector issued for this request; pass nextCursor back unchanged with the same request`));
    }
    if (useKeyset) {
      const after = decoded?.mode === 'keyset' ? { at: decoded.at, id: decoded.id } : plan.after;
      return ok(this.#keysetPage(plan, after));
    }
    if (decoded?.mode === 'snapshot') {
      const ids = this.#snapshots.get(decoded.snapshot);
      if (!ids) return err(this.#invalid(request, `the cursor has expired (too many reads were open at once); restart the query`));
      return ok(this.#snapshotPage(plan, decoded.snapshot, ids, decoded.offset));
    }
    return ok(this.#firstSnapshotPage(plan));
  }

  #invalid(request: QueryRequest, what: string): CrmError {
    return crmError('invalid-request', this.connectorId, `query on '${request.object}': ${what}`);
  }

  #plan(request: QueryRequest): Result<PlannedQuery, CrmError> {
    const schema = this.crm.schema(request.object);
    if (!schema) return err(crmError('not-found', this.connectorId, `query: no object '${request.object}'; call listObjects for the known objects`));
    const fields = new Map<string, FieldDescription>(schema.fields.map((field) => [field.name, field]));
    const unknown = (name: string): CrmError => this.#invalid(request, `no field '${name}'; call describe('${request.object}') for its fields`);
    for (const name of request.fields) if (!fields.has(name)) return err(unknown(name));
    if (request.filter) {
      for (const name of filterFieldNames(request.filter)) {
        const field = fields.get(name);
        if (!field) return err(unknown(name));
        if (!field.filterable) return err(this.#invalid(request, `field '${name}' is not filterable`));
      }
    }
    for (const key of request.orderBy ?? []) {
      const field = fields.get(key.field);
      if (!field) return err(unknown(key.field));
      if (!field.sortable) return err(this.#invalid(request, `field '${key.field}' is not sortable`));
    }
    const size = request.pageSize ?? this.capabilities.defaultPageSize;
    if (!Number.isInteger(size) || size < 1) return err(this.#invalid(request, `pageSize must be a positive integer, got ${size}`));
    if (request.ids && request.ids.length > this.capabilities.maxIdsPerQuery) {
      return err(this.#invalid(request, `${request.ids.length} ids is more than maxIdsPerQuery (${this.capabilities.maxIdsPerQuery}); split them into chunks`));
    }
    let start: string | undefined;
    let end: string | undefined;
    let after: PlannedQuery['after'];
    if (request.window) {
      const window = request.window;
      const field = fields.get(window.field);
      if (!field) return err(unknown(window.field));
      if (field.type !== 'datetime') return err(this.#invalid(request, `window field '${window.field}' is a ${field.type}, not a datetime change field`));
      const instant = (label: string, text: string | undefined): Result<string | undefined, CrmError> => {
        if (text === undefined) return ok(undefined);
        const parsed = parseInstant(text);
        return parsed === undefined ? err(this.#invalid(request, `window ${label} '${text}' is not an ISO 8601 instant such as 2024-01-31T12:00:00.000Z`)) : ok(parsed);
      };
      const parts = [instant('start', window.start), instant('end', window.end), instant('after.at', window.after?.at)];
      for (const part of parts) if (part.isErr()) return err(part.error);
      [start, end] = [parts[0]?.unwrapOr(undefined), parts[1]?.unwrapOr(undefined)];
      const afterAt = parts[2]?.unwrapOr(undefined);
      if (afterAt !== undefined && window.after) after = { at: afterAt, id: window.after.id };
    }
    return ok({
      request,
      pageSize: Math.min(size, this.capabilities.maxPageSize),
      predicate: request.filter ? compileFilter(request.filter, fields) : undefined,
      start,
      end,
      after,
    });
  }

  #toRecord(plan: PlannedQuery, record: StoredRecord): CrmRecord {
    const values: Record<string, string | number | boolean | null> = {};
    for (const name of plan.request.fields) values[name] = record.values[name] ?? null;
    const windowField = plan.request.window?.field;
    if (windowField === undefined) return { id: record.id, values };
    const changedAt = record.values[windowField];
    return typeof changedAt === 'string' ? { id: record.id, changedAt, values } : { id: record.id, values };
  }

  #page(records: CrmRecord[], nextCursor: string | undefined): RecordPage {
    const serverTime = this.crm.clock.now().toISOString();
    return nextCursor === undefined ? { records, serverTime } : { records, nextCursor, serverTime };
  }

  /** Windowed read in `(field, id)` order: binary search to the resume point, then scan. */
  #keysetPage(plan: PlannedQuery, after: PlannedQuery['after']): RecordPage {
    const field = plan.request.window?.field as string;
    const ordered = this.crm.recordsOrderedBy(plan.request.object, field);
    let index = 0;
    if (plan.start !== undefined) index = lowerBound(ordered, field, (at) => at >= (plan.start as string));
    if (after !== undefined) {
      const afterIndex = lowerBound(ordered, field, (at, id) => at > after.at || (at === after.at && id > after.id));
      index = Math.max(index, afterIndex);
    }
    const page: CrmRecord[] = [];
    let more = false;
    for (; index < ordered.length; index++) {
      const record = ordered[index] as StoredRecord;
      if (plan.end !== undefined && (record.values[field] as string) >= plan.end) break;
      if (plan.predicate && !plan.predicate(record.values)) continue;
      if (page.length === plan.pageSize) {
        more = true;
        break;
      }
      page.push(this.#toRecord(plan, record));
    }
    const last = page[page.length - 1];
    const next = more && last ? encodeCursor({ mode: 'keyset', object: plan.request.object, at: last.changedAt as string, id: last.id }) : undefined;
    return this.#page(page, next);
  }

  #matches(plan: PlannedQuery): StoredRecord[] {
    const { request } = plan;
    const candidates = request.ids ? this.crm.getMany(request.object, request.ids) : this.crm.records(request.object);
    const field = request.window?.field;
    const inWindow = (record: StoredRecord): boolean => {
      if (field === undefined) return true;
      const at = record.values[field];
      if (typeof at !== 'string') return false;
      if (plan.start !== undefined && at < plan.start) return false;
      if (plan.end !== undefined && at >= plan.end) return false;
      return plan.after === undefined || at > plan.after.at || (at === plan.after.at && record.id > plan.after.id);
    };
    const predicate = plan.predicate;
    const matches = candidates.filter((record) => inWindow(record) && (predicate === undefined || predicate(record.values)));
    if (request.orderBy?.length) {
      const compare = compileOrderBy(request.orderBy);
      matches.sort((a, b) => compare(a.values, b.values));
    } else if (field !== undefined) {
      matches.sort((a, b) => {
        const left = a.values[field] as string;
        const right = b.values[field] as string;
        return left !== right ? (left < right ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
      });
    }
    return matches;
  }

  #firstSnapshotPage(plan: PlannedQuery): RecordPage {
    const matches = this.#matches(plan);
    const page = matches.slice(0, plan.pageSize).map((record) => this.#toRecord(plan, record));
    if (matches.length <= plan.pageSize) return this.#page(page, undefined);
    const snapshot = this.#nextSnapshot++;
    this.#snapshots.set(snapshot, matches.map((record) => record.id));
    if (this.#snapshots.size > MAX_SNAPSHOTS) this.#snapshots.delete(this.#snapshots.keys().next().value as number);
    return this.#page(page, encodeCursor({ mode: 'snapshot', object: plan.request.object, snapshot, offset: plan.pageSize }));
  }

  /** A later page of a snapshot. Records deleted since the query started are left out. */
  #snapshotPage(plan: PlannedQuery, snapshot: number, ids: readonly string[], offset: number): RecordPage {
    const end = Math.min(offset + plan.pageSize, ids.length);
    const page: CrmRecord[] = [];
    for (let index = offset; index < end; index++) {
      const record = this.crm.get(plan.request.object, ids[index] as string);
      if (record) page.push(this.#toRecord(plan, record));
    }
    if (end >= ids.length) {
      this.#snapshots.delete(snapshot);
      return this.#page(page, undefined);
    }
    return this.#page(page, encodeCursor({ mode: 'snapshot', object: plan.request.object, snapshot, offset: end }));
  }
}

/** First index in `ordered` (sorted by `(field, id)`) whose key satisfies the monotone `isAtOrPast`. */
function lowerBound(ordered: readonly StoredRecord[], field: string, isAtOrPast: (at: string, id: string) => boolean): number {
  let low = 0;
  let high = ordered.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const record = ordered[middle] as StoredRecord;
    if (isAtOrPast(record.values[field] as string, record.id)) high = middle;
    else low = middle + 1;
  }
  return low;
}
