/**
 * O2, export to the CRM, through a durable journal so that a restart exports no record twice and
 * loses none.
 *
 * A run loads the source into the journal (`pending`), sends each page once it is journaled (a
 * fresh run sends from the load, never reading its entries back), marks each batch `sent` (an
 * insert batch before it leaves; an idempotent update or upsert batch as it leaves), and records
 * every outcome (`committed` / `rejected`) when the CRM answers. A batch of inserts
 * whose answer was lost becomes `unknown`; it is settled by the sync key (resent as an upsert by
 * it, or looked up by it) or, without one, by the job's explicit in-doubt policy. With a connector
 * that takes client-chosen ids (`capabilities.clientInsertIds`), each insert's id is journaled
 * before it is sent, so an insert in doubt is simply sent again with the same id: the CRM answers
 * "already exists" for one it committed, which counts as created, and no policy is needed. An
 * interrupted run stays open; the next run of the same job resumes it. A finished run is closed and kept.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { err, ok, type Result } from 'neverthrow';
import PQueue from 'p-queue';
import type { ObjectDescription } from '../contract/describe.js';
import { idNormalizer } from '../contract/normalize-id.js';
import type { Reject, UpsertBatchRequest, WriteMode, WriteOutcome } from '../contract/requests.js';
import type { FieldValue } from '../contract/values.js';
import { redact, redactText } from '../errors/redact.js';
import type { CrmIdLink, ExportJournal, JournalEntry, JournalOutcome, NewJournalEntry, RecordSource, SourceRecord } from '../stores/types.js';
import { storeFailure, type RunContext } from './context.js';
import { exportJobId, SINCE_LAST_EXPORT, type ExportJob } from './job.js';
import { checkLocalColumns } from './local-columns.js';
import { findBySyncKey } from './sync-key.js';
import type { ExportBatchResult, ExportRecordOutcome, ExportRunOptions, RunError, RunSummary } from './types.js';
import { convertRecord, prepareExport, type PreparedExport } from './validate.js';

/** The stores an export uses. */
interface ExportStores {
  readonly journal: ExportJournal;
  readonly source: RecordSource;
}

/** Journal entries read per step of the send loop. */
const SEND_WINDOW_BATCHES = 8;
/**
 * Send windows open at once: a window is queued only when every outcome of the window this many
 * before it is journaled. More than two, so that the journal's latency (a commit on a database
 * server) is spent while later windows are sent, not between windows.
 */
const OPEN_WINDOWS = 4;
/** Entries journaled and not yet sent past which the load waits for the send loop. */
const LOAD_AHEAD = 10_000;
/** Entries journaled as pending in one step while the source is loaded (source batches are gathered up to it). */
const LOAD_JOURNAL_ENTRIES = 5_000;
/** Sends of one record within a run, the first included: lost answers and retryable rejects. */
const MAX_SEND_ATTEMPTS = 3;
/** Wait before resending records refused with a retryable reject, times the pass number. */
const RETRYABLE_REJECT_WAIT_MS = 500;
/** Most ambiguous keys named in a message (all are in `RunError.ambiguousKeys`). */
const KEYS_IN_MESSAGE = 20;
/** Most CRM ids waiting in memory to be linked (about 100 bytes each); beyond, outcomes wait for the link calls. */
const LINKS_IN_MEMORY = 250_000;
/** Links handed to `linkCrmIds` per call. */
const LINKS_PER_CALL = 1000;

interface ExportRun {
  readonly context: RunContext;
  readonly stores: ExportStores;
  readonly job: ExportJob;
  readonly plan: PreparedExport;
  readonly description: ObjectDescription;
  readonly runId: string;
  readonly batchSize: number;
  /** Records sent back to pending by a retryable reject since the last pass. */
  retryableRejects: number;
  /**
   * Entries this invocation committed, by what they did ({@link committedAction}). When the run
   * was opened by this invocation these are all the run's committed entries, so the final counts
   * need no read of the whole journal; a resumed run counts from the journal instead.
   */
  readonly committed: Record<'created' | 'updated' | 'unchanged', number>;
  /** True when this invocation resumed a run an earlier one opened. */
  readonly resumed: boolean;
  /** Where settled outcomes go ({@link ExportRunOptions.onBatchSettled}). */
  readonly onBatchSettled?: ExportRunOptions['onBatchSettled'];
  /** Deliveries made so far in this invocation. */
  deliveries: number;
  /** Resolves when the previous delivery is done: calls never overlap. */
  delivering: Promise<void>;
  /** Set once the callback threw: nothing more is delivered or sent. */
  callbackFailure?: RunError;
  /** Set when reading the source or journaling it failed: the load stops and the run fails with it. */
  loadFailure?: RunError;
  /**
   * CRM ids this invocation's inserts and upserts were given and not yet handed to the source's
   * `linkCrmIds`, so that a run this invocation opened needs no read of its committed entries to
   * link its rows. `undefined` when the source links nothing or the run was resumed (the journal
   * is read when the run ends instead).
   */
  links: CrmIdLink[] | undefined;
  /**
   * The link calls made while the run goes on, one at a time and in order: each takes
   * {@link LINKS_PER_CALL} links whose outcomes are journaled, so the rows are linked while later
   * batches are in flight instead of after the last one.
   */
  readonly linkCalls: PQueue;
  /** Links the calls made while the run went on found held by another row. */
  linkConflicts: number;
  /**
   * Set when a link call made while the run went on failed: no more links are kept or handed over,
   * and the run fails with it when it ends (the next run links every committed entry).
   */
  linkFailure?: unknown;
}

/** Where the rows to export are read from, peeked before a journal run is opened. */
type SourceBatches = AsyncIterator<readonly SourceRecord[]>;

/** Runs (or plans, on a dry run) an export job. */
export async function runExport(
  context: RunContext,
  stores: ExportStores,
  givenJob: ExportJob,
  options: ExportRunOptions,
): Promise<Result<RunSummary, RunError>> {
  const { connector } = context.deps;
  let job: ExportJob;
  try {
    job = await resolveChangedSince(context, stores.journal, givenJob);
  } catch (error) {
    return err(storeFailure(context, error, 'reading the export journal for changedSince "last-export"'));
  }
  context.progress('validate');
  // Before any CRM call: a mapped local column the table does not have would export nothing.
  let columnIssues;
  try {
    columnIssues = await checkLocalColumns(job, stores.source);
  } catch (error) {
    return err(storeFailure(context, error, `reading the columns of local table "${job.table}"`));
  }
  if (columnIssues.length > 0) {
    const lines = columnIssues.map((issue) => `- ${issue.path}: ${issue.message}`).join('\n');
    return err(context.fail('invalid-job', `export job "${job.activity}" maps local columns that table "${job.table}" does not have:\n${lines}`, { issues: columnIssues }));
  }
  const described = await context.call('describe', () => connector.describe(job.object));
  if (described.isErr()) return err(described.error);
  const prepared = prepareExport(job, described.value, connector.capabilities);
  if (!prepared.ok) {
    const lines = prepared.issues.map((issue) => `- ${issue.path}: ${issue.message}`).join('\n');
    return err(context.fail('invalid-job', `export job "${job.activity}" does not fit ${job.object}:\n${lines}`, { issues: prepared.issues }));
  }
  const batchSize = Math.min(job.batchSize ?? connector.capabilities.maxUpsertBatch, connector.capabilities.maxUpsertBatch);

  try {
    if (options.dryRun) return ok(await planExport(context, stores, job, batchSize));
    const jobId = exportJobId(job);
    let run = await stores.journal.findOpenRun(jobId);
    if (run && options.resume === false) {
      // Abandoning a run with inserts in doubt would resend them as new records: a silent duplicate.
      const open = await stores.journal.countByState(run.runId);
      const unsettled = open.sent + open.unknown;
      if (unsettled > 0 && job.inDoubtPolicy !== 'resend' && job.inDoubtPolicy !== 'skip') {
        return err(
          context.fail(
            'in-doubt',
            `the interrupted run ${run.runId} has ${unsettled} records whose outcome is unknown; resume it (resume: true) so they are settled, or set inDoubtPolicy "resend" or "skip" to abandon it knowingly`,
          ),
        );
      }
      await stores.journal.closeRun(run.runId, 'failed', { reason: 'abandoned: a new run was started with resume false' }, context.fence);
      context.note(`closed the interrupted run ${run.runId} as failed (resume: false)`);
      run = undefined;
    }
    const source = stores.source.read(job.table, sourceOptions(job))[Symbol.asyncIterator]();
    let first: readonly SourceRecord[] | undefined;
    const resumed = run !== undefined;
    if (run) context.note(`resuming the interrupted run ${run.runId}`);
    else {
      // Nothing to export opens no journal run: an idle sync loop leaves no trace in the journal.
      first = await firstRecords(source);
      if (first === undefined) {
        const since = job.changedSince === undefined ? '' : ` changed since ${job.changedSince as string}`;
        context.note(`nothing to export: table "${job.table}" has no rows${since}; no journal run was opened`);
        context.progress('done');
        return ok(context.summary());
      }
      run = await stores.journal.startRun(jobId, context.fence);
    }
    context.journalRunId = run.runId;
    const state: ExportRun = {
      context,
      stores,
      job,
      plan: prepared.value,
      description: described.value,
      runId: run.runId,
      batchSize,
      retryableRejects: 0,
      committed: { created: 0, updated: 0, unchanged: 0 },
      resumed,
      ...(options.onBatchSettled === undefined ? {} : { onBatchSettled: options.onBatchSettled }),
      deliveries: 0,
      delivering: Promise.resolve(),
      links: resumed || stores.source.linkCrmIds === undefined ? undefined : [],
      linkCalls: new PQueue({ concurrency: 1 }),
      linkConflicts: 0,
    };
    return await exportRun(state, source, first);
  } catch (error) {
    return err(storeFailure(context, error, 'the export journal or source'));
  }
}

async function planExport(context: RunContext, stores: ExportStores, job: ExportJob, batchSize: number): Promise<RunSummary> {
  let records = 0;
  for await (const batch of stores.source.read(job.table, sourceOptions(job))) records += batch.length;
  const batches = Math.ceil(records / batchSize);
  return context.summary({
    plan: {
      operation: 'export',
      activity: job.activity,
      object: job.object,
      queries: [],
      batches,
      records,
      estimatedApiCalls: context.apiCalls() + batches,
      notes: [...context.summary().notes, `${records} records in ${batches} batches of at most ${batchSize}; nothing was sent or journaled (dry run)`],
    },
  });
}

/**
 * Resolves `changedSince: 'last-export'` from the journal: rows changed since the start of the
 * job's last finished run. The start, not the end, so that a row the application changed while
 * that run was reading is sent again rather than missed. Without a finished run, every row the
 * application changed at all (rows without a change time, only imported from the CRM, never are).
 */
async function resolveChangedSince(context: RunContext, journal: ExportJournal, job: ExportJob): Promise<ExportJob> {
  if (job.changedSince !== SINCE_LAST_EXPORT) return job;
  const last = (await journal.listRuns(exportJobId(job))).find((run) => run.status === 'finished');
  if (last === undefined) {
    context.note(`changedSince: ${SINCE_LAST_EXPORT}: no finished export of this job yet, so every row changed locally is exported`);
    return { ...job, changedSince: EVERY_LOCAL_CHANGE };
  }
  context.note(`changedSince: ${SINCE_LAST_EXPORT}: rows changed locally since ${last.startedAt} (the start of run ${last.runId})`);
  return { ...job, changedSince: last.startedAt };
}

/** Every row changed locally at all: where `last-export` starts when the job never finished a run. */
const EVERY_LOCAL_CHANGE = '1970-01-01T00:00:00.000Z';

/** The first non-empty batch of the source, or `undefined` when it has no rows. */
async function firstRecords(source: SourceBatches): Promise<readonly SourceRecord[] | undefined> {
  for (;;) {
    const next = await source.next();
    if (next.done === true) return undefined;
    if (next.value.length > 0) return next.value;
  }
}

/** The batches of a source, starting with one already read from it. */
async function* sourceBatches(source: SourceBatches, first: readonly SourceRecord[] | undefined): AsyncIterable<readonly SourceRecord[]> {
  if (first !== undefined) yield first;
  for (;;) {
    const next = await source.next();
    if (next.done === true) return;
    yield next.value;
  }
}

function sourceOptions(job: ExportJob): Parameters<RecordSource['read']>[1] {
  return {
    ...(job.changedSince === undefined || job.changedSince === SINCE_LAST_EXPORT ? {} : { changedSince: job.changedSince }),
    ...(job.keys === undefined ? {} : { keys: job.keys }),
    ...(job.batchSize === undefined ? {} : { batchSize: job.batchSize }),
  };
}

async function exportRun(run: ExportRun, source: SourceBatches, first: readonly SourceRecord[] | undefined): Promise<Result<RunSummary, RunError>> {
  const { context, stores, runId } = run;
  let open: Readonly<Record<JournalEntry['state'], number>> = NO_ENTRIES;
  if (run.resumed) {
    const before = await stores.journal.countByState(runId);
    const earlier = before.committed + (run.job.resendRejected ? 0 : before.rejected);
    if (earlier > 0) {
      context.note(`${earlier} records were settled by an earlier invocation of run ${runId}; the counts include them by what happened to each`);
      const redelivered = await redeliver(run);
      if (redelivered.isErr()) return err(redelivered.error);
    }
  }
  const loading = load(run, sourceBatches(source, first));
  if (run.resumed) {
    // A resumed run journals the rest of the source first: settling reads the whole run.
    for await (const page of loading) void page;
    if (run.loadFailure) return err(run.loadFailure);
    open = await stores.journal.countByState(runId);
  }
  context.progress('write');

  // Pass 1 settles what an earlier invocation left in doubt; later passes settle this run's own
  // and resend records refused with a retryable reject. A run this invocation opened sends its
  // first pass straight from the load, each page once it is journaled pending.
  for (let pass = 0; pass < MAX_SEND_ATTEMPTS; pass += 1) {
    if (pass > 0 && run.retryableRejects > 0) {
      context.note(`pass ${pass + 1}: resending ${run.retryableRejects} records the CRM refused with a retryable reject (e.g. a row lock)`);
      run.retryableRejects = 0;
      await context.deps.sleep(RETRYABLE_REJECT_WAIT_MS * pass, context.options.signal);
    }
    // Settling reads every entry in the states it settles: skipped when the counts say there is
    // none (a fresh run), which on a journal without a state index saves a scan of the whole run.
    const resendRejected = pass === 0 && run.job.resendRejected === true && open.rejected > 0;
    if (open.sent + open.unknown > 0 || resendRejected) {
      const settled = await settle(run, pass === 0);
      if (settled.isErr()) return err(settled.error);
    }
    const fromLoad = pass === 0 && !run.resumed;
    const sent = await sendPending(run, fromLoad ? loading : pendingPages(run));
    // A failed load step ends the pages it feeds: what was journaled before it was sent.
    if (run.loadFailure) return err(run.loadFailure);
    if (sent.isErr()) return err(sent.error);
    open = await stores.journal.countByState(runId);
    if (open.unknown === 0 && open.sent === 0 && open.pending === 0) break;
  }
  const unsettled = open.pending + open.sent + open.unknown;
  if (unsettled > 0) {
    return err(context.fail('in-doubt', `${unsettled} records of run ${runId} are still unsettled; run the job again to resume`));
  }
  const settledCounts = await linkCreatedAndCount(run);
  await context.flushRejects();
  await countFromJournal(run, settledCounts);
  const summary = context.summary({ runId });
  await stores.journal.closeRun(runId, 'finished', { ...summary, notes: [...summary.notes] } as unknown as Record<string, unknown>, context.fence);
  context.progress('done');
  return ok(summary);
}

/** The state counts of a run with no entry. */
const NO_ENTRIES: Readonly<Record<JournalEntry['state'], number>> = { pending: 0, sent: 0, committed: 0, rejected: 0, unknown: 0 };

/**
 * Reads the source into the journal; on resume only rows not journaled yet are added. Yields the
 * entries to send, in pages of a send window, each page only once every entry in it is journaled
 * `pending` (the durable record a restart resumes from), so the send loop sends a run's records
 * from memory instead of reading them back. A failure ends the pages and is kept in
 * `run.loadFailure`. The load runs at most {@link LOAD_AHEAD} journaled entries ahead of the
 * send loop, so memory holds a few load steps, not the source.
 */
async function* load(run: ExportRun, batches: AsyncIterable<readonly SourceRecord[]>): AsyncGenerator<readonly SendEntry[]> {
  const { context, stores, runId } = run;
  const known = new Set<string>();
  let nextSeq = 0;
  if (run.resumed) {
    for (let afterSeq = -1; ; ) {
      const page = await stores.journal.listEntries(runId, { afterSeq, limit: 1000 });
      if (page.length === 0) break;
      for (const entry of page) known.add(entry.localKey);
      afterSeq = page[page.length - 1]!.seq;
      nextSeq = afterSeq + 1;
    }
  }
  const limit = sendWindow(run);
  // The source is read and journaled by a producer of its own, a bounded distance ahead of the
  // send loop: steps of up to LOAD_JOURNAL_ENTRIES entries (fewer, larger durable writes: one
  // commit each), in order, one write at a time, each written while the next is read and built
  // (on a database server the write is another process's work), and never more than LOAD_AHEAD
  // entries journaled and not yet taken by the send loop. Without that distance every step's
  // write would wait for the send loop to ask, and the send loop for the write.
  const ready: (readonly SendEntry[])[] = [];
  let readyEntries = 0;
  let stopped = false;
  let finished = false;
  /** Wakes the send loop waiting for a step, and the producer waiting for room. */
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const woken = (): void => {
    wakeConsumer?.();
    wakeConsumer = undefined;
  };
  const produce = async (): Promise<void> => {
    /** The step being journaled; resolves false once it failed. Callers await it before the next one. */
    let writing: Promise<boolean> | undefined;
    const write = (entries: NewJournalEntry[], refused: LoadReject[], sendable: SendEntry[]): void => {
      writing = (async () => {
        if (stopped) return false;
        const result = await journalLoaded(run, entries, refused, sendable);
        if (result.isErr()) {
          run.loadFailure ??= result.error;
          return false;
        }
        if (result.value.length > 0) {
          ready.push(result.value);
          readyEntries += result.value.length;
          woken();
        }
        return true;
      })();
      // Awaited before the next step and at the end; marked handled so that a throw is not reported as unhandled meanwhile.
      writing.catch(() => undefined);
    };
    try {
      let entries: NewJournalEntry[] = [];
      let sendable: SendEntry[] = [];
      let refused: LoadReject[] = [];
      for await (const batch of batches) {
        for (const record of batch) {
          context.counts.read += 1;
          if (known.has(record.key)) continue;
          known.add(record.key);
          const seq = nextSeq++;
          const built = buildEntry(run, record, seq);
          entries.push(built.entry);
          if (built.reject) refused.push({ seq, record, reject: built.reject });
          else sendable.push(sendEntry(built.entry));
        }
        if (entries.length < LOAD_JOURNAL_ENTRIES) continue;
        // One write in flight: the step before is journaled before this one starts.
        if (writing !== undefined && !(await writing)) return;
        write(entries, refused, sendable);
        entries = [];
        refused = [];
        sendable = [];
        while (readyEntries >= LOAD_AHEAD && !stopped) {
          await new Promise<void>((resolve) => {
            wakeProducer = resolve;
          });
        }
        if (stopped) return;
      }
      if (entries.length > 0 && (writing === undefined || (await writing))) write(entries, refused, sendable);
      if (writing !== undefined) await writing;
    } catch (error) {
      run.loadFailure ??= storeFailure(context, error, `reading local table "${run.job.table}"`);
    } finally {
      // Stopped early by the send loop (a failure, a stop): the step in flight still completes.
      if (writing !== undefined) await writing.catch(() => false);
      finished = true;
      woken();
    }
  };
  const producing = produce();
  try {
    for (;;) {
      const step = ready.shift();
      if (step !== undefined) {
        readyEntries -= step.length;
        wakeProducer?.();
        wakeProducer = undefined;
        for (let offset = 0; offset < step.length; offset += limit) yield step.slice(offset, offset + limit);
        continue;
      }
      if (finished || run.loadFailure) return;
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve;
      });
    }
  } finally {
    stopped = true;
    wakeProducer?.();
    await producing;
  }
}

/** An entry as the send loop needs it: a journaled entry, or one this invocation just journaled. */
type SendEntry = Pick<JournalEntry, 'seq' | 'localKey' | 'syncKey' | 'mode' | 'crmId' | 'payload' | 'attempts'>;

/** A new entry as sent for the first time. */
function sendEntry(entry: NewJournalEntry): SendEntry {
  return { seq: entry.seq, localKey: entry.localKey, syncKey: entry.syncKey, mode: entry.mode, crmId: entry.crmId, payload: entry.payload, attempts: 0 };
}

/** Entries per page of the send loop: the batches of one window. */
function sendWindow(run: ExportRun): number {
  return run.batchSize * Math.max(SEND_WINDOW_BATCHES, run.context.deps.connector.capabilities.concurrency);
}

/**
 * The run's pending entries read from the journal, by `seq`, one window per page. The next page is
 * read while the current one is sent: it comes after it (seq > the page's last), so nothing the
 * current window does to its own entries can change it.
 */
async function* pendingPages(run: ExportRun): AsyncGenerator<readonly SendEntry[]> {
  const { stores, runId } = run;
  const limit = sendWindow(run);
  let next = stores.journal.listEntries(runId, { states: ['pending'], afterSeq: -1, limit });
  for (;;) {
    const page = await next;
    if (page.length === 0) return;
    next = stores.journal.listEntries(runId, { states: ['pending'], afterSeq: page[page.length - 1]!.seq, limit });
    // Awaited on the next page; marked handled so that a failure while this page is sent is not reported as unhandled.
    next.catch(() => undefined);
    yield page;
  }
}

/** A record refused before sending (a value that does not convert, an update without a CRM id). */
interface LoadReject {
  readonly seq: number;
  readonly record: SourceRecord;
  readonly reject: Reject;
}

/**
 * Journals one loaded step: its entries as pending, the refused ones rejected, and delivers those.
 * Resolves to the entries to send once all that is durable.
 */
async function journalLoaded(
  run: ExportRun,
  entries: readonly NewJournalEntry[],
  refused: readonly LoadReject[],
  sendable: readonly SendEntry[],
): Promise<Result<readonly SendEntry[], RunError>> {
  const { context, stores, runId } = run;
  try {
    await stores.journal.addPending(runId, entries, context.fence);
    if (refused.length === 0) return ok(sendable);
    await stores.journal.recordOutcomes(runId, refused.map(({ seq, reject }) => ({ seq, state: 'rejected', reject })), context.fence);
  } catch (error) {
    return err(storeFailure(context, error, `journaling ${entries.length} loaded records`));
  }
  const settled = refused.map(({ record, reject }): ExportRecordOutcome => {
    const crmId = record.crmId === undefined ? {} : { crmId: record.crmId };
    return { key: record.key, ...crmId, outcome: 'rejected', reject: context.reject(reject, { localKey: record.key, ...crmId }) };
  });
  const delivered = await deliver(run, settled);
  return delivered.isErr() ? err(delivered.error) : ok(sendable);
}

/**
 * Delivers settled outcomes to `onBatchSettled`, one call at a time. A throw stops the run: the
 * outcomes stay journaled and an open run delivers them again when it resumes.
 */
async function deliver(run: ExportRun, outcomes: readonly ExportRecordOutcome[]): Promise<Result<void, RunError>> {
  const callback = run.onBatchSettled;
  if (callback === undefined || outcomes.length === 0) return ok(undefined);
  const previous = run.delivering;
  let release!: () => void;
  run.delivering = new Promise((resolve) => {
    release = resolve;
  });
  await previous;
  try {
    if (run.callbackFailure) return err(run.callbackFailure);
    run.deliveries += 1;
    const batch: ExportBatchResult = { runId: run.runId, batch: run.deliveries, outcomes };
    try {
      await callback(batch);
    } catch (error) {
      const text = redactText(error instanceof Error ? error.message : String(error));
      run.callbackFailure = run.context.fail(
        'callback',
        `onBatchSettled threw for delivery ${batch.batch} of run ${run.runId} (${outcomes.length} outcomes): ${text}. The outcomes are in the export journal and nothing more was sent; fix the callback and run the job again: the run resumes and delivers every settled outcome again (at least once)`,
        { cause: redact(error) },
      );
      return err(run.callbackFailure);
    }
    return ok(undefined);
  } finally {
    release();
  }
}

/** What the application is told about a settled journal entry, or `undefined` while it is open. */
function settledOutcome(run: ExportRun, entry: JournalEntry): ExportRecordOutcome | undefined {
  if (entry.state === 'committed') {
    return { key: entry.localKey, ...(entry.crmId === undefined ? {} : { crmId: entry.crmId }), outcome: committedAction(entry) };
  }
  if (entry.state !== 'rejected') return undefined;
  // An insert's client-chosen id names no CRM record when the insert was refused.
  const crmId = entry.mode === 'insert' && clientIds(run) ? undefined : entry.crmId;
  const reject: Reject = entry.reject ?? { code: 'unknown', message: 'rejected (the journal kept no reason)', fields: [], retryable: false };
  const item = run.context.rejectItem(reject, { localKey: entry.localKey, ...(crmId === undefined ? {} : { crmId }) });
  return { key: entry.localKey, ...(crmId === undefined ? {} : { crmId }), outcome: 'rejected', reject: item };
}

/** What a committed entry did in the CRM; an entry journaled without an action by its mode. */
function committedAction(entry: Pick<JournalEntry, 'action' | 'mode'>): 'created' | 'updated' | 'unchanged' {
  if (entry.action === 'created' || entry.action === 'updated' || entry.action === 'unchanged') return entry.action;
  return entry.mode === 'update' ? 'updated' : 'created';
}

/** On resume, delivers again every outcome an earlier invocation settled (at-least-once). */
async function redeliver(run: ExportRun): Promise<Result<void, RunError>> {
  if (run.onBatchSettled === undefined) return ok(undefined);
  const states: JournalEntry['state'][] = run.job.resendRejected ? ['committed'] : ['committed', 'rejected'];
  for await (const page of entriesIn(run.stores.journal, run.runId, states, run.batchSize)) {
    const outcomes = page.map((entry) => settledOutcome(run, entry)).filter((outcome): outcome is ExportRecordOutcome => outcome !== undefined);
    const delivered = await deliver(run, outcomes);
    if (delivered.isErr()) return delivered;
  }
  return ok(undefined);
}

/** What one pass over a run's committed entries found: actions by kind, and links refused. */
interface CommittedCounts {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly linkConflicts: number;
}

/**
 * Sets the run's created / updated / unchanged / rejected counts from its journal, so that they
 * say what happened to each record whichever invocation settled it (a settled in-flight insert is
 * created, an earlier reject stays rejected). `committed.linkConflicts` are rejects found after
 * the CRM write.
 */
async function countFromJournal(run: ExportRun, committed: CommittedCounts): Promise<void> {
  const states = await run.stores.journal.countByState(run.runId);
  const { created, updated, unchanged, linkConflicts } = committed;
  Object.assign(run.context.counts, { created, updated, unchanged }, { rejected: states.rejected + linkConflicts, skipped: 0 });
}

function buildEntry(run: ExportRun, record: SourceRecord, seq: number): { entry: NewJournalEntry; reject?: Reject } {
  const { job, plan } = run;
  const mode: WriteMode =
    job.mode === 'update' || (job.mode === 'auto' && record.crmId !== undefined)
      ? 'update'
      : job.mode === 'upsert' || plan.insertAsUpsert
        ? 'upsert'
        : 'insert';
  const converted = convertRecord(plan.fields, record.values, 'to-remote');
  // The converted values are a fresh object per record: the payload is it, not a copy (a copy made
  // by spread is also slow for V8 to extend with the sync key).
  const payload: Record<string, FieldValue> = converted.ok ? converted.values : {};
  if (plan.syncKeyField !== undefined) payload[plan.syncKeyField] = record.key;
  // A client-chosen id is journaled with the insert before it is sent, so a resend reuses it.
  const crmId = mode === 'insert' && clientIds(run) ? randomUUID() : record.crmId;
  const entry: NewJournalEntry = {
    seq,
    localKey: record.key,
    mode,
    payload,
    ...(plan.syncKeyField === undefined ? {} : { syncKey: record.key }),
    ...(crmId === undefined ? {} : { crmId }),
  };
  if (!converted.ok) return { entry, reject: { code: 'invalid-value', message: converted.message, fields: [converted.field], retryable: false } };
  if (mode === 'update' && record.crmId === undefined) {
    return {
      entry,
      reject: { code: 'not-found', message: `[crm-sync] [orchestrator] local record "${record.key}" has no CRM id, and mode update never creates; use mode auto or insert`, retryable: false },
    };
  }
  return { entry };
}

/** True when the connector takes client-chosen ids on insert: inserts then carry a journaled id. */
function clientIds(run: ExportRun): boolean {
  return run.context.deps.connector.capabilities.clientInsertIds === true;
}

/** True for an insert sent with a client-chosen id: resending it can never duplicate. */
function hasClientId(run: ExportRun, entry: Pick<JournalEntry, 'mode' | 'crmId'>): boolean {
  return entry.mode === 'insert' && entry.crmId !== undefined && clientIds(run);
}

/** Lists every entry in some states, in seq order, page by page. */
async function* entriesIn(journal: ExportJournal, runId: string, states: JournalEntry['state'][], limit = 1000): AsyncIterable<readonly JournalEntry[]> {
  for (let afterSeq = -1; ; ) {
    const page = await journal.listEntries(runId, { states, afterSeq, limit });
    if (page.length === 0) return;
    yield page;
    afterSeq = page[page.length - 1]!.seq;
  }
}

/**
 * Settles entries whose outcome is unknown: updates and upserts are idempotent and go back to
 * pending; inserts are settled by the sync key, or by the in-doubt policy without one.
 */
async function settle(run: ExportRun, includeRejected: boolean): Promise<Result<void, RunError>> {
  const { context, stores, job, plan, runId } = run;
  const { connector } = context.deps;
  const states: JournalEntry['state'][] = includeRejected && job.resendRejected ? ['sent', 'unknown', 'rejected'] : ['sent', 'unknown'];
  const ambiguous: string[] = [];
  for await (const page of entriesIn(stores.journal, runId, states)) {
    const outcomes: JournalOutcome[] = [];
    const settled: ExportRecordOutcome[] = [];
    const lookups: JournalEntry[] = [];
    let resentById = 0;
    for (const entry of page) {
      if (entry.state === 'rejected' || entry.mode !== 'insert' || (plan.syncKeyField !== undefined && connector.capabilities.upsertByExternalId)) {
        outcomes.push({ seq: entry.seq, state: 'pending' });
      } else if (hasClientId(run, entry)) {
        // Sent again with the same id: the CRM creates it, or answers that it already exists.
        outcomes.push({ seq: entry.seq, state: 'pending' });
        resentById += 1;
      } else if (plan.syncKeyField !== undefined && entry.syncKey !== undefined) {
        lookups.push(entry);
      } else if (job.inDoubtPolicy === 'resend') {
        outcomes.push({ seq: entry.seq, state: 'pending' });
      } else if (job.inDoubtPolicy === 'skip') {
        const reject: Reject = { code: 'unknown', message: '[crm-sync] [orchestrator] the insert may or may not have reached the CRM; skipped by inDoubtPolicy skip', retryable: false };
        outcomes.push({ seq: entry.seq, state: 'rejected', reject });
        settled.push({ key: entry.localKey, outcome: 'rejected', reject: context.reject(reject, { localKey: entry.localKey }) });
      } else {
        ambiguous.push(entry.localKey);
      }
    }
    if (resentById > 0) context.note(`${resentById} inserts in doubt carry the id they were sent with; they are sent again with it, so none can be duplicated`);
    if (lookups.length > 0) {
      context.progress('settle');
      const found = await findBySyncKey(context, job.object, plan.syncKeyField!, lookups.map((entry) => entry.syncKey!));
      if (found.isErr()) return err(found.error);
      for (const entry of lookups) {
        const crmId = found.value.get(entry.syncKey!);
        outcomes.push(crmId === undefined ? { seq: entry.seq, state: 'pending' } : { seq: entry.seq, state: 'committed', crmId, action: 'created' });
        if (crmId !== undefined) {
          context.counts.created += 1;
          run.committed.created += 1;
          // Linked once this step is journaled (linkWhileRunning, after recordOutcomes below).
          keepLink(run, entry, crmId);
          settled.push({ key: entry.localKey, crmId, outcome: 'created' });
        }
      }
      const settledCount = lookups.filter((entry) => found.value.has(entry.syncKey!)).length;
      context.note(`settled ${lookups.length} in-doubt inserts by sync key: ${settledCount} were already in the CRM, ${lookups.length - settledCount} will be sent`);
    }
    await stores.journal.recordOutcomes(runId, outcomes, context.fence);
    await linkWhileRunning(run);
    const delivered = await deliver(run, settled);
    if (delivered.isErr()) return delivered;
  }
  if (ambiguous.length > 0) {
    const named = ambiguous.slice(0, KEYS_IN_MESSAGE).join(', ') + (ambiguous.length > KEYS_IN_MESSAGE ? `, ... (${ambiguous.length} in all)` : '');
    return err(
      context.fail(
        'in-doubt',
        `${ambiguous.length} inserts of run ${runId} may or may not have reached the CRM (the answer was lost) and the job has no sync key to tell: ${named}. Check these records in the CRM, then run again with inDoubtPolicy "resend" (send them again; duplicates possible) or "skip" (leave them out), or add a syncKey (an external-id field) so this is settled automatically`,
        { ambiguousKeys: ambiguous },
      ),
    );
  }
  return ok(undefined);
}

/**
 * Sends every pending entry in batches, up to the connector's concurrency in flight. A batch holds
 * a CRM slot while it is marked sent and sent; its outcomes are journaled after the slot is free,
 * so later batches go out while earlier outcomes are written (a journal on a database server then
 * works while the CRM does). The next window of pending entries is read while the current one is
 * in flight and queued as soon as fewer batches wait than may run, so a slot that frees up finds a
 * batch waiting (waiting for a whole window to finish would leave every slot but the slowest idle
 * at each window's end). Entries are paged by `seq`, so the window read ahead never holds an entry
 * a batch in flight is sending. At most {@link OPEN_WINDOWS} windows are open at once.
 */
async function sendPending(run: ExportRun, pages: AsyncIterable<readonly SendEntry[]>): Promise<Result<void, RunError>> {
  const { context } = run;
  const { connector } = context.deps;
  const concurrency = Math.max(1, connector.capabilities.concurrency);
  const crmSlots = new PQueue({ concurrency });
  let failure: RunError | undefined;
  /** Set when the run is stopped: batches not started stay pending. */
  let stopping = false;
  let batchNumber = 0;
  /** The windows before, oldest first: their batches, until each has journaled its outcomes. */
  const settling: Promise<void>[][] = [];
  for await (const page of pages) {
    if (failure) break;
    const stopped = context.aborted();
    if (stopped) {
      // Batches not started stay pending; those in flight finish journaling their outcome.
      stopping = true;
      await crmSlots.onIdle();
      await Promise.all(settling.flat());
      return err(stopped);
    }
    const window: Promise<void>[] = [];
    for (const batch of batchesOf(run, page)) {
      batchNumber += 1;
      const number = batchNumber;
      window.push(
        (async () => {
          const sent = await crmSlots.add(async () => {
            if (failure || stopping) return undefined;
            const answered = await sendBatch(run, batch, number);
            // Known before the slot is free, so no batch of the next window leaves after it.
            failure ??= runStopper(batch, answered);
            return answered;
          });
          if (sent === undefined) return;
          const result = await journalOutcomes(run, batch, number, sent);
          if (result.isErr()) failure ??= result.error;
        })(),
      );
    }
    await crmSlots.onSizeLessThan(concurrency);
    settling.push(window);
    if (settling.length >= OPEN_WINDOWS) await Promise.all(settling.shift()!);
    context.progress('write');
  }
  await Promise.all(settling.flat());
  return failure ? err(failure) : ok(undefined);
}

interface Batch {
  readonly mode: WriteMode;
  readonly entries: readonly SendEntry[];
}

/** The mode an entry is sent with: a resent insert with a sync key becomes an upsert by it. */
function sendMode(run: ExportRun, entry: SendEntry): WriteMode {
  if (entry.mode !== 'insert' || entry.attempts === 0) return entry.mode;
  const upsertable = run.plan.syncKeyField !== undefined && run.context.deps.connector.capabilities.upsertByExternalId;
  return upsertable ? 'upsert' : entry.mode;
}

function batchesOf(run: ExportRun, entries: readonly SendEntry[]): Batch[] {
  const byMode = new Map<WriteMode, SendEntry[]>();
  for (const entry of entries) {
    const mode = sendMode(run, entry);
    const list = byMode.get(mode) ?? [];
    list.push(entry);
    byMode.set(mode, list);
  }
  const batches: Batch[] = [];
  for (const [mode, list] of byMode) {
    for (let offset = 0; offset < list.length; offset += run.batchSize) batches.push({ mode, entries: list.slice(offset, offset + run.batchSize) });
  }
  return batches;
}

/**
 * What came back for a batch marked sent: the CRM's answer (with the journal write that marked it
 * sent, awaited before its outcomes are journaled), or a failure before or while sending.
 */
type SentBatch =
  | { readonly kind: 'answered'; readonly result: Result<readonly WriteOutcome[], RunError>; readonly marked: Promise<void> }
  | { readonly kind: 'failed'; readonly error: RunError };

/**
 * Marks a batch sent, then sends it (the part that holds a CRM slot). An insert leaves only once
 * the journal says "sent": a crash after that is settled on restart (by the sync key, the client
 * id or the in-doubt policy), and one before it leaves the insert pending, never sent. Updates
 * and upserts (by sync key) are idempotent: a resend changes nothing a first send did, so they
 * leave while the journal write is on its way (it is awaited before their outcomes are journaled,
 * so the journal's order holds), and a journal on a database server costs them no round trip. A
 * crash before that write lands leaves them pending, and the next run sends them again; the one
 * thing it can change is a count: a record the lost send created is then counted as updated.
 */
async function sendBatch(run: ExportRun, batch: Batch, number: number): Promise<SentBatch> {
  const { context, stores, job, plan, runId } = run;
  const { connector } = context.deps;
  const batchId = `${runId}-b${number}-${batch.entries[0]!.seq}`;
  const seqs = batch.entries.map((entry) => entry.seq);
  const request: UpsertBatchRequest = {
    object: job.object,
    mode: batch.mode,
    ...(batch.mode === 'upsert' ? { externalIdField: plan.syncKeyField! } : {}),
    records: batch.entries.map((entry) => ({
      values: entry.payload,
      ...((batch.mode === 'update' || (batch.mode === 'insert' && hasClientId(run, entry))) && entry.crmId !== undefined ? { id: entry.crmId } : {}),
    })),
  };
  let marked: Promise<void>;
  try {
    marked = stores.journal.markSent(runId, seqs, batchId, context.fence);
  } catch (error) {
    return { kind: 'failed', error: storeFailure(context, error, `journaling batch ${number}`) };
  }
  if (batch.mode === 'insert') {
    try {
      await marked;
    } catch (error) {
      return { kind: 'failed', error: storeFailure(context, error, `journaling batch ${number}`) };
    }
  } else {
    // Awaited by journalOutcomes; marked handled so that a failure while the batch is sent is not reported as unhandled.
    marked.catch(() => undefined);
  }
  // A lost answer to an insert batch must not be retried blindly: it is settled by the sync key.
  const result = await context.call(`batch ${number}`, () => connector.upsertBatch(request), (error) => !(error.inDoubt && batch.mode === 'insert'));
  return { kind: 'answered', result, marked };
}

/** The error that ends the send loop once this batch is journaled, if its send failed for good. */
function runStopper(batch: Batch, sent: SentBatch): RunError | undefined {
  if (sent.kind === 'failed') return sent.error;
  if (sent.result.isOk()) return undefined;
  const inDoubt = sent.result.error.crmError?.inDoubt === true && batch.mode === 'insert';
  return inDoubt ? undefined : sent.result.error;
}

/** Journals what became of a batch sent (outside its CRM slot) and delivers the settled outcomes. */
async function journalOutcomes(run: ExportRun, batch: Batch, number: number, sent: SentBatch): Promise<Result<void, RunError>> {
  const { context, stores, runId } = run;
  const { connector } = context.deps;
  if (sent.kind === 'failed') return err(sent.error);
  const seqs = batch.entries.map((entry) => entry.seq);
  const result = sent.result;
  try {
    await sent.marked;
    if (result.isErr()) {
      const inDoubt = result.error.crmError?.inDoubt === true && batch.mode === 'insert';
      await stores.journal.recordOutcomes(runId, seqs.map((seq) => ({ seq, state: inDoubt ? 'unknown' : 'pending' })), context.fence);
      if (inDoubt) {
        context.note(`batch ${number}: the CRM's answer was lost; ${seqs.length} inserts are in doubt and will be settled`);
        return ok(undefined);
      }
      return err(result.error);
    }
    const outcomes = result.value;
    if (outcomes.length !== batch.entries.length) {
      await stores.journal.recordOutcomes(runId, seqs.map((seq) => ({ seq, state: batch.mode === 'insert' ? 'unknown' : 'pending' })), context.fence);
      return err(context.fail('crm', `batch ${number}: connector "${connector.id}" returned ${outcomes.length} outcomes for ${batch.entries.length} records; outcomes must match records one to one, in order`));
    }
    const results = batch.entries.map((entry, index) => outcomeOf(run, entry, batch.mode, outcomes[index]!));
    await stores.journal.recordOutcomes(runId, results.map((recorded) => recorded.journal), context.fence);
    for (let index = 0; index < results.length; index += 1) {
      const recorded = results[index]!.journal;
      if (recorded.state === 'committed') keepLink(run, batch.entries[index]!, recorded.crmId);
    }
    await linkWhileRunning(run);
    await context.flushRejects();
    if (run.onBatchSettled === undefined) return ok(undefined);
    const settled: ExportRecordOutcome[] = [];
    for (const result of results) if (result.settled !== undefined) settled.push(result.settled);
    return await deliver(run, settled);
  } catch (error) {
    return err(storeFailure(context, error, `journaling batch ${number}`));
  }
}

/** The journal's outcome of one record and, once it is settled, what the application is told. */
interface RecordResult {
  readonly journal: JournalOutcome;
  readonly settled?: ExportRecordOutcome;
}

function outcomeOf(run: ExportRun, entry: SendEntry, mode: WriteMode, outcome: WriteOutcome): RecordResult {
  const { context } = run;
  if (outcome.ok) {
    // A record with no CRM id resent after a lost answer (an upsert by its sync key) finds the
    // record its first send created: the CRM says updated, but this run created it.
    const resentCreate = entry.attempts > 0 && entry.mode !== 'update' && (entry.mode === 'insert' || entry.crmId === undefined);
    const action = resentCreate ? 'created' : outcome.action;
    if (action === 'created') context.counts.created += 1;
    else if (action === 'updated') context.counts.updated += 1;
    else if (action === 'unchanged') context.counts.unchanged += 1;
    // As the journal will tell it: committedAction of the entry this outcome commits.
    run.committed[committedAction({ action, mode: entry.mode })] += 1;
    return {
      journal: { seq: entry.seq, state: 'committed', crmId: outcome.id, action },
      settled: { key: entry.localKey, crmId: outcome.id, outcome: committedAction({ action, mode }) },
    };
  }
  // Update-only never re-creates: a record gone from the CRM is reported as deleted there.
  // The CRM's message may echo a credential; the journal is durable, so it keeps the redacted text.
  // A reject the CRM marks retryable (a row lock) goes back to pending and is resent in a later
  // pass of this run; only when it is still refused after the last attempt is it a reject.
  if (outcome.reject.retryable && entry.attempts + 1 < MAX_SEND_ATTEMPTS) {
    run.retryableRejects += 1;
    return { journal: { seq: entry.seq, state: 'pending' } };
  }
  const code = mode === 'update' && outcome.reject.code === 'not-found' ? 'deleted-in-crm' : outcome.reject.code;
  const reject: Reject = { ...outcome.reject, code, message: redactText(outcome.reject.message) };
  // An insert's client-chosen id names no CRM record when the insert was refused.
  const known = entry.mode === 'insert' ? outcome.id : (entry.crmId ?? outcome.id);
  const item = context.reject(reject, { localKey: entry.localKey, ...(known ? { crmId: known } : {}) });
  return {
    journal: { seq: entry.seq, state: 'rejected', reject, ...(outcome.id === undefined ? {} : { crmId: outcome.id }) },
    settled: { key: entry.localKey, ...(known ? { crmId: known } : {}), outcome: 'rejected', reject: item },
  };
}

/**
 * Links local rows to the CRM ids the run created, so the next export updates them, and counts
 * what each committed entry did: one pass over the committed entries serves both. A CRM id
 * another local row already holds is not linked and no row is removed: it is reported as a reject
 * naming both local keys. A run this invocation opened has linked most of its rows while it ran
 * ({@link linkWhileRunning}): this waits for those calls and links the rest.
 */
async function linkCreatedAndCount(run: ExportRun): Promise<CommittedCounts> {
  const { stores, runId } = run;
  // A run this invocation opened counted its own outcomes as it journaled them: no read needed
  // unless there is something to link.
  if (stores.source.linkCrmIds === undefined && !run.resumed) return { ...run.committed, linkConflicts: 0 };
  await run.linkCalls.onIdle();
  if (run.linkFailure !== undefined) throw run.linkFailure;
  if (run.links !== undefined) {
    // This invocation opened the run and kept every link it made: its own counts are the run's.
    let linkConflicts = run.linkConflicts;
    for (let offset = 0; offset < run.links.length; offset += LINKS_PER_CALL) linkConflicts += await linkNow(run, run.links.slice(offset, offset + LINKS_PER_CALL));
    run.links = [];
    return { ...run.committed, linkConflicts };
  }
  const counts = { created: 0, updated: 0, unchanged: 0, linkConflicts: 0 };
  for await (const page of entriesIn(stores.journal, runId, ['committed'])) {
    for (const entry of page) counts[committedAction(entry)] += 1;
    counts.linkConflicts += await linkNow(run, page.filter((entry) => entry.crmId !== undefined && entry.mode !== 'update').map((entry) => ({ key: entry.localKey, crmId: entry.crmId! })));
  }
  return counts;
}

/**
 * Hands `links` to the source's `linkCrmIds` (in canonical form, so that the store finds the row
 * again by the id the CRM reports) and reports each link another row already holds as a reject.
 * Resolves to the number of those conflicts.
 */
async function linkNow(run: ExportRun, links: readonly CrmIdLink[]): Promise<number> {
  const { context, stores, job } = run;
  if (stores.source.linkCrmIds === undefined || links.length === 0) return 0;
  const normalize = idNormalizer(context.deps.connector, job.object);
  const linked = await stores.source.linkCrmIds(
    job.table,
    links.map((made) => ({ key: made.key, crmId: normalize(made.crmId) })),
    context.fence,
  );
  const conflicts = linked?.conflicts ?? [];
  for (const conflict of conflicts) {
    context.reject(
      {
        code: 'duplicate',
        message: `[crm-sync] [orchestrator] local row "${conflict.key}" was exported as CRM record ${conflict.crmId}, but local row "${conflict.heldBy}" of table ${job.table} already holds that CRM id; both rows were kept and "${conflict.key}" was not linked. Merge the two rows (keep one, link it to ${conflict.crmId}), or the next export of "${conflict.key}" creates it again`,
        fields: [],
      },
      { localKey: conflict.key, crmId: conflict.crmId },
    );
  }
  return conflicts.length;
}

/**
 * Keeps the link of a committed entry (see {@link ExportRun.links}): the CRM id of an insert or
 * upsert. It is handed to the store once its outcome is journaled ({@link linkWhileRunning}) or
 * when the run ends.
 */
function keepLink(run: ExportRun, entry: Pick<JournalEntry, 'localKey' | 'mode'>, crmId: string | undefined): void {
  if (run.links === undefined || entry.mode === 'update' || crmId === undefined) return;
  run.links.push({ key: entry.localKey, crmId });
}

/**
 * Called once the outcomes of a step are journaled (so every link kept is of a committed entry):
 * hands each {@link LINKS_PER_CALL} links kept to a link call of {@link ExportRun.linkCalls}, which
 * makes them one at a time, in order, while the run goes on. Past {@link LINKS_IN_MEMORY} links
 * waiting for their call (a store slower than the CRM), resolves only once the calls have caught
 * up, which holds the send loop back.
 */
async function linkWhileRunning(run: ExportRun): Promise<void> {
  while (run.links !== undefined && run.links.length >= LINKS_PER_CALL) {
    const links = run.links.splice(0, LINKS_PER_CALL);
    void run.linkCalls.add(async () => {
      if (run.linkFailure !== undefined) return;
      try {
        run.linkConflicts += await linkNow(run, links);
      } catch (error) {
        run.linkFailure = error;
        run.links = undefined;
      }
    });
  }
  const waiting = LINKS_IN_MEMORY / LINKS_PER_CALL;
  if (run.linkCalls.size >= waiting) await run.linkCalls.onSizeLessThan(waiting);
}
