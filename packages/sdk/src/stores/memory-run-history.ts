/**
 * An in-memory {@link RunHistoryStore}: the reference behaviour the SQLite history and the store
 * contract suite agree on.
 *
 * @module
 */
import type { Instant } from '../contract/values.js';
import type { Fence, MemoryLeaseStore } from './lease.js';
import {
  checkHistoryInstant,
  checkNewRunRecord,
  checkRunHistoryEnd,
  checkRunHistoryFilter,
  checkRunRejectQuery,
  ZERO_RUN_CALLS,
  ZERO_RUN_COUNTS,
  type NewRunRecord,
  type RunHistoryEnd,
  type RunHistoryFilter,
  type RunHistoryProgress,
  type RunHistoryStore,
  type RunJobSummary,
  type RunRecord,
  type RunRejectQuery,
  type RunSample,
  type StoredRunReject,
} from './run-history.js';

interface Row {
  record: RunRecord;
  /** Order of recording, the tie-break of runs that started at the same instant. */
  readonly order: number;
  samples: RunSample[];
  rejects: StoredRunReject[];
}

/** Runs, their samples and rejects in memory. Lost with the process. */
export class MemoryRunHistory implements RunHistoryStore {
  private readonly rows = new Map<string, Row>();
  private nextOrder = 0;

  /** @param leases Checks the fences of fenced writes; without it fences are ignored (no zombie protection). */
  constructor(private readonly leases?: MemoryLeaseStore) {}

  async startRun(run: NewRunRecord, fence?: Fence): Promise<void> {
    checkNewRunRecord(run);
    this.fenced(fence);
    if (this.rows.has(run.runId)) throw new Error(`[crm-sync] [history] run "${run.runId}" is already recorded; every run needs a new id`);
    const record: RunRecord = { ...structuredClone(run), status: 'running', counts: ZERO_RUN_COUNTS, apiCalls: ZERO_RUN_CALLS, variables: {}, notes: [] };
    this.rows.set(run.runId, { record, order: this.nextOrder++, samples: [], rejects: [] });
  }

  async recordProgress(runId: string, progress: RunHistoryProgress, fence?: Fence): Promise<void> {
    const row = this.row(runId, 'recordProgress');
    this.fenced(fence);
    applyProgress(row, progress);
  }

  async finishRun(runId: string, end: RunHistoryEnd, fence?: Fence): Promise<void> {
    const row = this.row(runId, 'finishRun');
    checkRunHistoryEnd(end);
    this.fenced(fence);
    if (row.record.status !== 'running') {
      throw new Error(`[crm-sync] [history] run "${runId}" already ended (${row.record.status}); a run is finished once`);
    }
    applyProgress(row, end);
    const { status, endedAt, window, variables, error, journalRunId, notes } = structuredClone(end);
    row.record = {
      ...row.record,
      status,
      endedAt,
      ...(window === undefined ? {} : { window }),
      ...(variables === undefined ? {} : { variables }),
      ...(error === undefined ? {} : { error }),
      ...(journalRunId === undefined ? {} : { journalRunId }),
      ...(notes === undefined ? {} : { notes }),
    };
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.rows.get(runId)?.record;
  }

  async listRuns(filter: RunHistoryFilter = {}): Promise<readonly RunRecord[]> {
    const rows = this.matching(filter).sort((a, b) => Date.parse(b.record.startedAt) - Date.parse(a.record.startedAt) || b.order - a.order);
    const from = filter.offset ?? 0;
    return rows.slice(from, filter.limit === undefined ? undefined : from + filter.limit).map((row) => row.record);
  }

  async countRuns(filter: RunHistoryFilter = {}): Promise<number> {
    return this.matching(filter).length;
  }

  async listRunJobs(): Promise<readonly RunJobSummary[]> {
    const jobs = new Map<string, { newest: Row; runs: number }>();
    for (const row of this.rows.values()) {
      const job = jobs.get(row.record.jobId);
      if (job === undefined) {
        jobs.set(row.record.jobId, { newest: row, runs: 1 });
        continue;
      }
      job.runs += 1;
      const newer = Date.parse(row.record.startedAt) - Date.parse(job.newest.record.startedAt) || row.order - job.newest.order;
      if (newer > 0) job.newest = row;
    }
    return [...jobs.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([jobId, { newest, runs }]) => ({ jobId, activity: newest.record.activity, runs, lastStartedAt: newest.record.startedAt }));
  }

  async countRejects(runId: string, query: Pick<RunRejectQuery, 'search'> = {}): Promise<number> {
    const needle = query.search?.toLowerCase();
    const rejects = this.rows.get(runId)?.rejects ?? [];
    return needle === undefined ? rejects.length : rejects.filter((reject) => rejectText(reject).includes(needle)).length;
  }

  /** The rows `filter` selects, in no order (its limit and offset ignored). */
  private matching(filter: RunHistoryFilter): Row[] {
    checkRunHistoryFilter(filter);
    const statuses = filter.status === undefined ? undefined : typeof filter.status === 'string' ? [filter.status] : filter.status;
    const since = filter.since === undefined ? undefined : Date.parse(filter.since);
    const until = filter.until === undefined ? undefined : Date.parse(filter.until);
    return [...this.rows.values()].filter(({ record }) =>
      (filter.jobId === undefined || record.jobId === filter.jobId) &&
      (filter.activity === undefined || record.activity === filter.activity) &&
      (filter.operation === undefined || record.operation === filter.operation) &&
      (statuses === undefined || statuses.includes(record.status)) &&
      (since === undefined || Date.parse(record.startedAt) >= since) &&
      (until === undefined || Date.parse(record.startedAt) < until),
    );
  }

  async listSamples(runId: string): Promise<readonly RunSample[]> {
    return [...(this.rows.get(runId)?.samples ?? [])];
  }

  async listRejects(runId: string, query: RunRejectQuery = {}): Promise<readonly StoredRunReject[]> {
    checkRunRejectQuery(query);
    const needle = query.search?.toLowerCase();
    const found: StoredRunReject[] = [];
    for (const reject of this.rows.get(runId)?.rejects ?? []) {
      if (query.afterSeq !== undefined && reject.seq <= query.afterSeq) continue;
      if (needle !== undefined && !rejectText(reject).includes(needle)) continue;
      if (query.limit !== undefined && found.length >= query.limit) break;
      found.push(reject);
    }
    return found;
  }

  async pruneRuns(olderThan: Instant): Promise<number> {
    const limit = checkHistoryInstant(olderThan, 'pruneRuns olderThan');
    let pruned = 0;
    for (const [runId, row] of this.rows) {
      if (Date.parse(row.record.startedAt) < limit) {
        this.rows.delete(runId);
        pruned += 1;
      }
    }
    return pruned;
  }

  private row(runId: string, what: string): Row {
    const row = this.rows.get(runId);
    if (row === undefined) throw new Error(`[crm-sync] [history] ${what}: run "${runId}" is not recorded; call startRun first`);
    return row;
  }

  private fenced(fence: Fence | undefined): void {
    if (fence !== undefined) this.leases?.assertFence(fence);
  }
}

function applyProgress(row: Row, progress: RunHistoryProgress): void {
  if (progress.counts !== undefined) row.record = { ...row.record, counts: { ...progress.counts } };
  if (progress.apiCalls !== undefined) row.record = { ...row.record, apiCalls: structuredClone(progress.apiCalls) };
  for (const sample of progress.samples ?? []) row.samples.push({ ...sample });
  for (const reject of progress.rejects ?? []) row.rejects.push({ ...structuredClone(reject), seq: row.rejects.length });
}

function rejectText(reject: StoredRunReject): string {
  return [reject.code, reject.symbol ?? '', reject.message, reject.localKey ?? '', reject.crmId ?? '', ...reject.fields].join('\n').toLowerCase();
}
