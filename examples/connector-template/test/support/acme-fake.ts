/**
 * A tiny Acme CRM on 127.0.0.1 for the tests: the same routes, JSON shapes and status codes as the
 * real API, records in memory, and hooks for the contract suite (seed, delete at an instant,
 * scripted 429 / 401). Replace it with a fake of your own CRM when you start from this template.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AcmeCondition, AcmeField, AcmeObject } from '../../src/index.js';

type Value = string | number | boolean | null;
type Row = Record<string, Value> & { id: string; updatedAt: string };

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

const RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** A running fake. */
export interface AcmeFake {
  /** `http://127.0.0.1:<port>`, the connector's `baseUrl`. */
  readonly url: string;
  /** The API key the fake accepts. */
  readonly apiKey: string;
  /** Requests served, for call-count assertions. */
  readonly requests: string[];
  /** Creates `n` contacts directly; returns their ids in order. */
  seed(object: string, values: readonly Record<string, Value>[], changedAt?: string): string[];
  /** Deletes a record directly, at `at` (default now). */
  deleteDirect(object: string, id: string, at?: string): void;
  /** The next `count` calls answer 429 with `Retry-After: <seconds>`. */
  failNext(count: number, status: 429 | 401 | 503, retryAfterSeconds?: number): void;
  /** Clears records, deletions and scripted failures. */
  reset(): void;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Starts a fake Acme CRM on a free loopback port. */
export async function startAcmeFake(apiKey = 'acme-test-key-0123456789'): Promise<AcmeFake> {
  const tables = new Map<string, Map<string, Row>>(OBJECTS.map((o) => [o.name, new Map()]));
  const deletions = new Map<string, { id: string; deletedAt: string }[]>(OBJECTS.map((o) => [o.name, []]));
  const failures: { status: number; retryAfter?: number }[] = [];
  const requests: string[] = [];
  let sequence = 0;
  const newId = (): string => `ac_${(sequence++).toString(36).padStart(12, '0')}`;
  const now = (): string => new Date().toISOString();

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, code: string, message: string, extra: object = {}): void =>
    send(res, status, { error: { code, message, ...extra } });

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => fail(res, 500, 'INTERNAL', String(error)));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${req.method} ${url.pathname}`);
    const scripted = failures.shift();
    if (scripted) {
      const headers: Record<string, string> = scripted.retryAfter !== undefined ? { 'retry-after': String(scripted.retryAfter) } : {};
      return send(res, scripted.status, { error: { code: scripted.status === 429 ? 'RATE_LIMITED' : scripted.status === 401 ? 'UNAUTHORIZED' : 'UNAVAILABLE', message: 'scripted' } }, headers);
    }
    if (req.headers['x-api-key'] !== apiKey) return fail(res, 401, 'UNAUTHORIZED', 'missing or revoked API key');
    const body = req.method === 'POST' ? (JSON.parse(await readBody(req)) as Record<string, unknown>) : {};
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'v1') return fail(res, 404, 'NOT_FOUND', `no route ${url.pathname}`);
    if (parts[1] === 'time') return send(res, 200, { now: now() });
    if (parts[1] !== 'objects') return fail(res, 404, 'NOT_FOUND', `no route ${url.pathname}`);
    if (parts.length === 2) return send(res, 200, { objects: OBJECTS.map(({ name, label }) => ({ name, label })) });
    const object = OBJECTS.find((o) => o.name === parts[2]);
    const table = tables.get(parts[2] ?? '');
    if (!object || !table) return fail(res, 404, 'NOT_FOUND', `no object '${parts[2]}'`);
    if (parts.length === 3) return send(res, 200, object);
    switch (`${req.method} ${parts[3]}`) {
      case 'POST search':
        return search(res, object, table, body);
      case 'POST batch':
        return batch(res, object, table, body);
      case 'POST delete':
        return send(res, 200, { results: (body.ids as string[]).map((id) => (removeRow(object.name, id, now()) ? { id, status: 200 } : { id, status: 404 })) });
      case 'GET deleted':
        return deleted(res, object.name, url.searchParams);
      default:
        return fail(res, 404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`);
    }
  }

  function search(res: ServerResponse, object: AcmeObject, table: Map<string, Row>, body: Record<string, unknown>): void {
    const fields = body.fields as string[];
    const sort = body.sort as { field: string; order: 'asc' | 'desc' }[];
    const unknown = [...fields, ...sort.map((s) => s.field)].find((name) => !object.fields.some((f) => f.name === name));
    if (unknown !== undefined) return fail(res, 400, 'UNKNOWN_FIELD', `${object.name} has no field '${unknown}'`);
    const limit = Math.min(Number(body.limit ?? 100), 200);
    const compare = (a: Row, b: Row): number => {
      for (const key of sort) {
        const order = compareValues(a[key.field] ?? null, b[key.field] ?? null);
        if (order !== 0) return key.order === 'desc' ? -order : order;
      }
      return 0;
    };
    const after = body.searchAfter as Value[] | undefined;
    const afterRow = after ? (Object.fromEntries(sort.map((key, i) => [key.field, after[i] ?? null])) as Row) : undefined;
    const matching = [...table.values()]
      .filter((row) => body.where === undefined || matches(row, body.where as AcmeCondition))
      .filter((row) => afterRow === undefined || compare(row, afterRow) > 0)
      .sort(compare);
    const page = matching.slice(0, limit);
    send(res, 200, { records: page.map((row) => Object.fromEntries(['id', ...fields].map((f) => [f, row[f] ?? null]))), hasMore: matching.length > limit });
  }

  function batch(res: ServerResponse, object: AcmeObject, table: Map<string, Row>, body: Record<string, unknown>): void {
    const operations = body.operations as { action: string; id?: string; matchOn?: string; values: Record<string, Value> }[];
    if (operations.length > 100) return fail(res, 400, 'BATCH_TOO_LARGE', 'at most 100 operations per batch');
    const results = operations.map((op) => {
      const unknown = Object.keys(op.values).find((name) => !object.fields.some((f) => f.name === name && f.type !== 'id' && !f.readOnly));
      if (unknown !== undefined) return { status: 400, error: { code: 'UNKNOWN_FIELD', message: `'${unknown}' is not a writable field`, field: unknown } };
      let existing: Row | undefined;
      if (op.action === 'update') {
        existing = table.get(op.id ?? '');
        if (!existing) return { status: 404, error: { code: 'NOT_FOUND', message: `no ${object.name} record '${op.id}'` } };
      } else if (op.action === 'upsert') {
        const key = op.matchOn ?? '';
        existing = [...table.values()].find((row) => row[key] !== null && row[key] === op.values[key]);
      }
      const merged = { ...(existing ?? {}), ...op.values };
      const missing = object.fields.find((f) => f.required && (merged[f.name] === undefined || merged[f.name] === null || merged[f.name] === ''));
      if (missing) return { status: 422, error: { code: 'REQUIRED', message: `'${missing.name}' is required`, field: missing.name } };
      const clash = uniqueClash(object.fields, table, merged, existing?.id);
      if (clash) return { status: 409, error: { code: 'DUPLICATE', message: `another record has this '${clash}'`, field: clash } };
      const row = { ...merged, id: existing?.id ?? newId(), updatedAt: now() } as Row;
      table.set(row.id, row);
      return existing ? { status: 200, id: row.id } : { status: 201, id: row.id, created: true };
    });
    send(res, 200, { results });
  }

  function deleted(res: ServerResponse, object: string, params: URLSearchParams): void {
    const from = params.get('from') ?? '';
    const to = params.get('to') ?? '';
    const earliest = new Date(Date.now() - RETENTION_MS).toISOString();
    if (from < earliest) return fail(res, 400, 'RETENTION_EXCEEDED', `deletions are kept 30 days; '${from}' is older`, { earliest });
    const offset = Number(params.get('pageToken') ?? '0');
    const limit = Number(params.get('limit') ?? '500');
    const inWindow = (deletions.get(object) ?? []).filter((d) => d.deletedAt >= from && d.deletedAt <= to).sort((a, b) => (a.deletedAt === b.deletedAt ? (a.id < b.id ? -1 : 1) : a.deletedAt < b.deletedAt ? -1 : 1));
    const page = inWindow.slice(offset, offset + limit);
    send(res, 200, { records: page, earliest, ...(offset + limit < inWindow.length ? { nextPageToken: String(offset + limit) } : {}) });
  }

  function removeRow(object: string, id: string, at: string): boolean {
    const table = tables.get(object);
    if (!table?.delete(id)) return false;
    deletions.get(object)?.push({ id, deletedAt: at });
    return true;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    apiKey,
    requests,
    seed(object, values, changedAt) {
      const table = tables.get(object);
      if (!table) throw new Error(`the fake has no object '${object}'`);
      return values.map((value) => {
        const row = { ...value, id: newId(), updatedAt: changedAt ?? now() } as Row;
        table.set(row.id, row);
        return row.id;
      });
    },
    deleteDirect(object, id, at) {
      removeRow(object, id, at ?? now());
    },
    failNext(count, status, retryAfterSeconds) {
      for (let i = 0; i < count; i += 1) failures.push({ status, ...(retryAfterSeconds !== undefined ? { retryAfter: retryAfterSeconds } : {}) });
    },
    reset() {
      for (const table of tables.values()) table.clear();
      for (const list of deletions.values()) list.length = 0;
      failures.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Nulls sort first; same-format ISO strings compare as text, which is chronological. */
function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

function matches(row: Row, condition: AcmeCondition): boolean {
  if ('and' in condition) return condition.and.every((c) => matches(row, c));
  if ('or' in condition) return condition.or.some((c) => matches(row, c));
  const value = row[condition.field] ?? null;
  if (condition.op === 'missing') return value === null;
  if (condition.op === 'exists') return value !== null;
  if (condition.op === 'in') return Array.isArray(condition.value) && condition.value.includes(value as never);
  if (value === null) return false;
  const order = compareValues(value, condition.value as Value);
  switch (condition.op) {
    case 'eq': return order === 0;
    case 'ne': return order !== 0;
    case 'lt': return order < 0;
    case 'lte': return order <= 0;
    case 'gt': return order > 0;
    case 'gte': return order >= 0;
  }
}

function uniqueClash(fields: readonly AcmeField[], table: Map<string, Row>, values: Record<string, Value>, ownId: string | undefined): string | undefined {
  for (const field of fields.filter((f) => f.unique)) {
    const value = values[field.name];
    if (value === undefined || value === null) continue;
    if ([...table.values()].some((row) => row.id !== ownId && row[field.name] === value)) return field.name;
  }
  return undefined;
}
