/**
 * Per-field value conversions between the CRM's canonical values (see `contract/values.ts`) and
 * the application's local values, in four modes:
 *
 * - `default`: type-aware. An `instant` becomes an ISO text with the job zone's offset
 *   (`2024-03-31T03:30:00.000+02:00`) and goes back as a UTC instant; a date-only value stays
 *   `YYYY-MM-DD` (never shifted by a zone or DST); a floating value stays wall-clock; numbers and
 *   booleans are checked (`"12"` becomes 12 for an integer field, `"abc"` is an error).
 * - `date-only`: a date-time becomes its date in the job zone (time dropped); back to the CRM, a
 *   date becomes midnight in the job zone.
 * - `without-time-offset`: no zone shift; the wall-clock digits are kept as they are
 *   (`...T10:00:00.000Z` <-> `...T10:00:00.000`).
 * - `copy-paste`: the raw value as text (`null` stays `null`); back to the CRM, unchanged.
 *
 * Converters are built once per field and mode ({@link buildValueConverter}) and return a
 * {@link ConversionFailure} instead of allocating a `Result` per value: the record converter
 * runs them a million times per import.
 *
 * @module
 */
import type { IANAZone } from 'luxon';
import { err, ok, type Result } from 'neverthrow';
import type { FieldDescription } from '../contract/describe.js';
import type { FieldValue } from '../contract/values.js';
import { redactText } from '../errors/redact.js';
import { fieldKind, isTemporalKind, type FieldKind } from './field-kind.js';
import {
  epochToDateInZone,
  epochToInstant,
  epochToWallClock,
  epochToZonedIso,
  isValidTimeZone,
  midnightInZone,
  timeZoneProblem,
  wallClockToEpoch,
  zoneFor,
  zoneOffset,
} from './time-zone.js';

/** How one field is converted. See the module comment. */
export type ConversionMode = 'default' | 'date-only' | 'without-time-offset' | 'copy-paste';

/** The conversion modes, for validating job files. */
export const CONVERSION_MODES: readonly ConversionMode[] = ['default', 'date-only', 'without-time-offset', 'copy-paste'];

/** Which way a value travels: from the CRM to the application, or back. */
export type ConversionDirection = 'to-local' | 'to-remote';

/** A value could not be converted. */
export interface ConversionError {
  readonly kind: 'conversion';
  /** The remote field name. */
  readonly field: string;
  /** The value that failed. */
  readonly value: unknown;
  /** `[crm-sync] [conversion] field "X" (type): ...; how to fix`. Redacted. */
  readonly message: string;
}

/** Why a single value failed; internal to the hot path, turned into a {@link ConversionError} at the edge. */
export class ConversionFailure {
  constructor(readonly reason: string) {}
}

/** A prepared converter for one field, mode, zone and direction. */
export type ValueConverter = (value: FieldValue) => FieldValue | ConversionFailure;

/** Builds the {@link ConversionError} for a failure. */
export function conversionError(field: FieldDescription | string, value: unknown, reason: string): ConversionError {
  const name = typeof field === 'string' ? field : field.name;
  const type = typeof field === 'string' ? '' : ` (${field.type})`;
  const shown = typeof value === 'string' ? `"${value}"` : String(value);
  return {
    kind: 'conversion',
    field: name,
    value,
    message: redactText(`[crm-sync] [conversion] field "${name}"${type}: value ${shown} ${reason}`),
  };
}

const NUMERIC_TEXT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME_TEXT = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

const FIX_HINT = '; fix the value, or map the field with conversion "copy-paste" to take it as text';

/** A wall-clock `YYYY-MM-DDTHH:mm:ss.SSS` plus the offset the text carried, if any. */
interface ParsedDateTime {
  readonly digits: string;
  /** Minutes east of UTC when the text had an offset (`Z` is 0). */
  readonly offsetMinutes: number | undefined;
  /** Epoch ms of the digits read as UTC. */
  readonly utcDigitsMs: number;
}

/** True for a real calendar date `YYYY-MM-DD` (rejects 2023-02-29). */
function isRealDate(text: string): boolean {
  if (text.length !== 10 || !DATE_TEXT.test(text)) return false;
  // Digit arithmetic instead of Date parsing: this runs once per date value of an import.
  const digit = (index: number) => text.charCodeAt(index) - 48;
  const year = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3);
  const month = digit(5) * 10 + digit(6);
  const day = digit(8) * 10 + digit(9);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const length = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= length;
}

/** The digit at `index`, or NaN when the character is not a digit. */
function digitAt(text: string, index: number): number {
  const code = text.charCodeAt(index) - 48;
  return code >= 0 && code <= 9 ? code : Number.NaN;
}

/**
 * Fast path for the shape this SDK itself writes, `YYYY-MM-DDTHH:mm:ss.SSS±HH:MM` (29 chars):
 * digit arithmetic and `Date.UTC` instead of a regular expression and string parsing.
 */
function parseZonedIsoFast(text: string): ParsedDateTime | undefined {
  const sign = text[23];
  if (text.length !== 29 || text[10] !== 'T' || text[19] !== '.' || (sign !== '+' && sign !== '-') || text[26] !== ':') return undefined;
  if (text[4] !== '-' || text[7] !== '-' || text[13] !== ':' || text[16] !== ':') return undefined;
  const two = (index: number) => digitAt(text, index) * 10 + digitAt(text, index + 1);
  const year = two(0) * 100 + two(2);
  const hours = two(11);
  const minutes = two(14);
  const seconds = two(17);
  const millis = digitAt(text, 20) * 100 + two(21);
  const offset = (two(24) * 60 + two(27)) * (sign === '-' ? -1 : 1);
  if (Number.isNaN(year + hours + minutes + seconds + millis + offset)) return undefined;
  if (!isRealDate(text.slice(0, 10)) || hours > 23 || minutes > 59 || seconds > 59) return undefined;
  // Date.UTC maps years 0-99 to 1900-1999; such values take the general path instead.
  if (year < 100) return undefined;
  const utcDigitsMs = Date.UTC(year, two(5) - 1, two(8), hours, minutes, seconds, millis);
  return { digits: text.slice(0, 23), offsetMinutes: offset, utcDigitsMs };
}

function parseDateTime(text: string): ParsedDateTime | undefined {
  const fast = parseZonedIsoFast(text);
  if (fast) return fast;
  const match = DATE_TIME_TEXT.exec(text);
  if (!match) return undefined;
  const [, date, hh, mm, ss, fraction, offset] = match;
  if (!isRealDate(date!) || Number(hh ?? 0) > 23 || Number(mm ?? 0) > 59 || Number(ss ?? 0) > 59) return undefined;
  const digits = `${date}T${hh ?? '00'}:${mm ?? '00'}:${ss ?? '00'}.${fraction === undefined ? '000' : fraction.length === 3 ? fraction : fraction.padEnd(3, '0').slice(0, 3)}`;
  let offsetMinutes: number | undefined;
  if (offset === 'Z') offsetMinutes = 0;
  else if (offset !== undefined) {
    const sign = offset[0] === '-' ? -1 : 1;
    const clean = offset.replace(':', '');
    offsetMinutes = sign * (Number(clean.slice(1, 3)) * 60 + Number(clean.slice(3, 5)));
  }
  return { digits, offsetMinutes, utcDigitsMs: Date.parse(`${digits}Z`) };
}

/**
 * Epoch ms of a canonical instant `YYYY-MM-DDTHH:mm:ss.SSSZ` with a real date and time (`Date.parse`
 * would roll Feb 30 over); undefined for any other text. Digit arithmetic, no regular expression
 * and no substring: this runs for every date-time value of an import.
 */
function canonicalInstantMs(text: string): number | undefined {
  if (text.length !== 24 || text.charCodeAt(23) !== 90 /* Z */ || text.charCodeAt(10) !== 84 /* T */) return undefined;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || text.charCodeAt(19) !== 46) return undefined;
  const two = (index: number) => digitAt(text, index) * 10 + digitAt(text, index + 1);
  const year = two(0) * 100 + two(2);
  const month = two(5);
  const day = two(8);
  const hours = two(11);
  const minutes = two(14);
  const seconds = two(17);
  const millis = digitAt(text, 20) * 100 + two(21);
  // NaN (a non-digit) fails every comparison below.
  if (!(month >= 1 && month <= 12 && day >= 1 && hours <= 23 && minutes <= 59 && seconds <= 59 && millis >= 0 && year >= 0)) return undefined;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const length = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  if (day > length) return undefined;
  // Date.UTC maps years 0-99 to 1900-1999; Date.parse reads the four digits as written.
  return year < 100 ? Date.parse(text) : Date.UTC(year, month - 1, day, hours, minutes, seconds, millis);
}

/** True for a canonical instant with a real date and time. */
function isCanonicalInstant(text: string): boolean {
  return canonicalInstantMs(text) !== undefined;
}

/** Epoch ms of a text that carries an offset; undefined otherwise. */
function epochOfOffsetText(text: string): number | undefined {
  const canonical = canonicalInstantMs(text);
  if (canonical !== undefined) return canonical;
  const parsed = parseDateTime(text);
  if (parsed?.offsetMinutes === undefined) return undefined;
  return parsed.utcDigitsMs - parsed.offsetMinutes * 60_000;
}

function toNumber(value: FieldValue, integer: boolean): number | ConversionFailure {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && NUMERIC_TEXT.test(value)) n = Number(value);
  else return new ConversionFailure(`is not a number${FIX_HINT}`);
  if (!Number.isFinite(n)) return new ConversionFailure(`is not a finite number${FIX_HINT}`);
  if (integer && !Number.isInteger(n)) return new ConversionFailure(`is not a whole number${FIX_HINT}`);
  return n;
}

function toBoolean(value: FieldValue): boolean | ConversionFailure {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true' || lower === '1') return true;
    if (lower === 'false' || lower === '0') return false;
  }
  return new ConversionFailure(`is not a boolean (true/false, 1/0)${FIX_HINT}`);
}

function toText(value: FieldValue): string {
  return typeof value === 'string' ? value : String(value);
}

const notText = (what: string) => new ConversionFailure(`is not ${what}${FIX_HINT}`);

/** A date `YYYY-MM-DD` from a date, or the date of a date-time in the zone (wall-clock date without offset). */
function dateOf(value: FieldValue, zone: IANAZone): string | ConversionFailure {
  if (typeof value !== 'string') return notText('a YYYY-MM-DD date');
  if (isRealDate(value)) return value;
  const ms = epochOfOffsetText(value);
  if (ms !== undefined) return epochToDateInZone(ms, zone);
  const parsed = parseDateTime(value);
  return parsed ? parsed.digits.slice(0, 10) : notText('a YYYY-MM-DD date');
}

/** Wall-clock digits (no offset) of a value; a text with an offset is shown in the zone. */
function wallClockOf(value: FieldValue, zone: IANAZone): string | ConversionFailure {
  if (typeof value !== 'string') return notText('a date-time');
  const parsed = parseDateTime(value);
  if (!parsed) return notText('a date-time (YYYY-MM-DDTHH:mm:ss)');
  if (parsed.offsetMinutes === undefined) return parsed.digits;
  return epochToWallClock(parsed.utcDigitsMs - parsed.offsetMinutes * 60_000, zone);
}

/** Wall-clock digits of a value, ignoring any offset it carries (no shift). */
function digitsOf(value: FieldValue): string | ConversionFailure {
  if (typeof value !== 'string') return notText('a date-time');
  const parsed = parseDateTime(value);
  return parsed ? parsed.digits : notText('a date-time (YYYY-MM-DDTHH:mm:ss)');
}

/** A UTC instant from text with an offset, a wall-clock text in the zone, or epoch milliseconds. */
function instantOf(value: FieldValue, zone: IANAZone): string | ConversionFailure {
  if (typeof value === 'number') return epochToInstant(value) ?? notText('a date-time');
  if (typeof value !== 'string') return notText('a date-time');
  if (isCanonicalInstant(value)) return value;
  const parsed = parseDateTime(value);
  if (!parsed) return notText('a date-time (ISO 8601)');
  // A wall-clock time without an offset is local time in the job zone (DST gaps move forward).
  const ms = parsed.offsetMinutes === undefined ? wallClockToEpoch(parsed.digits, zone) : parsed.utcDigitsMs - parsed.offsetMinutes * 60_000;
  return (ms === undefined ? undefined : epochToInstant(ms)) ?? notText('a date-time in the job time zone');
}

function scalarDefault(kind: FieldKind): ValueConverter | undefined {
  switch (kind) {
    case 'integer':
      return (value) => toNumber(value, true);
    case 'number':
      return (value) => toNumber(value, false);
    case 'boolean':
      return toBoolean;
    case 'text':
      return toText;
    default:
      return undefined;
  }
}

function unwrap<T extends FieldValue>(result: T | ConversionFailure, then: (value: T) => FieldValue | ConversionFailure): FieldValue | ConversionFailure {
  return result instanceof ConversionFailure ? result : then(result);
}

function temporalConverter(kind: 'date' | 'instant' | 'floating', mode: ConversionMode, zone: IANAZone, direction: ConversionDirection): ValueConverter {
  if (direction === 'to-local') {
    if (kind === 'date') return (value) => (typeof value === 'string' && isRealDate(value) ? value : notText('a YYYY-MM-DD date'));
    if (kind === 'floating') {
      if (mode === 'date-only') return (value) => unwrap(digitsOf(value), (digits) => digits.slice(0, 10));
      return digitsOf;
    }
    // An instant from the CRM.
    switch (mode) {
      case 'date-only':
        return (value) => unwrap(instantOf(value, zone), (instant) => epochToDateInZone(Date.parse(instant), zone));
      case 'without-time-offset':
        return (value) => unwrap(instantOf(value, zone), (instant) => instant.slice(0, 23));
      default:
        return (value) => {
          const ms = typeof value === 'string' ? epochOfOffsetText(value) : undefined;
          if (ms === undefined) return notText('a UTC date-time');
          // A canonical instant where the zone's offset is 0 (UTC jobs, winter in London): its own digits.
          if ((value as string).length === 24 && (value as string).charCodeAt(23) === 90 && zoneOffset(zone, ms) === 0) return `${(value as string).slice(0, 23)}+00:00`;
          return epochToZonedIso(ms, zone) ?? notText('a UTC date-time');
        };
    }
  }
  // To the CRM.
  if (kind === 'date') return (value) => dateOf(value, zone);
  if (kind === 'floating') {
    if (mode === 'date-only') return (value) => unwrap(dateOf(value, zone), (date) => `${date}T00:00:00.000`);
    if (mode === 'without-time-offset') return digitsOf;
    return (value) => wallClockOf(value, zone);
  }
  switch (mode) {
    case 'date-only':
      return (value) =>
        unwrap(dateOf(value, zone), (date) => {
          const ms = midnightInZone(date, zone);
          return (ms === undefined ? undefined : epochToInstant(ms)) ?? notText('a date');
        });
    case 'without-time-offset':
      return (value) => unwrap(digitsOf(value), (digits) => `${digits}Z`);
    default:
      return (value) => instantOf(value, zone);
  }
}

/**
 * Builds the converter for one field, mode and direction in a (valid) zone. `null` always stays
 * `null`. Returns a {@link ConversionFailure} (not a converter) when the mode cannot apply to the
 * field (e.g. `date-only` on a number field).
 */
export function buildValueConverter(
  field: FieldDescription,
  mode: ConversionMode,
  zone: IANAZone,
  direction: ConversionDirection,
): ValueConverter | ConversionFailure {
  let convert: ValueConverter;
  const kind = fieldKind(field);
  if (mode === 'copy-paste') {
    convert = direction === 'to-local' ? toText : (value) => value;
  } else if (isTemporalKind(kind)) {
    convert = temporalConverter(kind, mode, zone, direction);
  } else if (mode === 'date-only') {
    return new ConversionFailure(`cannot use conversion "date-only": the field is a ${kind} field, not a date or date-time; use "default"`);
  } else {
    convert = scalarDefault(kind)!;
  }
  return (value) => (value === null ? null : convert(value));
}

function convertOne(
  value: FieldValue,
  field: FieldDescription,
  mode: ConversionMode,
  timeZone: string,
  direction: ConversionDirection,
): Result<FieldValue, ConversionError> {
  if (!CONVERSION_MODES.includes(mode)) {
    return err(conversionError(field, value, `cannot be converted: unknown conversion "${String(mode)}" (use ${CONVERSION_MODES.join(', ')})`));
  }
  if (!isValidTimeZone(timeZone)) return err({ kind: 'conversion', field: field.name, value, message: timeZoneProblem(timeZone) });
  const converter = buildValueConverter(field, mode, zoneFor(timeZone), direction);
  if (converter instanceof ConversionFailure) return err(conversionError(field, value, converter.reason));
  const converted = converter(value);
  return converted instanceof ConversionFailure ? err(conversionError(field, value, converted.reason)) : ok(converted);
}

/** Converts one value read from the CRM into the application's value. */
export function toLocalValue(
  value: FieldValue,
  field: FieldDescription,
  mode: ConversionMode,
  timeZone: string,
): Result<FieldValue, ConversionError> {
  return convertOne(value, field, mode, timeZone, 'to-local');
}

/** Converts one application value into the CRM's canonical value. */
export function toRemoteValue(
  value: FieldValue,
  field: FieldDescription,
  mode: ConversionMode,
  timeZone: string,
): Result<FieldValue, ConversionError> {
  return convertOne(value, field, mode, timeZone, 'to-remote');
}
