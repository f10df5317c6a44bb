/**
 * `queryReadAhead`: pages requested ahead by cursor offset give the same records in the same order
 * as a plain read, one request per page, and none while Salesforce asks to wait.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueryRequest } from '@crm-sync/sdk';
import { SalesforceConnector } from '../src/index.js';
import { CREDENTIALS, contactValues, startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const request: QueryRequest = { object: 'Contact', fields: ['Id', 'LastName'], pageSize: 200 };

/** Reads every page, asking for the next one while the current is "processed" (as the orchestrator does). */
async function readAll(connector: SalesforceConnector): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = (await connector.query(request, cursor))._unsafeUnwrap();
    ids.push(...page.records.map((record) => record.id));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return ids;
}

describe('query read-ahead', () => {
  it('reads the same records in the same order, one request per page', async () => {
    harness = await startHarness({ latencyMs: 5 });
    for (let i = 0; i < 1_050; i += 1) expect(harness.emulator.crm.insert('Contact', contactValues(i)).ok).toBe(true);
    const plain = await readAll(harness.connector);
    const pages = harness.emulator.requestLog.filter((entry) => entry.route === 'query' || entry.route === 'query-more').length;
    expect(pages).toBe(6);
    const ahead = new SalesforceConnector({ loginUrl: harness.emulator.url, auth: { kind: 'password', ...CREDENTIALS }, queryReadAhead: 3 });
    const from = harness.emulator.requestLog.length;
    const read = await readAll(ahead);
    await ahead.close();
    expect(read).toEqual(plain);
    expect(new Set(read).size).toBe(1_050);
    const log = harness.emulator.requestLog.slice(from);
    expect(log.filter((entry) => entry.route === 'query' || entry.route === 'query-more')).toHaveLength(6);
    // Pages were requested ahead: after the first page, offset 400 went out before 200 was asked for.
    const offsets = log.filter((entry) => entry.route === 'query-more').map((entry) => Number(entry.path.split('-').pop()));
    expect(offsets.indexOf(400)).toBeLessThan(offsets.indexOf(200));
    expect([...offsets].sort((a, b) => a - b)).toEqual([200, 400, 600, 800, 1000]);
    expect(ahead.callStats.requests).toBe(log.filter((entry) => entry.route !== 'token').length);
  });

  it('sends nothing ahead while Salesforce asks to wait (429 Retry-After)', async () => {
    harness = await startHarness({}, { queryReadAhead: 3 });
    for (let i = 0; i < 1_050; i += 1) expect(harness.emulator.crm.insert('Contact', contactValues(i)).ok).toBe(true);
    harness.emulator.faults.add({ kind: 'rate-limit', route: 'query', times: 1, retryAfter: '30' });
    const limited = await harness.connector.query(request);
    expect(limited._unsafeUnwrapErr().kind).toBe('rate-limited');
    const from = harness.emulator.requestLog.length;
    const first = (await harness.connector.query(request))._unsafeUnwrap();
    expect(first.records).toHaveLength(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Only the page asked for: no query-more went out inside the Retry-After window.
    expect(harness.emulator.requestLog.slice(from).map((entry) => entry.route)).toEqual(['query']);
  });
});
