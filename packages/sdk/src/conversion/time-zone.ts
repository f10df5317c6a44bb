/**
 * Time-zone arithmetic on luxon, shared by conversions and filters.
 *
 * The hot path (an instant shown in the job zone, a million times per import) avoids building a
 * luxon `DateTime` per value: it takes the zone's offset at that instant and formats with
 * `Date#toISOString`. Asking luxon's zone for an offset costs an `Intl` formatting call (microseconds),
 * so offsets are cached per hour of UTC time when the offset is the same at both ends of the hour
 * (time-zone transitions are never less than an hour apart); an hour that holds a transition is
 * always asked exactly. Wall-clock to instant follows luxon's own algorithm on those offsets.
 *
 * @module
 */
import { IANAZone } from 'luxon';

const zones = new Map<string, IANAZone>();

/** True when `name` is an IANA time zone luxon (and Intl) know, e.g. `Europe/Amsterdam`. */
export function isValidTimeZone(name: string): boolean {
  if (typeof name !== 'string' || name.length === 0) return false;
  // luxon builds an Intl.DateTimeFormat per check (slow); the answer never changes for a name.
  let valid = validity.get(name);
  if (valid === undefined) {
    valid = IANAZone.isValidZone(name);
    if (validity.size >= 1_000) validity.clear();
    validity.set(name, valid);
  }
  return valid;
}

const validity = new Map<string, boolean>();

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

const HOUR_MS = 3_600_000;
/** Bounds each zone's cache; a cleared cache only costs speed. */
const MAX_CACHED_HOURS = 200_000;
const offsetCaches = new WeakMap<IANAZone, Map<number, number>>();

/**
 * The zone's UTC offset in whole minutes at an instant (epoch ms), cached per UTC hour. `NaN`
 * marks an hour with a transition inside, which is always computed exactly.
 *
 * Historical local mean times have offsets with seconds (Asia/Kolkata before 1906: +05:21:10),
 * which an ISO offset cannot carry; they are rounded to the minute, and wall-clock texts use the
 * same rounded offset, so that every conversion round-trips exactly.
 */
export function zoneOffset(zone: IANAZone, ms: number): number {
  let cache = offsetCaches.get(zone);
  if (!cache) {
    cache = new Map();
    offsetCaches.set(zone, cache);
  }
  const hour = Math.floor(ms / HOUR_MS);
  let cached = cache.get(hour);
  if (cached === undefined) {
    const start = Math.round(zone.offset(hour * HOUR_MS));
    const end = Math.round(zone.offset(hour * HOUR_MS + HOUR_MS - 1));
    cached = start === end ? start : Number.NaN;
    if (cache.size >= MAX_CACHED_HOURS) cache.clear();
    cache.set(hour, cached);
  }
  return Number.isNaN(cached) ? Math.round(zone.offset(ms)) : cached;
}

const DAY_MS = 86_400_000;
/** `YYYY-MM-DD` by day number since the epoch; bounded like the offset caches. */
const dayTexts = new Map<number, string>();
const offsetTexts = new Map<number, string>();

function dayText(day: number): string {
  let text = dayTexts.get(day);
  if (text === undefined) {
    text = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (dayTexts.size >= MAX_CACHED_HOURS) dayTexts.clear();
    dayTexts.set(day, text);
  }
  return text;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n);
}

/** `+02:00` for 120 minutes. */
function formatOffset(minutes: number): string {
  let text = offsetTexts.get(minutes);
  if (text === undefined) {
    const abs = Math.abs(minutes);
    text = `${minutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
    offsetTexts.set(minutes, text);
  }
  return text;
}

/** `YYYY-MM-DDTHH:mm:ss.SSS` of epoch ms read as UTC digits, built from cached day texts. */
function formatDigits(local: number): string {
  const day = Math.floor(local / DAY_MS);
  let rest = local - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${dayText(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(rest - seconds * 1000)}`;
}

/** True for epoch ms that `Date` can represent (about ±273,790 years). */
function inDateRange(ms: number): boolean {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15;
}

/**
 * Epoch milliseconds shown in a zone with its offset, e.g. `2024-03-31T03:30:00.000+02:00`.
 * Returns undefined for an out-of-range time.
 */
export function epochToZonedIso(ms: number, zone: IANAZone): string | undefined {
  if (!inDateRange(ms)) return undefined;
  const offset = zoneOffset(zone, ms);
  return formatDigits(ms + offset * 60_000) + formatOffset(offset);
}

/** Epoch milliseconds as a canonical UTC instant (`...T01:30:00.000Z`), like `toISOString` but cached per day. */
export function epochToInstant(ms: number): string | undefined {
  return inDateRange(ms) ? `${formatDigits(ms)}Z` : undefined;
}

/** Epoch milliseconds as a wall-clock in a zone without offset, e.g. `2024-03-31T03:30:00.000`. */
export function epochToWallClock(ms: number, zone: IANAZone): string {
  return formatDigits(ms + zoneOffset(zone, ms) * 60_000);
}

/** The calendar date of an instant in a zone. */
export function epochToDateInZone(ms: number, zone: IANAZone): string {
  return dayText(Math.floor((ms + zoneOffset(zone, ms) * 60_000) / DAY_MS));
}

/**
 * Epoch milliseconds of a wall-clock time (`YYYY-MM-DD` or `YYYY-MM-DDTHH:mm[:ss[.SSS]]`) in a
 * zone. A time in a DST gap moves forward (02:30 on a spring-forward day is 03:30); an ambiguous
 * time on a fall-back day takes the earlier (summer-time) instant, in every zone (luxon's choice
 * there depends on the current date). Returns undefined for text that is not such a time.
 */
export function wallClockToEpoch(text: string, zone: IANAZone): number | undefined {
  const local = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : `${text}Z`);
  if (Number.isNaN(local)) return undefined;
  return localToEpoch(local, zone);
}

/**
 * The instant of a wall-clock time given as epoch ms "as if UTC". Deterministic around DST:
 * a wall-clock time that happens twice (fall back) is the earlier instant; one that never happens
 * (a gap) moves forward by the gap, as luxon does. The offsets a day before and after are the
 * candidates (zones never change offset twice within a day).
 */
function localToEpoch(local: number, zone: IANAZone): number {
  const before = zoneOffset(zone, local - 86_400_000);
  const after = zoneOffset(zone, local + 86_400_000);
  const first = local - before * 60_000;
  const second = local - after * 60_000;
  const firstFits = zoneOffset(zone, first) === before;
  const secondFits = zoneOffset(zone, second) === after;
  if (firstFits && secondFits) return Math.min(first, second);
  if (firstFits) return first;
  if (secondFits) return second;
  // A gap: the wall-clock time is read with the offset in force before it.
  return first;
}

/** Epoch milliseconds of midnight at the start of `date` (`YYYY-MM-DD`) in a zone. */
export function midnightInZone(date: string, zone: IANAZone): number | undefined {
  let cache = midnightCaches.get(zone);
  if (!cache) {
    cache = new Map();
    midnightCaches.set(zone, cache);
  }
  let midnight = cache.get(date);
  if (midnight === undefined && !cache.has(date)) {
    midnight = computeMidnight(date, zone);
    if (cache.size >= MAX_CACHED_HOURS) cache.clear();
    cache.set(date, midnight);
  }
  return midnight;
}

/** Exports repeat the same dates: midnight is cached per zone and date text. */
const midnightCaches = new WeakMap<IANAZone, Map<string, number | undefined>>();

function computeMidnight(date: string, zone: IANAZone): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined;
  const local = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(local)) return undefined;
  // Where midnight falls in a DST gap (e.g. America/Santiago), the day starts at the gap's end.
  return localToEpoch(local, zone);
}
