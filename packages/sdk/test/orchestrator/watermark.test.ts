import { describe, expect, it } from 'vitest';
import { formatWatermark, parseWatermark, readWatermark, watermarkCheckpoint } from '../../src/index.js';

const stored = (value: string, meta?: Record<string, unknown>) => ({ name: 'LASTIMPORT_default_a', value, updatedAt: '2024-01-01T00:00:00.000Z', ...(meta ? { meta } : {}) });

describe('watermark text and meta', () => {
  it('formats and parses the seed format yyyy/MM/dd HH:mm:ss in UTC', () => {
    expect(formatWatermark('2024-03-31T01:30:05.123Z')).toBe('2024/03/31 01:30:05');
    expect(parseWatermark('2024/03/31 01:30:05')._unsafeUnwrap()).toBe('2024-03-31T01:30:05.000Z');
    expect(parseWatermark('31-03-2024')._unsafeUnwrapErr()).toMatch(/yyyy\/MM\/dd HH:mm:ss/);
  });

  it('uses the exact instant and tie-break id while the text agrees with them', () => {
    const checkpoint = watermarkCheckpoint('o', 'updatedAt', { at: '2024-03-31T01:30:05.123Z', id: 'C42', recent: ['C42@2024-03-31T01:30:05.123Z'] });
    const read = readWatermark(stored(checkpoint.value, { ...checkpoint.meta }), 'updatedAt')._unsafeUnwrap();
    expect(read).toEqual({ at: '2024-03-31T01:30:05.123Z', id: 'C42', recent: ['C42@2024-03-31T01:30:05.123Z'] });
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
