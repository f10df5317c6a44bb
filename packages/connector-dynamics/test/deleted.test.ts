import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type DynamicsHarness } from './support/harness.js';

let harness: DynamicsHarness;
afterEach(async () => harness.close());

function insert(h: DynamicsHarness, lastname: string): string {
  const outcome = h.crm.insert('contact', { lastname });
  if (!outcome.ok) throw new Error(outcome.reject.message);
  return outcome.id;
}

describe('getDeleted from audits', () => {
  it('reads deletions of the window, both ends included, page by page', async () => {
    harness = await startHarness();
    const ids = Array.from({ length: 7 }, (_, i) => insert(harness, `L${i}`));
    const times = ['2024-05-10T00:00:00.000Z', '2024-05-20T00:00:00.000Z', '2024-05-20T00:00:00.000Z', '2024-05-21T12:00:00.000Z', '2024-05-25T00:00:00.000Z', '2024-05-26T00:00:00.000Z', '2024-05-30T00:00:00.000Z'];
    ids.forEach((id, i) => harness.crm.delete('contact', id, { at: times[i] }));
    const found: string[] = [];
    let cursor: string | undefined;
    do {
      const page = (await harness.connector.getDeleted({ object: 'contact', start: '2024-05-20T00:00:00.000Z', end: '2024-05-26T00:00:00.000Z', pageSize: 2 }, cursor))._unsafeUnwrap();
      found.push(...page.records.map((record) => record.id));
      expect(page.earliestDateAvailable).toBe('2024-05-02T00:00:00.000Z');
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    // Ordered by deletion time; the two deletions sharing an instant may come in either order.
    expect(found.slice(2)).toEqual(ids.slice(3, 6));
    expect(new Set(found.slice(0, 2))).toEqual(new Set(ids.slice(1, 3)));
  });

  it('refuses a window older than the audit retention with retention-exceeded', async () => {
    harness = await startHarness();
    const error = (await harness.connector.getDeleted({ object: 'contact', start: '2024-04-01T00:00:00.000Z', end: '2024-05-31T00:00:00.000Z' }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'retention-exceeded', earliestAvailable: '2024-05-02T00:00:00.000Z' });
    expect(error.message).toContain('full re-sync');
  });

  it('says auditing is off with an unsupported error, without calling audits', async () => {
    harness = await startHarness({}, { auditing: false });
    const error = (await harness.connector.getDeleted({ object: 'contact', start: '2024-05-20T00:00:00.000Z', end: '2024-05-26T00:00:00.000Z' }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'unsupported', message: expect.stringContaining('auditing is off') });
    expect(harness.emulator.requestLog.some((entry) => entry.path.includes('audits'))).toBe(false);
  });

  it('names the missing privilege when audits cannot be read', async () => {
    harness = await startHarness({}, { auditReadable: false });
    const error = (await harness.connector.getDeleted({ object: 'contact', start: '2024-05-20T00:00:00.000Z', end: '2024-05-26T00:00:00.000Z' }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'permission', httpStatus: 403, message: expect.stringContaining('prvReadAuditSummary') });
  });
});

describe('getDeleted from change tracking', () => {
  it('starts a delta link, then reports records deleted since', async () => {
    harness = await startHarness({ deletedSource: 'change-tracking' });
    const keep = insert(harness, 'Keep');
    const gone = insert(harness, 'Gone');
    const request = { object: 'contact', start: '2024-05-01T00:00:00.000Z', end: '2024-06-30T00:00:00.000Z' };
    expect((await harness.connector.getDeleted(request))._unsafeUnwrap().records).toEqual([]);
    harness.clock.advance(60_000);
    harness.crm.delete('contact', gone);
    const page = (await harness.connector.getDeleted(request))._unsafeUnwrap();
    expect(page.records).toEqual([{ id: gone, deletedAt: '2024-06-01T00:01:00.000Z' }]);
    expect((await harness.connector.getDeleted(request))._unsafeUnwrap().records).toEqual([]);
    expect(harness.crm.get('contact', keep)).toBeDefined();
  });

  it('maps an expired change-tracking token to retention-exceeded', async () => {
    harness = await startHarness({ deletedSource: 'change-tracking' });
    const request = { object: 'contact', start: '2024-05-01T00:00:00.000Z', end: '2024-06-30T00:00:00.000Z' };
    await harness.connector.getDeleted(request);
    harness.clock.advance(8 * 86_400_000);
    expect((await harness.connector.getDeleted(request))._unsafeUnwrapErr()).toMatchObject({ kind: 'retention-exceeded', vendorCode: '0x80044352' });
  });
});

describe('getDeleted from audits: the history that exists bounds the window', () => {
  const window = { object: 'contact', end: '2024-05-31T00:00:00.000Z' } as const;

  it("reads the retention from the organisation's auditretentionperiodv2, not from the configuration", async () => {
    // The configuration says 30 days; the organisation keeps audit records 10 days only.
    harness = await startHarness({ deletedRetentionDays: 30 }, { auditRetentionDays: 10 });
    const id = insert(harness, 'Kept');
    harness.crm.delete('contact', id, { at: '2024-05-25T00:00:00.000Z' });
    const error = (await harness.connector.getDeleted({ ...window, start: '2024-05-15T00:00:00.000Z' }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'retention-exceeded', earliestAvailable: '2024-05-22T00:00:00.000Z' });
    expect(error.message).toContain('auditretentionperiodv2');
    expect(harness.emulator.requestLog.some((entry) => entry.path.startsWith('/api/data/v9.2/organizations'))).toBe(true);
    // Starting where the error says is accepted.
    const page = (await harness.connector.getDeleted({ ...window, start: error.kind === 'retention-exceeded' ? error.earliestAvailable! : '' }))._unsafeUnwrap();
    expect(page.records.map((record) => record.id)).toEqual([id]);
  });

  it('a window starting before the oldest audit record (auditing turned on later) is retention-exceeded, never a partial list', async () => {
    harness = await startHarness({}, { auditEnabledOn: '2024-05-25T00:00:00.000Z' });
    const id = insert(harness, 'After');
    harness.crm.delete('contact', id, { at: '2024-05-26T00:00:00.000Z' });
    const error = (await harness.connector.getDeleted({ ...window, start: '2024-05-20T00:00:00.000Z' }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'retention-exceeded', earliestAvailable: '2024-05-25T00:00:00.000Z' });
    expect(error.message).toMatch(/oldest audit record/);
    const page = (await harness.connector.getDeleted({ ...window, start: '2024-05-25T00:00:00.000Z' }))._unsafeUnwrap();
    expect(page.records.map((record) => record.id)).toEqual([id]);
    expect(page.earliestDateAvailable).toBe('2024-05-25T00:00:00.000Z');
  });

  it('audit logs deleted early (before the retention) move the first covered date to the oldest record left', async () => {
    harness = await startHarness();
    const [lost, kept] = [insert(harness, 'Lost'), insert(harness, 'Kept')];
    harness.crm.delete('contact', lost, { at: '2024-05-10T00:00:00.000Z' });
    harness.crm.delete('contact', kept, { at: '2024-05-28T00:00:00.000Z' });
    harness.crm.purgeDeleted('contact', '2024-05-20T00:00:00.000Z');
    const error = (await harness.connector.getDeleted({ ...window, start: '2024-05-05T00:00:00.000Z' }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'retention-exceeded', earliestAvailable: '2024-05-20T00:00:00.000Z' });
    const page = (await harness.connector.getDeleted({ ...window, start: '2024-05-20T00:00:00.000Z' }))._unsafeUnwrap();
    expect(page.records.map((record) => record.id)).toEqual([kept]);
  });

  it('with audits kept for ever (-1), only the oldest audit record bounds the window', async () => {
    harness = await startHarness({ deletedRetentionDays: 30 }, { auditRetentionDays: -1, auditEnabledOn: '2024-01-01T00:00:00.000Z' });
    const page = (await harness.connector.getDeleted({ ...window, start: '2024-01-01T00:00:00.000Z' }))._unsafeUnwrap();
    expect(page.earliestDateAvailable).toBe('2024-01-01T00:00:00.000Z');
    const error = (await harness.connector.getDeleted({ ...window, start: '2023-12-31T00:00:00.000Z' }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'retention-exceeded', earliestAvailable: '2024-01-01T00:00:00.000Z' });
  });

  it('falls back to the configured retention when the organisation row cannot be read', async () => {
    harness = await startHarness({ deletedRetentionDays: 5 });
    harness.emulator.faults.inject({ kind: 'error', status: 403, code: '0x80040220', message: 'The user does not hold the necessary privileges.', match: { path: 'organizations' } });
    const error = (await harness.connector.getDeleted({ ...window, start: '2024-05-20T00:00:00.000Z' }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'retention-exceeded', earliestAvailable: '2024-05-27T00:00:00.000Z' });
    expect(error.message).toContain('deletedRetentionDays');
  });
});
