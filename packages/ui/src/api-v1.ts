/**
 * The JSON API, version 1 (`/api/v1/...`), over a {@link UiStore}. Read-only: every route is a GET
 * and calls only read methods of the stores. Each answer is passed through the SDK's `redact`
 * (registered secrets, secret-looking keys and patterns) before it leaves, and journal entries are
 * sent without their payloads, so no secret and no record value a run wrote by mistake reaches
 * the page. Routes and shapes: docs/guides/dashboard.md.
 *
 * @module
 */
import type { JournalState, RunRecord, RunStatus, SyncOperation } from '@crm-sync/sdk';
import { BadRequestError, checkRunId, JOURNAL_STATES, OPERATIONS, QueryParams, STATUSES } from './query-params.js';
import { rejectsCsv } from './rejects-csv.js';
import type { StoreProblem, UiStore } from './ui-store.js';
import { journalEntryView, runView, type JournalView, type RunView } from './views.js';
import type { WorkersStatusReader } from './workers-status.js';

/** The API version in the path: `/api/v1`. */
export const API_VERSION = 1;

/** What a route answers: JSON with a status, or a CSV stream. */
export type ApiAnswer =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'csv'; readonly filename: string; readonly chunks: AsyncIterable<string> };

/** What the API needs besides the request. */
export interface ApiContext {
  /** The store, or why there is none. */
  readonly store: UiStore | StoreProblem;
  /** How the database is shown (a path, or a URL with its password masked). */
  readonly databaseLabel: string;
  /** The distributed workers' status, when they are in use. */
  readonly workersStatus?: WorkersStatusReader;
  /** Masks secrets in a text. */
  readonly redactText: (text: string) => string;
  /** The clock (tests fix it). */
  readonly now: () => Date;
}

/** A route the API does not have: 404. */
export class NotFoundError extends Error {
  /** @param message - what was not found and where to look */
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** Runs per page at most. */
const MAX_PAGE = 500;

/** Runs per job the jobs route returns at most. */
const MAX_JOB_RUNS = 200;

/**
 * Answers one API request; `path` is the part after `/api/v1`. Throws {@link BadRequestError} or
 * {@link NotFoundError} for the server to turn into 400 and 404.
 */
export async function answerApi(path: string, query: URLSearchParams, context: ApiContext): Promise<ApiAnswer> {
  const params = new QueryParams(query);
  const segments = path.split('/').filter((segment) => segment !== '');
  const [first, second, third, ...rest] = segments;
  if (rest.length > 0) throw new NotFoundError(`no API route ${JSON.stringify(`/api/v1${path}`)}; see docs/guides/dashboard.md`);
  if (first === 'status' && second === undefined) {
    params.done();
    return json(200, statusBody(context));
  }
  // The workers live in Redis, not in the store: shown even when the store cannot be.
  if (first === 'workers' && second === undefined) {
    params.done();
    return json(200, await workers(context));
  }
  const store = context.store;
  if (!('history' in store)) {
    // Nothing to read: every data route says why, the same way.
    params.done();
    return json(503, { error: { code: 'store-unavailable', message: store.message }, problem: store });
  }
  if (first === 'runs' && second === undefined) return json(200, await listRuns(store, params));
  if (first === 'runs' && second !== undefined && third === undefined) return json(200, await showRun(store, checkRunId(second), params, context));
  if (first === 'runs' && second !== undefined && third === 'rejects') return json(200, await listRejects(store, checkRunId(second), params));
  if (first === 'runs' && second !== undefined && third === 'rejects.csv') {
    const runId = checkRunId(second);
    const search = params.text('search');
    params.done();
    if ((await store.history.getRun(runId)) === undefined) throw new NotFoundError(runNotFound(runId));
    return { kind: 'csv', filename: `rejects-${runId}.csv`, chunks: rejectsCsv(store.history, runId, search, context.redactText) };
  }
  if (first === 'runs' && second !== undefined && third === 'journal') return json(200, await listJournal(store, checkRunId(second), params, context));
  if (first === 'jobs' && second === undefined) return json(200, await listJobs(store, params));
  throw new NotFoundError(`no API route ${JSON.stringify(`/api/v1${path}`)}; the routes are /status, /runs, /runs/<id>, /runs/<id>/rejects, /runs/<id>/rejects.csv, /runs/<id>/journal, /jobs and /workers (docs/guides/dashboard.md)`);
}

function json(status: number, body: unknown): ApiAnswer {
  return { kind: 'json', status, body };
}

function runNotFound(runId: string): string {
  return `no run "${runId}" in the run history (it may have been pruned); list the runs with GET /api/v1/runs`;
}

function statusBody(context: ApiContext): unknown {
  const problem = 'history' in context.store ? undefined : context.store;
  return {
    api: API_VERSION,
    readOnly: true,
    database: context.databaseLabel,
    workers: context.workersStatus !== undefined,
    now: context.now().toISOString(),
    ...(problem === undefined ? {} : { problem }),
  };
}

/** `GET /runs`: newest first, filtered, one page, with the total. */
async function listRuns(store: UiStore, params: QueryParams): Promise<unknown> {
  const job = params.job('job');
  const operation = params.oneOf<SyncOperation>('operation', OPERATIONS);
  const status = params.listOf<RunStatus>('status', STATUSES);
  const since = params.instant('since');
  const until = params.instant('until');
  const offset = params.integer('offset', 0, 10_000_000, 0);
  const limit = params.integer('limit', 1, MAX_PAGE, 50);
  params.done();
  const filter = {
    ...(job === undefined ? {} : job.includes('/') ? { jobId: job } : { activity: job }),
    ...(operation === undefined ? {} : { operation }),
    ...(status === undefined ? {} : { status }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
  };
  const [total, runs] = await Promise.all([store.history.countRuns(filter), store.history.listRuns({ ...filter, offset, limit })]);
  const views: RunView[] = [];
  for (const run of runs) views.push(runView(run, await liveness(store, run)));
  return { total, offset, limit, runs: views };
}

/** For a running run: whether its process still holds the job's lease; `undefined` otherwise. */
async function liveness(store: UiStore, run: RunRecord): Promise<boolean | undefined> {
  if (run.status !== 'running' || store.leases === undefined) return undefined;
  const lease = await store.leases.getLease(run.jobId);
  return lease !== undefined && lease.owner.runId === run.runId && Date.parse(lease.expiresAt) > Date.now();
}

/** `GET /runs/<id>`: the run, its samples, its reject count, and its journal for an export. */
async function showRun(store: UiStore, runId: string, params: QueryParams, context: ApiContext): Promise<unknown> {
  params.done();
  const run = await store.history.getRun(runId);
  if (run === undefined) throw new NotFoundError(runNotFound(runId));
  const live = await liveness(store, run);
  const [samples, rejects, journal] = await Promise.all([store.history.listSamples(runId), store.history.countRejects(runId), journalOf(store, run, live, context)]);
  return { run: runView(run, live), samples, rejects: { total: rejects }, ...(journal === undefined ? {} : { journal }) };
}

/**
 * The export journal of a run: the one it recorded at its end, or while an export runs the job's
 * open journal (the link is written only when the run ends).
 */
async function journalOf(store: UiStore, run: RunRecord, live: boolean | undefined, context: ApiContext): Promise<JournalView | undefined> {
  if (run.operation !== 'export') return undefined;
  const journalRun =
    run.journalRunId !== undefined ? await store.journal.getRun(run.journalRunId) : run.status === 'running' ? await store.journal.findOpenRun(run.jobId) : undefined;
  if (journalRun === undefined) return undefined;
  const counts = await store.journal.countByState(journalRun.runId);
  const resumable = journalRun.status === 'open' && live !== true;
  return {
    run: journalRun,
    counts,
    ...(resumable ? { resumeCommand: `crm-sync journal resume <job file of ${journalRun.jobId}> --db ${context.databaseLabel}` } : {}),
  };
}

/** `GET /runs/<id>/rejects`: one page after `after`, filtered by `search`, with the totals. */
async function listRejects(store: UiStore, runId: string, params: QueryParams): Promise<unknown> {
  const search = params.text('search');
  const after = params.integer('after', -1, Number.MAX_SAFE_INTEGER, -1);
  const limit = params.integer('limit', 1, MAX_PAGE, 100);
  params.done();
  if ((await store.history.getRun(runId)) === undefined) throw new NotFoundError(runNotFound(runId));
  const searchQuery = search === undefined ? {} : { search };
  const [total, matching, rejects] = await Promise.all([
    store.history.countRejects(runId),
    search === undefined ? undefined : store.history.countRejects(runId, searchQuery),
    store.history.listRejects(runId, { ...searchQuery, afterSeq: after, limit }),
  ]);
  const last = rejects[rejects.length - 1];
  return { total, matching: matching ?? total, rejects, ...(rejects.length === limit && last !== undefined ? { next: last.seq } : {}) };
}

/** `GET /runs/<id>/journal`: the export's journal and one page of its entries, by state. */
async function listJournal(store: UiStore, runId: string, params: QueryParams, context: ApiContext): Promise<unknown> {
  const states = params.listOf<JournalState>('state', JOURNAL_STATES);
  const after = params.integer('after', -1, Number.MAX_SAFE_INTEGER, -1);
  const limit = params.integer('limit', 1, MAX_PAGE, 100);
  params.done();
  const run = await store.history.getRun(runId);
  if (run === undefined) throw new NotFoundError(runNotFound(runId));
  const journal = await journalOf(store, run, await liveness(store, run), context);
  if (journal === undefined) throw new NotFoundError(`run "${runId}" has no export journal (only exports keep one)`);
  const entries = await store.journal.listEntries(journal.run.runId, { afterSeq: after, limit, ...(states === undefined ? {} : { states }) });
  const last = entries[entries.length - 1];
  return { ...journal, entries: entries.map(journalEntryView), ...(entries.length === limit && last !== undefined ? { next: last.seq } : {}) };
}

/** `GET /jobs`: per job its last runs, its watermark and the watermark's history from the runs. */
async function listJobs(store: UiStore, params: QueryParams): Promise<unknown> {
  const only = params.job('job');
  const runsPerJob = params.integer('runs', 1, MAX_JOB_RUNS, 30);
  params.done();
  const jobs = (await store.history.listRunJobs()).filter((job) => only === undefined || job.jobId === only || job.activity === only);
  const out = [];
  for (const job of jobs) {
    const runs = await store.history.listRuns({ jobId: job.jobId, limit: runsPerJob });
    const reads = runs.some((run) => run.operation === 'import' || run.operation === 'import-deleted');
    const optionName = runs.find((run) => run.variables.crmOptionName !== undefined)?.variables.crmOptionName ?? (reads ? defaultWatermarkName(job.jobId) : undefined);
    const option = optionName === undefined ? undefined : await store.options.getOption(optionName);
    out.push({
      ...job,
      lastRuns: runs.map((run) => {
        const view = runView(run);
        return {
          runId: run.runId,
          operation: run.operation,
          status: run.status,
          startedAt: run.startedAt,
          ...(view.durationMs === undefined ? {} : { durationMs: view.durationMs }),
          read: run.counts.read,
          records: view.records,
          rejected: run.counts.rejected,
          apiCalls: run.apiCalls.total,
        };
      }),
      ...(optionName === undefined ? {} : { watermark: { name: optionName, ...(option === undefined ? {} : { value: option.value, meta: option.meta ?? {}, updatedAt: option.updatedAt }) } }),
      watermarkHistory: runs
        .filter((run) => run.window !== undefined || run.variables.crmEndDate !== undefined)
        .map((run) => ({ runId: run.runId, status: run.status, startedAt: run.startedAt, ...(run.window === undefined ? {} : { window: run.window }), variables: run.variables })),
    });
  }
  return { jobs: out };
}

/** `LASTIMPORT_<instance>_<activity>`, the orchestrator's default watermark name. */
function defaultWatermarkName(jobId: string): string {
  return `LASTIMPORT_${jobId.replace('/', '_')}`;
}

/** `GET /workers`: the distributed workers' status, or that they are not in use. */
async function workers(context: ApiContext): Promise<unknown> {
  if (context.workersStatus === undefined) return { inUse: false };
  try {
    return { inUse: true, status: await context.workersStatus() };
  } catch (thrown) {
    return { inUse: true, error: { code: 'workers-unreadable', message: `reading the workers' status failed: ${thrown instanceof Error ? thrown.message : String(thrown)}` } };
  }
}

