/**
 * A tiny Acme CRM on 127.0.0.1 for the tests, built on `@crm-sync/testkit/fake-server`: the same
 * routes, JSON shapes, query language and status codes as the real API, and hooks for the
 * contract suite (seed, delete at an instant, expire or revoke credentials, scripted faults).
 * Replace it with a fake of your own CRM when you start from this template.
 */
import {
  FakeRecordStore,
  FakeTokenIssuer,
  json,
  keysetPage,
  resetAtHeader,
  startFakeServer,
  type FakeRecord,
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  type FakeValue,
} from '@crm-sync/testkit/fake-server';
import type { AcmeField, AcmeObject } from '../../src/index.js';
import { parseAql, type AqlRow } from './aql.js';

/** The objects the fake serves. */
const OBJECTS: readonly AcmeObject[] = [
  {
    name: 'contacts',
    label: 'Contacts',
    fields: [
      { name: 'id', type: 'id' },
      { name: 'email', type: 'email', unique: true },
      { name: 'firstName', type: 'text' },
      { name: 'lastName', type: 'text', required: true },
      { name: 'score', type: 'number' },
      { name: 'birthDate', type: 'date' },
      { name: 'subscribed', type: 'boolean' },
      { name: 'updatedAt', type: 'datetime', readOnly: true },
    ],
  },
  { name: 'companies', label: 'Companies', fields: [{ name: 'id', type: 'id' }, { name: 'name', type: 'text', required: true }, { name: 'updatedAt', type: 'datetime', readOnly: true }] },
];

/** Options of {@link startAcmeFake}. */
export interface AcmeFakeOptions {
  /** The API key the fake accepts. */
  readonly apiKey?: string;
  /** How many days deletions are kept. Default 30, as Acme documents. */
  readonly retentionDays?: number;
}

/** A running fake. */
export interface AcmeFake {
  /** `http://127.0.0.1:<port>`, the connector's `baseUrl`. */
  readonly url: string;
  /** The API key the fake accepts. */
  readonly apiKey: string;
  /** How many days deletions are kept. */
  readonly retentionDays: number;
  /** The kit's server: `faults` and the request `log`. */
  readonly server: FakeServer;
  /** The token issuer: `issued` counts tokens. */
  readonly tokens: FakeTokenIssuer;
  /** Creates records directly; returns their ids in order. */
  seed(object: string, values: readonly Record<string, FakeValue>[], changedAt?: string): string[];
  /** Deletes a record directly, at `at` (default now). */
  deleteDirect(object: string, id: string, at?: string): void;
  /** The next `count` API calls (not token calls) answer 429 with `X-RateLimit-Reset` at `resetAtMs`. */
  rateLimitUntil(count: number, resetAtMs: number): void;
  /** The next `count` API calls (not token calls) answer `status` with Acme's error body; a 429 resets in `retryAfterSeconds` (default 1). */
  failNext(count: number, status: 401 | 429 | 503, retryAfterSeconds?: number): void;
  /** Clears records, deletions, tokens and scripted faults. */
  reset(): void;
  /** Stops the server. */
  close(): Promise<void>;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const fail = (status: number, code: string, message: string, extra: object = {}): FakeResponse => json(status, { error: { code, message, ...extra } });

/** Starts a fake Acme CRM on a free loopback port. */
export async function startAcmeFake(options: AcmeFakeOptions = {}): Promise<AcmeFake> {
  const apiKey = options.apiKey ?? 'acme-test-key-0123456789';
  const retentionDays = options.retentionDays ?? 30;
  let sequence = 0;
  // One id sequence across objects, as Acme's ids are globally unique.
  const newId = (): string => `ac_${(sequence++).toString(36).padStart(12, '0')}`;
  const stores = new Map(OBJECTS.map((o) => [o.name, new FakeRecordStore({ newId, retentionDays })]));
  const tokens = new FakeTokenIssuer({ credentials: [apiKey] });
  const rowOf = (record: FakeRecord): AqlRow => ({ ...record.values, id: record.id, updatedAt: iso(record.changedAt) });

  const server = await startFakeServer((request) => {
    const [version, area, name, action] = request.segments;
    if (version !== 'v1') return fail(404, 'NOT_FOUND', `no route ${request.path}`);
    if (area === 'auth' && name === 'token' && request.method === 'POST') {
      const issued = tokens.issue(String((request.body as { apiKey?: unknown } | undefined)?.apiKey ?? ''));
      return issued ? json(200, { accessToken: issued.token, expiresIn: issued.expiresIn }) : fail(401, 'INVALID_API_KEY', 'the API key is unknown or revoked');
    }
    const state = tokens.verify(request.headers.authorization);
    if (state === 'expired') return fail(401, 'TOKEN_EXPIRED', 'the access token expired; get a new one');
    if (state !== 'valid') return fail(401, 'TOKEN_INVALID', 'missing, unknown or revoked access token');
    if (area === 'time') return json(200, { now: iso(Date.now()) });
    if (area !== 'objects') return fail(404, 'NOT_FOUND', `no route ${request.path}`);
    if (name === undefined) return json(200, { objects: OBJECTS.map(({ name: n, label }) => ({ name: n, label })) });
    const object = OBJECTS.find((o) => o.name === name);
    const store = stores.get(name);
    if (!object || !store) return fail(404, 'NOT_FOUND', `no object '${name}'`);
    if (action === undefined) return json(200, object);
    const body = (request.body ?? {}) as Record<string, unknown>;
    switch (`${request.method} ${action}`) {
      case 'POST search':
        return search(object, store, body);
      case 'POST batch':
        return batch(object, store, body);
      case 'POST delete':
        return json(200, { results: (body.ids as string[]).map((id) => ({ id, status: store.delete(id) ? 200 : 404 })) });
      case 'GET deleted':
        return deleted(store, request);
      default:
        return fail(404, 'NOT_FOUND', `no route ${request.method} ${request.path}`);
    }
  });

  function search(object: AcmeObject, store: FakeRecordStore, body: Record<string, unknown>): FakeResponse {
    const fields = body.fields as string[];
    const sort = body.sort as { field: string; order: 'asc' | 'desc' }[];
    const unknown = [...fields, ...sort.map((s) => s.field)].find((name) => !object.fields.some((f) => f.name === name));
    if (unknown !== undefined) return fail(400, 'UNKNOWN_FIELD', `${object.name} has no field '${unknown}'`);
    let where: (row: AqlRow) => boolean = () => true;
    if (typeof body.where === 'string') {
      const parsed = parseAql(body.where);
      if (typeof parsed === 'string') return fail(400, 'INVALID_QUERY', parsed);
      where = parsed;
    }
    const rows = store.all().map(rowOf).filter(where);
    const keyOf = (row: AqlRow) => sort.map((key) => row[key.field] ?? null);
    const page = keysetPage(rows, keyOf, Math.min(Number(body.limit ?? 100), 200), body.searchAfter as FakeValue[] | undefined, sort.map((key) => key.order === 'desc'));
    return json(200, { records: page.items.map((row) => Object.fromEntries(['id', ...fields].map((f) => [f, row[f] ?? null]))), hasMore: page.nextKey !== undefined });
  }

  function batch(object: AcmeObject, store: FakeRecordStore, body: Record<string, unknown>): FakeResponse {
    const operations = body.operations as { action: string; id?: string; matchOn?: string; values: Record<string, FakeValue> }[];
    if (operations.length > 100) return fail(400, 'BATCH_TOO_LARGE', 'at most 100 operations per batch');
    const results = operations.map((op) => {
      const problem = invalidValues(object.fields, op.values);
      if (problem) return problem;
      let existing: FakeRecord | undefined;
      if (op.action === 'update') {
        existing = store.get(op.id ?? '');
        if (!existing) return { status: 404, error: { code: 'NOT_FOUND', message: `no ${object.name} record '${op.id}'` } };
      } else if (op.action === 'upsert') {
        existing = store.findBy(op.matchOn ?? '', op.values[op.matchOn ?? ''] ?? null);
      }
      const merged = { ...(existing?.values ?? {}), ...op.values };
      const missing = object.fields.find((f) => f.required && (merged[f.name] === undefined || merged[f.name] === null || merged[f.name] === ''));
      if (missing) return { status: 422, error: { code: 'REQUIRED', message: `'${missing.name}' is required`, field: missing.name } };
      const clash = object.fields.find((f) => f.unique && merged[f.name] != null && store.all().some((r) => r.id !== existing?.id && r.values[f.name] === merged[f.name]));
      if (clash) return { status: 409, error: { code: 'DUPLICATE', message: `another record has this '${clash.name}'`, field: clash.name } };
      const record = existing ? store.update(existing.id, op.values) : store.insert(op.values);
      return existing ? { status: 200, id: record?.id } : { status: 201, id: record?.id, created: true };
    });
    return json(200, { results });
  }

  function deleted(store: FakeRecordStore, request: FakeRequest): FakeResponse {
    const from = request.query.get('from') ?? '';
    const to = request.query.get('to') ?? '';
    const earliest = iso(store.earliestDeletion());
    const inWindow = store.deletedBetween(Date.parse(from), Date.parse(to));
    if (inWindow === undefined) return fail(400, 'RETENTION_EXCEEDED', `deletions are kept ${retentionDays} days; '${from}' is older`, { earliest });
    const offset = Number(request.query.get('pageToken') ?? '0');
    const limit = Number(request.query.get('limit') ?? '500');
    const page = inWindow.slice(offset, offset + limit).map((d) => ({ id: d.id, deletedAt: iso(d.deletedAt) }));
    return json(200, { records: page, earliest, ...(offset + limit < inWindow.length ? { nextPageToken: String(offset + limit) } : {}) });
  }

  /** Acme announces when the quota resets (epoch seconds), never a Retry-After. */
  function rateLimitUntil(count: number, resetAtMs: number): void {
    const now = Date.now();
    const { seconds } = resetAtHeader(resetAtMs - now, now);
    const respond = fail(429, 'RATE_LIMITED', 'too many requests');
    server.faults.push({ match: (r) => !r.path.startsWith('/v1/auth/'), respond: { ...respond, headers: { 'x-ratelimit-reset': seconds } } }, count);
  }

  return {
    url: server.url,
    apiKey,
    retentionDays,
    server,
    tokens,
    seed(object, values, changedAt) {
      const store = stores.get(object);
      if (!store) throw new Error(`the fake has no object '${object}'`);
      return values.map((value) => store.insert(value, changedAt === undefined ? undefined : Date.parse(changedAt)).id);
    },
    deleteDirect(object, id, at) {
      stores.get(object)?.delete(id, at === undefined ? undefined : Date.parse(at));
    },
    rateLimitUntil,
    failNext(count, status, retryAfterSeconds = 1) {
      if (status === 429) return rateLimitUntil(count, Date.now() + retryAfterSeconds * 1000);
      const respond = status === 401 ? fail(401, 'TOKEN_INVALID', 'scripted') : fail(503, 'UNAVAILABLE', 'scripted');
      server.faults.push({ match: (r) => !r.path.startsWith('/v1/auth/'), respond }, count);
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

/** Acme checks every value against the field's type: a wrong one is `422 INVALID_VALUE`, an unknown field `400 UNKNOWN_FIELD`. */
function invalidValues(fields: readonly AcmeField[], values: Record<string, FakeValue>): { status: number; error: { code: string; message: string; field: string } } | undefined {
  for (const [name, value] of Object.entries(values)) {
    const field = fields.find((f) => f.name === name && f.type !== 'id' && !f.readOnly);
    if (!field) return { status: 400, error: { code: 'UNKNOWN_FIELD', message: `'${name}' is not a writable field`, field: name } };
    if (value === null) continue;
    const ok =
      field.type === 'number' ? typeof value === 'number' : field.type === 'boolean' ? typeof value === 'boolean' : field.type === 'date' ? typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) : typeof value === 'string';
    if (!ok) return { status: 422, error: { code: 'INVALID_VALUE', message: `'${name}' must be a ${field.type}`, field: name } };
  }
  return undefined;
}
