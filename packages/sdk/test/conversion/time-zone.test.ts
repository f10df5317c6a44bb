import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { epochToWallClock, epochToZonedIso, midnightInZone, wallClockToEpoch, zoneFor, zoneOffset } from '../../src/index.js';

const ZONES = ['Europe/Amsterdam', 'America/New_York', 'America/Santiago', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham', 'UTC'];

describe('cached zone arithmetic agrees with luxon', () => {
  it('shows instants with the same offset text as luxon, densely around every 2022 transition', () => {
    for (const name of ZONES) {
      const zone = zoneFor(name);
      const instants: number[] = [];
      for (let day = Date.UTC(2022, 0, 1); day < Date.UTC(2023, 0, 1); day += 86_400_000) {
        instants.push(day + 7_001);
        if (zone.offset(day) !== zone.offset(day + 86_400_000)) {
          for (let ms = day - 3_600_000; ms < day + 28 * 3_600_000; ms += 5 * 60_000) instants.push(ms);
        }
      }
      for (const ms of instants) {
        // luxon writes Z for the UTC zone; we always write the offset.
        const expected = DateTime.fromMillis(ms, { zone: name }).toISO()!.replace(/Z$/, '+00:00');
        expect(epochToZonedIso(ms, zone), `${name} ${ms}`).toBe(expected);
        expect(zoneOffset(zone, ms)).toBe(zone.offset(ms));
      }
    }
  });

  it('finds the same instant as luxon for wall-clock times, and the earlier one for repeated times', () => {
    for (const name of ZONES) {
      const zone = zoneFor(name);
      for (let day = Date.UTC(2022, 0, 1); day < Date.UTC(2023, 0, 1); day += 86_400_000) {
        const date = new Date(day).toISOString().slice(0, 10);
        expect(midnightInZone(date, zone), `${name} ${date}`).toBe(DateTime.fromISO(date, { zone: name }).startOf('day').toMillis());
        for (const time of ['00:00', '01:30', '02:00', '02:30', '03:00']) {
          const text = `${date}T${time}:00.000`;
          const luxon = DateTime.fromISO(text, { zone: name }).toMillis();
          // On fall-back days luxon picks either occurrence depending on today's date; we pick the earlier.
          const occurrences = [luxon - 3_600_000, luxon - 1_800_000, luxon, luxon + 1_800_000, luxon + 3_600_000].filter(
            (ms) => epochToWallClock(ms, zone) === text,
          );
          const expected = occurrences.length > 1 ? Math.min(...occurrences) : luxon;
          expect(wallClockToEpoch(text, zone), `${name} ${text}`).toBe(expected);
        }
      }
    }
    expect(new Date(wallClockToEpoch('2022-11-06T01:30:00.000', zoneFor('America/New_York'))!).toISOString()).toBe('2022-11-06T05:30:00.000Z');
    expect(new Date(wallClockToEpoch('2022-10-30T02:30:00.000', zoneFor('Europe/Amsterdam'))!).toISOString()).toBe('2022-10-30T00:30:00.000Z');
  });

  it('starts a day whose midnight falls in a DST gap at the end of the gap', () => {
    // America/Santiago skipped from 00:00 to 01:00 on 11 September 2022.
    expect(new Date(midnightInZone('2022-09-11', zoneFor('America/Santiago'))!).toISOString()).toBe('2022-09-11T04:00:00.000Z');
  });
});
