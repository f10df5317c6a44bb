/**
 * Time-zone arithmetic on luxon, shared by conversions and filters.
 *
 * The hot path (an instant shown in the job zone, a million times per import) avoids building a
 * luxon `DateTime` per value: it asks the cached zone for its offset at that instant and formats
 * with `Date#toISOString`, which is exact and several times faster. Everything that needs
 * calendar rules (a wall-clock time in a DST gap, midnight of a date) goes through luxon.
 *
 * @module
 */
import { DateTime, IANAZone } from 'luxon';

const zones = new Map<string, IANAZone>();

/** True when `name` is an IANA time zone luxon (and Intl) know, e.g. `Europe/Amsterdam`. */
export function isValidTimeZone(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && IANAZone.isValidZone(name);
}

/** Explains an invalid time zone name: what, and how to fix it. */
export function timeZoneProblem(name: string, where = 'timeZone'): string {
  return `[crm-sync] [sdk] ${where}: "${String(name)}" is not a known IANA time zone; use a name such as Europe/Amsterdam, America/New_York or UTC`;
}

/** The cached luxon zone for a valid IANA name (check with {@link isValidTimeZone} first). */
export function zoneFor(name: string): IANAZone {
  let zone = zones.get(name);
  if (!zone) {
    zone = IANAZone.create(name);
    zones.set(name, zone);
  }
  return zone;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `+02:00` for 120 minutes. */
function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/**
 * Epoch milliseconds shown in a zone with its offset, e.g. `2024-03-31T03:30:00.000+02:00`.
 * Returns undefined for an out-of-range time.
 */
export function epochToZonedIso(ms: number, zone: IANAZone): string | undefined {
  const offset = zone.offset(ms);
  const shifted = new Date(ms + offset * 60_000);
  if (Number.isNaN(shifted.getTime())) return undefined;
  return shifted.toISOString().slice(0, 23) + formatOffset(offset);
}

/** Epoch milliseconds as a wall-clock in a zone without offset, e.g. `2024-03-31T03:30:00.000`. */
export function epochToWallClock(ms: number, zone: IANAZone): string {
  return new Date(ms + zone.offset(ms) * 60_000).toISOString().slice(0, 23);
}

/** The calendar date of an instant in a zone. */
export function epochToDateInZone(ms: number, zone: IANAZone): string {
  return new Date(ms + zone.offset(ms) * 60_000).toISOString().slice(0, 10);
}

/**
 * Epoch milliseconds of a wall-clock time (`YYYY-MM-DD` or `YYYY-MM-DDTHH:mm[:ss[.SSS]]`) in a
 * zone. A time in a DST gap moves forward (02:30 on a spring-forward day is 03:30); an ambiguous
 * time on a fall-back day takes the earlier (summer-time) instant. Returns undefined for text
 * that is not such a wall-clock time.
 */
export function wallClockToEpoch(text: string, zone: IANAZone): number | undefined {
  const parsed = DateTime.fromISO(text, { zone });
  return parsed.isValid ? parsed.toMillis() : undefined;
}

/** Epoch milliseconds of midnight at the start of `date` (`YYYY-MM-DD`) in a zone. */
export function midnightInZone(date: string, zone: IANAZone): number | undefined {
  const parsed = DateTime.fromISO(date, { zone });
  return parsed.isValid ? parsed.startOf('day').toMillis() : undefined;
}
