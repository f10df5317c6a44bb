/**
 * The JSON API (v1) over each store: the same seeded runs read back through every route, on
 * memory, SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUiServer, type UiServer } from '../src/index.js';
import { cleanUpStores, get, SEEDED_REJECTS, seed, storeFactories, type TestStore } from './helpers.js';

afterAll(cleanUpStores);

interface RunsPage {
  total: number;
  offset: number;
  limit: number;
  runs: { runId: string; status: string; durationMs?: number; records: number; live?: boolean }[];
}

describe.each(storeFactories())('API v1 on $name', (factory) => {
  let store: TestStore;
  let server: UiServer;
  const api = async (path: string) => get(server.url, `/api/v1${path}`);
  const body = async <T>(path: string): Promise<T> => {
    const answer = await api(path);
    expect(answer.status, `${path}: ${answer.text}`).toBe(200);
    return answer.json() as T;
  };

  beforeAll(async () => {
    store = await factory.open();
    await seed(store);
    server = await startUiServer({ store, databaseLabel: `test ${factory.name}` });
  });
  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  it('GET /runs lists runs newest first with their duration, records and liveness, and the total', async () => {
    const page = await body<RunsPage>('/runs');
    expect(page.total).toBe(4);
    expect(page.runs.map((r) => r.runId)).toEqual(['exp-2', 'del-1', 'exp-1', 'imp-1']);
    expect(page.runs[3]).toMatchObject({ durationMs: 4500, records: 400 - SEEDED_REJECTS });
    expect(page.runs[0]).toMatchObject({ status: 'running', live: false });
  });

  it('GET /runs filters by job, activity, operation, status and dates, and pages by offset and limit', async () => {
    const ids = async (query: string) => (await body<RunsPage>(`/runs?${query}`)).runs.map((r) => r.runId);
    expect(await ids('job=default/contacts-out')).toEqual(['exp-1']);
    expect(await ids('job=contacts-out')).toEqual(['exp-2', 'exp-1']);
    expect(await ids('operation=export')).toEqual(['exp-2', 'exp-1']);
    expect(await ids('status=failed,running')).toEqual(['exp-2', 'del-1']);
    expect(await ids('since=2024-01-10T03:30:00Z&until=2024-01-11')).toEqual(['exp-1']);
    const page = await body<RunsPage>('/runs?offset=1&limit=2');
    expect(page).toMatchObject({ total: 4, offset: 1, limit: 2 });
    expect(page.runs.map((r) => r.runId)).toEqual(['del-1', 'exp-1']);
    expect((await body<RunsPage>('/runs?operation=delete&limit=1')).total).toBe(1);
  });

  it('GET /runs/<id> gives the summary, variables, window, samples, error and reject count', async () => {
    const detail = await body<{ run: Record<string, unknown>; samples: unknown[]; rejects: { total: number }; journal?: unknown }>('/runs/imp-1');
    expect(detail.run).toMatchObject({
      runId: 'imp-1',
      variables: { crmOptionName: 'LASTIMPORT_default_contacts-in', crmStartImport: '2024/01/09 03:00:00', crmEndDate: '2024/01/10 02:59:00' },
      window: { start: '2024-01-09T03:00:00.000Z', end: '2024-01-10T02:59:00.000Z' },
      apiCalls: { total: 5, retries: 1, rateLimitWaitMs: 1500 },
    });
    expect(detail.samples).toHaveLength(5);
    expect(detail.rejects.total).toBe(SEEDED_REJECTS);
    expect(detail.journal).toBeUndefined();
    expect((await body<{ run: { error: unknown } }>('/runs/del-1')).run.error).toEqual({ kind: 'crm', message: 'the CRM refused: INSUFFICIENT_ACCESS' });
    expect((await api('/runs/nope')).status).toBe(404);
  });

  it('GET /runs/<id>/rejects pages by after and limit, searches ignoring case, and counts total and matching', async () => {
    type Page = { total: number; matching: number; rejects: { seq: number; localKey: string }[]; next?: number };
    const first = await body<Page>('/runs/imp-1/rejects?limit=100');
    expect(first).toMatchObject({ total: SEEDED_REJECTS, matching: SEEDED_REJECTS, next: 99 });
    const second = await body<Page>(`/runs/imp-1/rejects?limit=100&after=${first.next}`);
    expect(second.rejects[0]?.seq).toBe(100);
    const found = await body<Page>('/runs/imp-1/rejects?search=duplicate_VALUE');
    expect(found.matching).toBe(SEEDED_REJECTS / 5);
    expect(found.rejects.every((r) => r.seq % 5 === 0)).toBe(true);
    expect((await body<Page>('/runs/imp-1/rejects?search=k-249')).rejects.map((r) => r.seq)).toEqual([249]);
  });

  it('GET /runs/<id>/rejects.csv streams every matching reject as CSV, quoted where needed', async () => {
    const all = await api('/runs/imp-1/rejects.csv');
    expect(all.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(all.headers.get('content-disposition')).toBe('attachment; filename="rejects-imp-1.csv"');
    const lines = all.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('seq,code,symbol,message,fields,localKey,crmId');
    expect(lines).toHaveLength(SEEDED_REJECTS + 1);
    expect(lines[1]).toBe('0,duplicate,DUPLICATE_VALUE,"duplicate value found: ""row, 0""",,k-0,00300000');
    expect(lines[2]).toBe('1,validation,INVALID_EMAIL_ADDRESS,Email: invalid address for row 1,Email,k-1,');
    const some = await api('/runs/imp-1/rejects.csv?search=DUPLICATE');
    expect(some.text.trimEnd().split('\r\n')).toHaveLength(SEEDED_REJECTS / 5 + 1);
  });

  it('GET /runs/<id> and /journal show an export journal by state, and the resume command while it is open', async () => {
    const finished = await body<{ journal: { counts: Record<string, number>; resumeCommand?: string } }>('/runs/exp-1');
    expect(finished.journal.counts).toEqual({ pending: 0, sent: 0, committed: 4, rejected: 1, unknown: 0 });
    expect(finished.journal.resumeCommand).toBeUndefined();
    const rejected = await body<{ entries: { seq: number; state: string; payload?: unknown }[] }>('/runs/exp-1/journal?state=rejected');
    expect(rejected.entries.map((e) => [e.seq, e.state])).toEqual([[4, 'rejected']]);
    expect(rejected.entries[0]?.payload, 'entries are sent without the record values').toBeUndefined();
    const open = await body<{ journal: { run: { status: string }; counts: Record<string, number>; resumeCommand?: string } }>('/runs/exp-2');
    expect(open.journal.run.status).toBe('open');
    expect(open.journal.counts.pending).toBe(1);
    expect(open.journal.resumeCommand).toBe(`crm-sync journal resume <job file of eu/contacts-out> --db test ${factory.name}`);
    expect((await api('/runs/imp-1/journal')).status).toBe(404);
  });

  it('GET /jobs gives per job its last runs, its watermark with meta, and the watermark history', async () => {
    type Jobs = { jobs: { jobId: string; runs: number; lastRuns: { runId: string; durationMs?: number; records: number }[]; watermark?: { name: string; value?: string; meta?: unknown }; watermarkHistory: { runId: string }[] }[] };
    const { jobs } = await body<Jobs>('/jobs');
    expect(jobs.map((j) => j.jobId)).toEqual(['default/contacts-in', 'default/contacts-out', 'eu/contacts-del', 'eu/contacts-out']);
    const imports = jobs[0];
    expect(imports?.lastRuns).toEqual([expect.objectContaining({ runId: 'imp-1', durationMs: 4500, records: 400 - SEEDED_REJECTS })]);
    expect(imports?.watermark).toEqual({ name: 'LASTIMPORT_default_contacts-in', value: '2024-01-10T02:59:00.000Z', meta: { runId: 'imp-1', records: 400 }, updatedAt: expect.any(String) });
    expect(imports?.watermarkHistory.map((h) => h.runId)).toEqual(['imp-1']);
    expect(jobs[1]?.watermark, 'an export has no watermark').toBeUndefined();
    expect((await body<Jobs>('/jobs?job=eu/contacts-del')).jobs.map((j) => j.jobId)).toEqual(['eu/contacts-del']);
  });

  it('GET /status names the API version and the database, and says the dashboard is read-only', async () => {
    expect(await body('/status')).toMatchObject({ api: 1, readOnly: true, database: `test ${factory.name}`, workers: false });
  });
});
