/**
 * O1, import from the CRM: a filtered or incremental read, page by page, into the local sink.
 *
 * The incremental read is the safe watermark of the mission: a window `[start, end)` whose end
 * comes from CRM server time (never the client clock) minus a safety lag, and never after what the
 * CRM says is fully visible; records ordered by `(change field, id)` and resumed with a keyset, so
 * records sharing one timestamp are never skipped at a page or crash boundary; an optional overlap
 * that re-reads the previous window's tail for late commits, deduplicated by (id, change time);
 * and a watermark that moves only after the sink committed the records (in the same transaction
 * when the sink can). The next page is requested while the current one converts and sinks, and
 * converted while the current one's write is still in flight (one write at a time, in page
 * order), so memory holds about three pages whatever the total.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import type { ObjectDescription } from '../contract/describe.js';
import type { CrmRecord, QueryRequest, QueryWindow, RecordPage } from '../contract/requests.js';
import type { Instant } from '../contract/values.js';
import type { OptionStore } from '../stores/types.js';
import { describeObject, invalidateDescription, isUnknownFieldError } from './describe-cache.js';
import { flushRejectsOrFail, storeFailure, type RunContext } from './context.js';
import { importByIds } from './import-by-ids.js';
import { convertPage, reportConversion, writePage, type ConvertedPage, type ImportStores } from './import-write.js';
import { defaultWatermarkOption, type ImportJob } from './job.js';
import type { RunError, RunPlan, RunSummary, RunWindow } from './types.js';
import { prepareImport, type PreparedImport } from './validate.js';
import {
  formatWatermark,
  minInstant,
  readWatermark,
  RecentKeys,
  shiftInstant,
  watermarkCheckpoint,
  type Watermark,
} from './watermark.js';

export type { ImportStores } from './import-write.js';

/** Default safety lag: changes younger than this are left to the next run. */
export const DEFAULT_SAFETY_LAG_MS = 2000;

interface IncrementalPlan {
  readonly optionName: string;
  readonly changeField: string;
  readonly previous?: Watermark;
  readonly window: QueryWindow;
  readonly end: Instant;
  readonly overlapMs: number;
  readonly runWindow: RunWindow;
}

/** Runs (or plans, on a dry run) an import job. */
export async function runImport(context: RunContext, stores: ImportStores, job: ImportJob): Promise<Result<RunSummary, RunError>> {
  context.progress('validate');
  const { connector } = context.deps;
  // The server time does not depend on the description: ask for both at once (one round trip less).
  const serverTime = job.automaticIndex?.enabled && connector.capabilities.serverTime && connector.serverTime ? connector.serverTime.bind(connector) : undefined;
  const early = serverTime ? context.call('server time', () => serverTime()) : undefined;
  const described = await describeObject(context, stores.options, job.object);
  const now = await early;
  if (described.isErr()) return err(described.error);
  let knownNow: Instant | undefined;
  if (now !== undefined) {
    if (now.isErr()) return err(now.error);
    knownNow = now.value;
  }
  const attempt = await importWith(context, stores, job, described.value.description, knownNow);
  if (attempt.isOk()) return attempt;
  const stale = isUnknownFieldError(attempt.error) || attempt.error.kind === 'invalid-job';
  if (!stale) return attempt;
  if (isUnknownFieldError(attempt.error) || described.value.fromCache) {
    const dropped = await invalidateDescription(context, stores.options, job.object);
    if (dropped.isErr()) return err(dropped.error);
  }
  // A cached description that no longer fits (a field added to the job, or one the CRM no longer
  // knows): describe afresh and try once more, as long as nothing was read yet.
  if (!described.value.fromCache || context.counts.read > 0) return attempt;
  context.deps.connector.forgetDescription?.(job.object);
  context.note(`the cached description of ${job.object} did not fit (${attempt.error.message.split('\n')[0]}); described it afresh`);
  const fresh = await describeObject(context, stores.options, job.object, true);
  if (fresh.isErr()) return err(fresh.error);
  const retried = await importWith(context, stores, job, fresh.value.description, knownNow);
  if (retried.isErr() && isUnknownFieldError(retried.error)) {
    // Not cured by a fresh description either: keep none cached, so the next run asks again.
    const dropped = await invalidateDescription(context, stores.options, job.object);
    if (dropped.isErr()) return err(dropped.error);
  }
  return retried;
}

/** The import once the object is described. */
async function importWith(
  context: RunContext,
  stores: ImportStores,
  job: ImportJob,
  description: ObjectDescription,
  knownNow: Instant | undefined,
): Promise<Result<RunSummary, RunError>> {
  const { connector } = context.deps;
  let serverNow: Instant | undefined = knownNow;
  if (job.automaticIndex?.enabled && serverNow === undefined) {
    const now = await crmNow(context, job, description);
    if (now.isErr()) return err(now.error);
    serverNow = now.value;
  }
  const prepared = prepareImport(job, description, connector, serverNow === undefined ? context.deps.clock() : new Date(serverNow));
  if (!prepared.ok) {
    const lines = prepared.issues.map((issue) => `- ${issue.path}: ${issue.message}`).join('\n');
    return err(context.fail('invalid-job', `import job "${job.activity}" does not fit ${job.object}:\n${lines}`, { issues: prepared.issues }));
  }
  const plan = prepared.value;
  const fields = [...new Set([...plan.fields.map((field) => field.remote), ...(plan.changeField ? [plan.changeField] : [])])];

  let incremental: IncrementalPlan | undefined;
  if (plan.changeField !== undefined && serverNow !== undefined) {
    const windowed = await planWindow(context, stores.options, job, plan.changeField, serverNow);
    if (windowed.isErr()) return err(windowed.error);
    incremental = windowed.value;
  }

  const pageSize = Math.min(job.pageSize ?? connector.capabilities.defaultPageSize, connector.capabilities.maxPageSize);
  const request: QueryRequest = {
    object: job.object,
    fields,
    pageSize,
    ...(plan.filter === undefined ? {} : { filter: plan.filter }),
    ...(job.orderBy === undefined || job.orderBy.length === 0 ? {} : { orderBy: job.orderBy }),
    ...(incremental === undefined ? {} : { window: incremental.window }),
  };
  const variables = incremental
    ? {
        crmOptionName: incremental.runWindow.optionName,
        ...(incremental.runWindow.start === undefined ? {} : { crmStartImport: incremental.runWindow.start }),
        crmEndDate: incremental.runWindow.end,
      }
    : {};

  if (context.options.dryRun) {
    const importPlan = planImport(context, job, request, incremental, connector.capabilities.maxIdsPerQuery);
    return ok(context.summary({ plan: importPlan, variables, ...(incremental ? { window: incremental.runWindow } : {}) }));
  }

  if (job.ids !== undefined) return importByIds(context, stores, job, plan, request);
  const read = await readAll(context, stores, job, plan, request, incremental);
  if (read.isErr()) return err(read.error);
  context.progress('done');
  return ok(context.summary({ variables, ...(incremental ? { window: incremental.runWindow } : {}) }));
}

/** CRM "now": the connector's server time, or the time stamped on a one-record probe page. */
async function crmNow(context: RunContext, job: ImportJob, description: ObjectDescription): Promise<Result<Instant, RunError>> {
  const { connector } = context.deps;
  if (connector.capabilities.serverTime && connector.serverTime) {
    const serverTime = connector.serverTime.bind(connector);
    return context.call('server time', () => serverTime());
  }
  const probe = await context.call('server time probe', () =>
    connector.query({ object: job.object, fields: [description.primaryKey], pageSize: 1 }),
  );
  if (probe.isErr()) return err(probe.error);
  if (probe.value.serverTime !== undefined) return ok(probe.value.serverTime);
  return err(
    context.fail(
      'watermark',
      `connector "${connector.id}" reports no CRM server time, so the end of an incremental window cannot be fixed safely (the client clock alone is never used); implement serverTime() or RecordPage.serverTime in the connector, or import without automaticIndex`,
    ),
  );
}

async function planWindow(
  context: RunContext,
  options: OptionStore,
  job: ImportJob,
  changeField: string,
  serverNow: Instant,
): Promise<Result<IncrementalPlan, RunError>> {
  const index = job.automaticIndex!;
  const optionName = index.option ?? defaultWatermarkOption(job);
  let stored;
  try {
    stored = await options.getOption(optionName);
  } catch (error) {
    return err(storeFailure(context, error, `reading option ${optionName}`));
  }
  const read = readWatermark(stored, changeField);
  if (read.isErr()) return err(context.fail('watermark', read.error));
  const previous = read.value;
  if (previous !== undefined && previous.at > serverNow) {
    return err(
      context.fail(
        'watermark',
        `the watermark in option "${optionName}" (${formatWatermark(previous.at)} UTC) is after the CRM's current time (${formatWatermark(serverNow)} UTC); a run would read nothing forever. Set the option to the last time you know was imported (format yyyy/MM/dd HH:mm:ss, UTC), or delete it for a full read`,
      ),
    );
  }
  if (previous?.handSet) context.note(`option ${optionName} was set by hand to ${stored?.value}; reading from there (tie-break reset)`);
  const safetyLagMs = Math.max(0, index.safetyLagMs ?? DEFAULT_SAFETY_LAG_MS);
  const overlapMs = Math.max(0, index.overlapMs ?? 0);
  const endByClock = shiftInstant(serverNow, -safetyLagMs);
  // A watermark newer than now - lag (a previous run with a smaller lag) leaves an empty window.
  const end = previous !== undefined && previous.at > endByClock ? previous.at : endByClock;
  const start = previous === undefined ? index.initialStart : overlapMs > 0 ? shiftInstant(previous.at, -overlapMs) : previous.at;
  const after = previous?.id !== undefined && overlapMs === 0 ? { at: previous.at, id: previous.id } : undefined;
  const window: QueryWindow = {
    field: changeField,
    end,
    ...(start === undefined ? {} : { start }),
    ...(after === undefined ? {} : { after }),
  };
  const nominalStart = previous?.at ?? index.initialStart;
  if (nominalStart !== undefined && nominalStart > end) {
    // A start ahead of the CRM's clock reads nothing, run after run, while every run "succeeds":
    // typically an initialStart taken from the machine's clock against a CRM (or an emulator with a
    // fixed clock) whose clock is behind it.
    context.warnNote(
      `the ${previous === undefined ? 'initial start' : 'watermark'} of option "${optionName}" (${formatWatermark(nominalStart)} UTC) is ahead of the CRM's clock (${formatWatermark(serverNow)} UTC${safetyLagMs > 0 ? `, minus the ${safetyLagMs} ms safety lag` : ''}): this run reads nothing until the CRM's clock passes it; check the CRM's clock (an emulator started with a fixed clock?) or ${previous === undefined ? 'initialStart' : 'the option'}`,
      { option: optionName, watermark: nominalStart, crmNow: serverNow },
    );
  }
  const runWindow: RunWindow = {
    optionName,
    end: formatWatermark(end),
    endInstant: end,
    ...(nominalStart === undefined ? {} : { start: formatWatermark(nominalStart), startInstant: nominalStart }),
  };
  return ok({ optionName, changeField, window, end, overlapMs, runWindow, ...(previous === undefined ? {} : { previous }) });
}

function planImport(
  context: RunContext,
  job: ImportJob,
  request: QueryRequest,
  incremental: IncrementalPlan | undefined,
  maxIdsPerQuery: number,
): RunPlan {
  const parts = [
    `fields ${request.fields.join(', ')}`,
    request.filter ? `filter ${JSON.stringify(request.filter)}` : undefined,
    incremental
      ? `window ${incremental.changeField} in [${incremental.window.start ?? 'beginning'}, ${incremental.end})${incremental.window.after ? ` after (${incremental.window.after.at}, ${incremental.window.after.id})` : ''}`
      : undefined,
    request.orderBy ? `order by ${request.orderBy.map((order) => `${order.field} ${order.direction}`).join(', ')}` : undefined,
    `pages of ${request.pageSize}`,
  ].filter((part): part is string => part !== undefined);
  const idCount = Array.isArray(job.ids) ? job.ids.length : undefined;
  const queries = idCount === undefined ? 1 : Math.max(1, Math.ceil(idCount / maxIdsPerQuery));
  const notes = [
    'dry run: nothing was written and the watermark did not move',
    `API calls: describe${incremental ? ' + server time' : ''} + at least one call per page (the number of pages is known only while reading)`,
  ];
  return {
    operation: 'import',
    activity: job.activity,
    object: job.object,
    queries: [{ object: job.object, fields: request.fields, description: parts.join('; ') + (idCount === undefined ? '' : `; ${idCount} ids in ${queries} queries`) }],
    estimatedApiCalls: context.apiCalls() + queries,
    ...(incremental ? { window: incremental.runWindow } : {}),
    notes,
  };
}

function changedAtOf(record: CrmRecord, changeField: string): Instant | undefined {
  if (record.changedAt !== undefined) return record.changedAt;
  const value = record.values[changeField];
  return typeof value === 'string' ? value : undefined;
}

/** `(at, id)` strictly after `(other.at, other.id)`; a missing id sorts after every id at that instant. */
function isAfter(at: Instant, id: string | undefined, other: Watermark | undefined): boolean {
  if (other === undefined) return true;
  if (at !== other.at) return at > other.at;
  if (other.id === undefined) return false;
  return id === undefined || id > other.id;
}

/** A fetched page once converted: what the loop keeps of it. */
interface TakenPage {
  readonly converted: ConvertedPage;
  readonly checkpoint: Watermark | undefined;
  readonly read: number;
}

async function readAll(
  context: RunContext,
  stores: ImportStores,
  job: ImportJob,
  plan: PreparedImport,
  request: QueryRequest,
  incremental: IncrementalPlan | undefined,
): Promise<Result<void, RunError>> {
  const { connector } = context.deps;
  const keyset = incremental !== undefined && request.orderBy === undefined;
  const recent = new RecentKeys(incremental?.overlapMs ?? 0, incremental?.previous?.recent ?? '');
  let committed = incremental?.previous;
  let safeUpperBound: Instant | undefined;
  let pageNumber = 0;

  const fetchPage = (cursor: string | undefined, number: number): Promise<Result<RecordPage, RunError>> =>
    context.call(`page ${number}`, () => connector.query(request, cursor, context.options.signal ? { signal: context.options.signal } : undefined));

  // One page's write may still be in flight while the next page is fetched and converted (the
  // sink's transaction runs on the database's side meanwhile). Only one at a time: the next write
  // starts only once this one is committed, so the watermark of a page never commits before the
  // records of the pages before it.
  let inFlight: { readonly write: Promise<Result<number, RunError>>; readonly checkpoint: Watermark | undefined } | undefined;
  /** Waits for the write in flight; on success its checkpoint is committed, its rejects flushed. */
  const settle = async (): Promise<Result<void, RunError>> => {
    if (inFlight === undefined) return ok(undefined);
    const { write, checkpoint } = inFlight;
    const written = await write;
    inFlight = undefined;
    if (written.isErr()) return err(written.error);
    if (checkpoint !== undefined) committed = checkpoint;
    context.counts.written += written.value;
    const flushed = await flushRejectsOrFail(context);
    if (flushed.isErr()) return err(flushed.error);
    context.progress('read');
    return ok(undefined);
  };

  const changeField = incremental?.changeField;
  const skip =
    changeField === undefined || (incremental?.overlapMs ?? 0) <= 0
      ? undefined
      : (record: CrmRecord): boolean => {
          const at = changedAtOf(record, changeField);
          return at !== undefined && recent.has(record.id, at);
        };
  /**
   * Takes a fetched page: prefetches the next one, converts this one and works out its checkpoint.
   * Synchronous and separate from the loop on purpose: an async function keeps the locals of its
   * loop body alive across an await, so a raw page held there would stay reachable for another
   * page's worth of work (and be copied by every minor GC meanwhile); only its converted form
   * leaves this function.
   */
  const takePage = (fetched: Result<RecordPage, RunError>): Result<TakenPage, RunError> => {
    if (fetched.isErr()) return err(fetched.error);
    const stopped = context.aborted();
    if (stopped) return err(stopped);
    const page: RecordPage = fetched.value;
    // Prefetch: the next page travels while this one converts and sinks.
    pending = page.nextCursor !== undefined ? fetchPage(page.nextCursor, pageNumber + 1) : undefined;
    // Whatever happens below, a prefetched page that is never awaited must not surface as an unhandled rejection.
    pending?.catch(() => undefined);
    if (page.safeUpperBound !== undefined) safeUpperBound = minInstant(page.safeUpperBound, safeUpperBound);

    // Converted while the previous page may still be writing; its rejects are reported after that write.
    const converted = convertPage(plan, page.records, skip);
    let checkpoint: Watermark | undefined;
    if (incremental !== undefined && changeField !== undefined) {
      if (incremental.overlapMs > 0) {
        for (const record of page.records) {
          const at = changedAtOf(record, changeField);
          if (at !== undefined) recent.add(record.id, at);
        }
      }
      const last = page.records[page.records.length - 1];
      const lastAt = last === undefined ? undefined : changedAtOf(last, changeField);
      // Mid-window checkpoints need the keyset order, must move forward (past the one in flight
      // too), and never pass what the CRM says is visible.
      const latest = inFlight?.checkpoint ?? committed;
      if (keyset && last !== undefined && lastAt !== undefined && isAfter(lastAt, last.id, latest) && (safeUpperBound === undefined || lastAt < safeUpperBound)) {
        checkpoint = { at: lastAt, id: last.id, recent: recent.list(lastAt) };
      }
    }
    return ok({ converted, checkpoint, read: page.records.length });
  };

  /** Starts a taken page's write once the page before it is settled (the page itself then lives on in the write only). */
  const startWrite = ({ converted, checkpoint, read }: TakenPage): void => {
    // Counted once the page before it is settled, so each progress event covers the pages written.
    context.counts.read += read;
    const local = reportConversion(context, converted);
    inFlight = { write: writePage(context, stores, job.table, local, incremental, checkpoint), checkpoint };
  };

  let pending: Promise<Result<RecordPage, RunError>> | undefined = fetchPage(undefined, 1);
  try {
    while (pending !== undefined) {
      pageNumber += 1;
      let taken: Result<TakenPage, RunError> | undefined = takePage(await pending);
      if (taken.isErr()) {
        // A failed fetch or an abort: the page before it may still be writing; it commits (or fails) first.
        const settled = await settle();
        return err(settled.isErr() ? settled.error : taken.error);
      }
      const settled = await settle();
      if (settled.isErr()) return err(settled.error);
      startWrite(taken.value);
      taken = undefined;
    }
    const settled = await settle();
    if (settled.isErr()) return err(settled.error);
  } finally {
    // Never leave a write running behind the run (its lease is released right after).
    if (inFlight !== undefined) await inFlight.write;
  }

  if (incremental !== undefined) {
    // The whole window is committed: move the watermark to its end (no tie-break: nothing at `end` was read).
    const end = minInstant(incremental.end, safeUpperBound);
    if (end < incremental.end) context.note(`the CRM reported changes visible only up to ${end}; the watermark stops there`);
    const finalAt = committed !== undefined && committed.at > end ? committed.at : end;
    try {
      const checkpoint = watermarkCheckpoint(incremental.optionName, incremental.changeField, { at: finalAt, recent: recent.list(finalAt) });
      await stores.options.setOption(checkpoint.optionName, checkpoint.value, checkpoint.meta, context.fence);
    } catch (error) {
      return err(storeFailure(context, error, `storing the watermark in ${incremental.optionName}`));
    }
  }
  return ok(undefined);
}

