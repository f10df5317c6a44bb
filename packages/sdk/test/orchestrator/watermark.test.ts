import { describe, expect, it } from 'vitest';
import { formatWatermark, parseWatermark, readWatermark, watermarkCheckpoint } from '../../src/index.js';
import { MAX_OVERLAP_META_CHARS, RecentKeys } from '../../src/orchestrator/watermark.js';

const stored = (value: string, meta?: Record<string, unknown>) => ({ name: 'LASTIMPORT_default_a', value, updatedAt: '2024-01-01T00:00:00.000Z', ...(meta ? { meta } : {}) });

describe('watermark text and meta', () => {
  it('formats and parses the seed format yyyy/MM/dd HH:mm:ss in UTC', () => {
    expect(formatWatermark('2024-03-31T01:30:05.123Z')).toBe('2024/03/31 01:30:05');
    expect(parseWatermark('2024/03/31 01:30:05')._unsafeUnwrap()).toBe('2024-03-31T01:30:05.000Z');
    expect(parseWatermark('31-03-2024')._unsafeUnwrapErr()).toMatch(/yyyy\/MM\/dd HH:mm:ss/);
  });

  it('uses the exact instant, tie-break id and dedupe set while the text agrees with them', () => {
    const recent = new RecentKeys(60_000);
    recent.add('C42', '2024-03-31T01:30:05.123Z');
    const checkpoint = watermarkCheckpoint('o', 'updatedAt', { at: '2024-03-31T01:30:05.123Z', id: 'C42', recent: recent.list('2024-03-31T01:30:05.123Z') });
    const read = readWatermark(stored(checkpoint.value, { ...checkpoint.meta }), 'updatedAt')._unsafeUnwrap();
    expect(read).toMatchObject({ at: '2024-03-31T01:30:05.123Z', id: 'C42' });
    expect(new RecentKeys(60_000, read?.recent).has('C42', '2024-03-31T01:30:05.123Z')).toBe(true);
  });

  it('lets a hand-set text win over stale meta and resets the tie-break', () => {
    const read = readWatermark(stored('2024/04/01 00:00:00', { at: '2024-03-31T01:30:05.123Z', id: 'C42', field: 'updatedAt' }), 'updatedAt')._unsafeUnwrap();
    expect(read).toEqual({ at: '2024-04-01T00:00:00.000Z', handSet: true });
  });

  it('ignores meta written for another change field', () => {
    const checkpoint = watermarkCheckpoint('o', 'SystemModstamp', { at: '2024-03-31T01:30:05.123Z', id: 'C42' });
    const read = readWatermark(stored(checkpoint.value, { ...checkpoint.meta }), 'LastModifiedDate')._unsafeUnwrap();
    expect(read?.id).toBeUndefined();
    expect(read?.at).toBe('2024-03-31T01:30:05.000Z');
  });

  it('treats a missing or empty option as no watermark (first run)', () => {
    expect(readWatermark(undefined, 'updatedAt')._unsafeUnwrap()).toBeUndefined();
    expect(readWatermark(stored('  '), 'updatedAt')._unsafeUnwrap()).toBeUndefined();
  });
});

describe('the overlap dedupe set in the watermark meta', () => {
  const END = '2024-06-01T12:00:00.000Z';
  const at = (msBeforeEnd: number) => new Date(Date.parse(END) - msBeforeEnd).toISOString();
  /** 20,000 records changed within the last ten minutes, a few per second, as an overlap of ten minutes sees them. */
  function busyWindow(): RecentKeys {
    const recent = new RecentKeys(10 * 60_000);
    for (let i = 0; i < 20_000; i += 1) recent.add(`003${String(i).padStart(15, '0')}`, at(i * 29));
    return recent;
  }

  it('stays under 16 KB of meta with 20,000 records in the overlap window', () => {
    const checkpoint = watermarkCheckpoint('LASTIMPORT_default_importContacts', 'SystemModstamp', { at: END, id: '003000000000000000', recent: busyWindow().list(END) });
    expect(JSON.stringify(checkpoint.meta).length).toBeLessThan(16 * 1024);
    expect(String(checkpoint.meta?.overlap).length).toBeLessThanOrEqual(MAX_OVERLAP_META_CHARS);
  });

  it('after a store and read back, drops a re-read of a delivered record and keeps the same id changed again', () => {
    const checkpoint = watermarkCheckpoint('o', 'updatedAt', { at: END, recent: busyWindow().list(END) });
    const read = readWatermark(stored(checkpoint.value, { ...checkpoint.meta }), 'updatedAt')._unsafeUnwrap();
    const next = new RecentKeys(10 * 60_000, read?.recent);
    // The newest records of the window are kept: the ones an overlap re-read meets first.
    expect(next.has('003000000000000000', at(0))).toBe(true);
    expect(next.has('003000000000000100', at(100 * 29))).toBe(true);
    expect(next.has('003000000000000100', at(100 * 29 - 1))).toBe(false);
    expect(next.has('003999999999999999', at(0))).toBe(false);
  });

  it('keeps only records changed inside the overlap window', () => {
    const recent = new RecentKeys(60_000);
    recent.add('old', at(5 * 60_000));
    recent.add('new', at(10_000));
    const next = new RecentKeys(60_000, recent.list(END));
    expect(next.has('new', at(10_000))).toBe(true);
    expect(next.has('old', at(5 * 60_000))).toBe(false);
  });

  it('reads the older meta form (a list of id@changedAt) and writes it compact', () => {
    const key = `C42@${at(1_000)}`;
    const read = readWatermark(stored(formatWatermark(END), { at: END, field: 'updatedAt', recent: [key] }), 'updatedAt')._unsafeUnwrap();
    expect(read?.recent).toMatch(/^o1\|/);
    expect(new RecentKeys(60_000, read?.recent).has('C42', at(1_000))).toBe(true);
  });

  it('leaves the stored text as it was while nothing new was added (an overlap re-read page)', () => {
    const recent = busyWindow();
    const first = recent.list(END);
    expect(recent.list(END)).toBe(first);
    recent.add('003000000000000000', at(0));
    expect(recent.list(END)).toBe(first);
    recent.add('brand-new', at(0));
    expect(recent.list(END)).not.toBe(first);
  });
});
