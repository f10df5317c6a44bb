/**
 * A fake of "Relata", the CRM of issue 15, written with `@crm-sync/testkit/fake-server` to show
 * what the kit saves: epoch-millisecond change times, opaque cursors, 207 batch answers, rate
 * limits announced by a reset time (`X-RateLimit-Reset-At`, epoch ms), OAuth client-credential
 * tokens that expire, and a 7-day deletion history. The hand-written original was 574 lines.
 */
import {
  cursorPage,
  FakeRecordStore,
  FakeTokenIssuer,
  json,
  startFakeServer,
  type FakeRecord,
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  type FakeValue,
} from '../../src/fake-server/index.js';

/** Relata's record types and their fields; `name` is required, `email` unique. */
const TYPES: Readonly<Record<string, readonly string[]>> = {
  person: ['name', 'email', 'score', 'city'],
  organisation: ['name', 'domain'],
};

type Values = Record<string, FakeValue>;

/** A running fake Relata. */
export interface RelataFake {
  /** The base URL. */
  readonly url: string;
  /** The OAuth client the fake accepts. */
  readonly client: { readonly id: string; readonly secret: string };
  /** The kit's server: `faults` and `log`. */
  readonly server: FakeServer;
  /** The token issuer (`expireAll`, `revoke`, `issued`). */
  readonly tokens: FakeTokenIssuer;
  /** Days of deletion history Relata keeps: 7. */
  readonly retentionDays: number;
  /** Creates records directly, optionally at `at` (epoch ms); returns their ids. */
  seed(type: string, values: readonly Values[], at?: number): string[];
  /** Deletes a record directly at `at` (epoch ms). */
  deleteDirect(type: string, id: string, at?: number): void;
  /** The next `count` API calls answer 429 until `resetAtMs`. */
  rateLimitUntil(count: number, resetAtMs: number): void;
  /** Clears records, deletions, tokens, faults and the log. */
  reset(): void;
  /** Stops the server. */
  close(): Promise<void>;
}

const problem = (status: number, type: string, detail: string): FakeResponse => json(status, { error: { type, detail } });
const time = (text: string | null, fallback: number): number => (text === null ? fallback : Number(text));

/** Starts a fake Relata on 127.0.0.1. */
export async function startRelataFake(): Promise<RelataFake> {
  const client = { id: 'relata-client', secret: 'relata-secret-0123456789' };
  let n = 0;
  const newId = (): string => `R-${(1000 + n++).toString(16).toUpperCase()}`;
  const stores = new Map(Object.keys(TYPES).map((type) => [type, new FakeRecordStore({ newId, retentionDays: 7 })]));
  const tokens = new FakeTokenIssuer({ credentials: [`${client.id}:${client.secret}`], ttlMs: 15 * 60_000 });
  const view = (r: FakeRecord) => ({ id: r.id, modifiedAt: r.changedAt, createdAt: r.createdAt, fields: r.values });

  const server = await startFakeServer((request) => {
    if (request.method === 'POST' && request.path === '/oauth/token') {
      const body = (request.body ?? {}) as { client_id?: string; client_secret?: string };
      const issued = tokens.issue(`${body.client_id}:${body.client_secret}`);
      return issued ? json(200, { access_token: issued.token, token_type: 'bearer', expires_in: issued.expiresIn }) : problem(401, 'invalid_client', 'unknown or revoked client');
    }
    const state = tokens.verify(request.headers.authorization);
    if (state !== 'valid') return json(401, { error: { type: state === 'expired' ? 'token_expired' : 'invalid_token', detail: `token ${state}` } }, { 'www-authenticate': `Bearer error="${state === 'expired' ? 'invalid_token' : 'invalid_client'}"` });
    const [area, type, action] = request.segments.slice(1);
    const store = stores.get(type ?? '');
    if (request.segments[0] !== 'api' || !store || !type) return problem(404, 'not_found', `no route ${request.method} ${request.path}`);
    if (area === 'records' && request.method === 'GET' && action === undefined) return list(store, request);
    if (area === 'records' && request.method === 'POST' && action === 'batch') return batch(type, store, request.body);
    if (area === 'records' && request.method === 'POST' && action === 'delete') {
      const ids = ((request.body ?? {}) as { ids?: string[] }).ids ?? [];
      return json(207, { results: ids.map((id) => (store.delete(id) ? { id, status: 204 } : { id, status: 404, error: { type: 'not_found' } })) });
    }
    if (area === 'deleted' && request.method === 'GET') return deleted(store, request);
    return problem(404, 'not_found', `no route ${request.method} ${request.path}`);
  });

  /** `GET /api/records/{type}?modifiedSince&modifiedBefore&limit&cursor`: ordered by (modifiedAt, id). */
  function list(store: FakeRecordStore, request: FakeRequest): FakeResponse {
    const since = time(request.query.get('modifiedSince'), 0);
    const before = time(request.query.get('modifiedBefore'), Number.MAX_SAFE_INTEGER);
    const inWindow = store.all().filter((r) => r.changedAt >= since && r.changedAt < before);
    const limit = Math.min(Number(request.query.get('limit') ?? 100), 250);
    const page = cursorPage(inWindow, (r) => [r.changedAt, r.id], limit, request.query.get('cursor') ?? undefined);
    if (!page) return problem(400, 'invalid_cursor', 'the cursor was not issued by Relata');
    return json(200, { data: page.items.map(view), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  }

  /** `POST /api/records/{type}/batch`: 207 with one result per operation, in order. */
  function batch(type: string, store: FakeRecordStore, body: unknown): FakeResponse {
    const operations = ((body ?? {}) as { operations?: { op: 'create' | 'update'; id?: string; fields: Values }[] }).operations ?? [];
    if (operations.length > 50) return problem(413, 'batch_too_large', 'at most 50 operations');
    const fields = TYPES[type] ?? [];
    const results = operations.map((op) => {
      const unknown = Object.keys(op.fields).find((f) => !fields.includes(f));
      if (unknown) return { status: 422, error: { type: 'validation_error', field: unknown, detail: 'unknown field' } };
      if (op.fields.score !== undefined && op.fields.score !== null && typeof op.fields.score !== 'number') return { status: 422, error: { type: 'validation_error', field: 'score', detail: 'must be a number' } };
      const existing = op.op === 'update' ? store.get(op.id ?? '') : undefined;
      if (op.op === 'update' && !existing) return { status: 404, error: { type: 'not_found', detail: `no ${type} ${op.id}` } };
      const merged = { ...existing?.values, ...op.fields };
      if (!merged.name) return { status: 422, error: { type: 'required', field: 'name', detail: 'name is required' } };
      const holder = merged.email == null ? undefined : store.findBy('email', merged.email);
      if (holder && holder.id !== existing?.id) return { status: 409, error: { type: 'duplicate', field: 'email', detail: `taken by ${holder.id}` } };
      const record = existing ? store.update(existing.id, op.fields) : store.insert(op.fields);
      return { status: existing ? 200 : 201, data: record ? view(record) : null };
    });
    return json(207, { results });
  }

  /** `GET /api/deleted/{type}?since&until&cursor`: both ends inclusive, 410 beyond the history. */
  function deleted(store: FakeRecordStore, request: FakeRequest): FakeResponse {
    const since = time(request.query.get('since'), 0);
    const entries = store.deletedBetween(since, time(request.query.get('until'), store.now()));
    if (!entries) return json(410, { error: { type: 'history_expired', detail: 'deletions are kept 7 days', oldest: store.earliestDeletion() } });
    const page = cursorPage(entries, (d) => [d.deletedAt, d.id], 200, request.query.get('cursor') ?? undefined);
    if (!page) return problem(400, 'invalid_cursor', 'the cursor was not issued by Relata');
    return json(200, { data: page.items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  }

  return {
    url: server.url,
    client,
    server,
    tokens,
    retentionDays: 7,
    seed: (type, values, at) => values.map((v) => (stores.get(type) ?? fail(type)).insert(v, at).id),
    deleteDirect: (type, id, at) => void (stores.get(type) ?? fail(type)).delete(id, at),
    rateLimitUntil(count, resetAtMs) {
      const respond = json(429, { error: { type: 'rate_limited', detail: 'quota exhausted' } }, { 'x-ratelimit-reset-at': String(resetAtMs) });
      server.faults.push({ match: (r) => r.path.startsWith('/api/'), respond }, count);
    },
    reset() {
      for (const store of stores.values()) store.reset();
      tokens.reset();
      server.faults.clear();
      server.log.length = 0;
    },
    close: () => server.close(),
  };
}

function fail(type: string): never {
  throw new Error(`the Relata fake has no record type '${type}'; use one of ${Object.keys(TYPES).join(', ')}`);
}
