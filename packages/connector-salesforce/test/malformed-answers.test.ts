/**
 * A malformed query answer is an error, never an empty or last page: taking it at face value
 * would end the read early and let the orchestrator move the watermark past unread records.
 * A proxy between the connector and the emulator rewrites the second page of the answer.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryCrm, ManualClock } from '@crm-sync/connector-mock';
import { salesforceEmulatorSchemas, startSalesforceEmulator, type SalesforceEmulator } from '../src/emulator/index.js';
import { SalesforceConnector } from '../src/index.js';
import { contactValues } from './harness.js';

type Answer = Record<string, unknown>;

let emulator: SalesforceEmulator | undefined;
let proxy: Server | undefined;
let connector: SalesforceConnector | undefined;

afterEach(async () => {
  await connector?.close();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await emulator?.close();
  connector = undefined;
  proxy = undefined;
  emulator = undefined;
});

/** Starts an emulator with 450 contacts and a proxy that rewrites query pages after the first. */
async function setUp(mutate: (answer: Answer) => Answer): Promise<SalesforceConnector> {
  const crm = new InMemoryCrm({ clock: new ManualClock('2024-06-01T00:00:00.000Z'), schemas: salesforceEmulatorSchemas() });
  for (let n = 0; n < 450; n += 1) crm.insert('Contact', contactValues(n));
  emulator = await startSalesforceEmulator({ crm });
  const target = new URL(emulator.url);
  proxy = createServer((incoming, outgoing) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          let body = Buffer.concat(chunks).toString('utf8');
          // Only follow-up pages (`/query/<locator>`): the first page stays intact.
          if (/\/query\/[^?]/.test(incoming.url ?? '')) body = JSON.stringify(mutate(JSON.parse(body) as Answer));
          const headers = { ...answer.headers, 'content-length': String(Buffer.byteLength(body)) };
          outgoing.writeHead(answer.statusCode ?? 500, headers);
          outgoing.end(body);
        });
      },
    );
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', () => resolve()));
  const address = proxy.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  connector = new SalesforceConnector({ instanceUrl: `http://127.0.0.1:${port}`, auth: { kind: 'access-token', accessToken: emulator.issueAccessToken() } });
  return connector;
}

/** Follows cursors until the end or the first error. */
async function readAll(target: SalesforceConnector): Promise<{ ids: string[]; error?: string }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages += 1) {
    const page = await target.query({ object: 'Contact', fields: ['LastName'], pageSize: 200 }, cursor);
    if (page.isErr()) return { ids, error: `${page.error.kind}: ${page.error.message}` };
    ids.push(...page.value.records.map((record) => record.id));
    cursor = page.value.nextCursor;
    if (cursor === undefined) return { ids };
  }
  throw new Error('the cursor never ended');
}

describe('malformed query answers', () => {
  it('reads all 450 records when nothing is rewritten (the proxy itself is transparent)', async () => {
    const result = await readAll(await setUp((answer) => answer));
    expect(result.error).toBeUndefined();
    expect(new Set(result.ids).size).toBe(450);
  });

  it.each([
    ['a page without a record list', (answer: Answer) => ({ ...answer, records: undefined }), /"records" is not a list/],
    ['done:false without nextRecordsUrl', (answer: Answer) => ({ ...answer, done: false, nextRecordsUrl: undefined }), /no "nextRecordsUrl"/],
    ['a page that silently drops records', (answer: Answer) => ({ ...answer, records: (answer.records as unknown[]).slice(0, 1) }), /reported 450 records/],
    ['records without an Id', (answer: Answer) => ({ ...answer, records: (answer.records as Answer[]).map(({ Id: _id, ...rest }) => rest) }), /has no Id/],
  ])('refuses %s with a transient error instead of ending the read', async (_name, mutate, message) => {
    const result = await readAll(await setUp(mutate));
    expect(result.error).toMatch(/^transient: \[crm-sync\] \[salesforce\]/);
    expect(result.error).toMatch(message);
    expect(result.ids.length).toBeLessThan(450);
  });
});
