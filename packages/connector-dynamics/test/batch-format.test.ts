import { describe, expect, it } from 'vitest';
import { buildBatchRequest, buildBatchResponse, parseBatchRequest, parseBatchResponse } from '../src/batch.js';

describe('$batch multipart format', () => {
  it('parses its own request back, part by part, with Content-IDs and bodies', () => {
    const { contentType, body } = buildBatchRequest(
      [
        { method: 'POST', url: '/api/data/v9.2/contacts', headers: { 'Content-Type': 'application/json' }, body: '{"lastname":"--batch_not_a_boundary"}', contentId: '1' },
        { method: 'DELETE', url: '/api/data/v9.2/contacts(00000000-0000-0000-0000-000000000001)', contentId: '2' },
      ],
      'batch_test',
    );
    expect(body).toContain('\r\n');
    const parts = parseBatchRequest(body, contentType);
    expect(parts).toEqual([
      { method: 'POST', url: '/api/data/v9.2/contacts', headers: { 'content-type': 'application/json' }, body: '{"lastname":"--batch_not_a_boundary"}', contentId: '1' },
      { method: 'DELETE', url: '/api/data/v9.2/contacts(00000000-0000-0000-0000-000000000001)', headers: {}, contentId: '2' },
    ]);
  });

  it('parses LF-only requests with a change set, as DynamicsWebApi sends them', () => {
    const body = [
      '--batch_1',
      'Content-Type: multipart/mixed; boundary="changeset_a"',
      '',
      '--changeset_a',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      'Content-ID: 1',
      '',
      'POST https://org.example/api/data/v9.2/contacts HTTP/1.1',
      'Content-Type: application/json',
      '',
      '{"lastname":"Lee"}',
      '--changeset_a--',
      '--batch_1',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      '',
      'GET /api/data/v9.2/contacts?$top=2 HTTP/1.1',
      '',
      '',
      '--batch_1--',
      '',
    ].join('\n');
    const parts = parseBatchRequest(body, 'multipart/mixed; boundary=batch_1');
    expect(parts.map((part) => [part.method, part.contentId, part.changeSet, part.body])).toEqual([
      ['POST', '1', 0, '{"lastname":"Lee"}'],
      ['GET', undefined, undefined, undefined],
    ]);
  });

  it('reads answers with the server-chosen boundary, nested change sets and statuses', () => {
    const { contentType, body } = buildBatchResponse([
      { status: 204, statusText: 'No Content', headers: { 'OData-EntityId': 'https://org/api/data/v9.2/contacts(00000000-0000-0000-0000-00000000000a)' }, contentId: '1', changeSet: 0 },
      { status: 400, statusText: 'Bad Request', headers: { 'Content-Type': 'application/json' }, body: '{"error":{"code":"0x80044331","message":"too long"}}', contentId: '2' },
    ]);
    expect(contentType).toMatch(/boundary=batchresponse_/);
    const parts = parseBatchResponse(body, contentType);
    expect(parts).toHaveLength(2);
    expect(parts[0]).toMatchObject({ status: 204, contentId: '1', changeSet: 0, headers: { 'odata-entityid': expect.stringContaining('0000000a') } });
    expect(parts[1]).toMatchObject({ status: 400, contentId: '2', body: '{"error":{"code":"0x80044331","message":"too long"}}' });
  });

  it('refuses a body without its closing delimiter', () => {
    expect(() => parseBatchResponse('--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n', 'multipart/mixed; boundary=b')).toThrow(/closing delimiter/);
  });
});
