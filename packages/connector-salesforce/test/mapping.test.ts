import { describe, expect, it } from 'vitest';
import { decodeSalesforceDateTime } from '../src/mapping.js';

describe('decodeSalesforceDateTime', () => {
  it('maps the UTC form Salesforce sends to the canonical instant', () => {
    expect(decodeSalesforceDateTime('2024-03-31T01:30:00.000+0000')).toBe('2024-03-31T01:30:00.000Z');
  });

  it('agrees with a Date round trip for 2,000 instants across 1970-2100', () => {
    for (let i = 0; i < 2000; i += 1) {
      const instant = new Date(Math.floor((i / 2000) * 4_102_444_800_000) + i * 7).toISOString();
      const salesforce = `${instant.slice(0, 23)}+0000`;
      expect(decodeSalesforceDateTime(salesforce)).toBe(new Date(Date.parse(instant)).toISOString());
    }
  });

  it('converts other offsets and precisions to UTC', () => {
    expect(decodeSalesforceDateTime('2024-03-31T03:30:00.000+0200')).toBe('2024-03-31T01:30:00.000Z');
    expect(decodeSalesforceDateTime('2024-03-31T01:30:00Z')).toBe('2024-03-31T01:30:00.000Z');
    expect(decodeSalesforceDateTime('2024-03-30T20:30:00.5-05:00')).toBe('2024-03-31T01:30:00.500Z');
  });

  it('returns text that is not a date-time unchanged', () => {
    expect(decodeSalesforceDateTime('not a date')).toBe('not a date');
    expect(decodeSalesforceDateTime('2024-13-31T01:30:00.000+0000')).toBe('2024-13-31T01:30:00.000+0000');
  });
});
