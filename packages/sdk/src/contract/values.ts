/**
 * Canonical values as they cross the connector contract.
 *
 * Connectors decode vendor payloads into these shapes and encode them back; the SDK's conversions
 * work only on them. Keeping dates as strings (not `Date`) makes every value exact, JSON-safe and
 * journal-safe:
 * - an **instant** (a point in time, time semantics `instant`) is an ISO 8601 UTC string with
 *   milliseconds: `2024-03-31T01:30:00.000Z`;
 * - a **date-only** value is `YYYY-MM-DD`;
 * - a **floating** date-time (wall-clock, no zone: Dataverse `TimeZoneIndependent`) is
 *   `YYYY-MM-DDTHH:mm:ss.SSS` without an offset.
 *
 * @module
 */

/** A scalar field value after decoding. Multi-select picklists are `;`-joined strings. */
export type FieldValue = string | number | boolean | null;

/** The values of one record, by remote field name. */
export type FieldValues = Record<string, FieldValue>;

/** An ISO 8601 UTC instant with milliseconds, e.g. `2024-03-31T01:30:00.000Z`. */
export type Instant = string;

const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Formats a `Date` (or epoch milliseconds) as a canonical {@link Instant}. */
export function toInstant(value: Date | number): Instant {
  const date = typeof value === 'number' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new RangeError('[crm-sync] toInstant: invalid date');
  return date.toISOString();
}

/**
 * Parses any ISO 8601 date-time with an offset (or `Z`) into a canonical {@link Instant}.
 * Returns `undefined` when the text is not such a date-time.
 */
export function parseInstant(text: string): Instant | undefined {
  if (INSTANT_PATTERN.test(text)) return text;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** True when `text` is a canonical {@link Instant}. */
export function isInstant(text: unknown): text is Instant {
  return typeof text === 'string' && INSTANT_PATTERN.test(text);
}

/** Compares two instants (canonical strings sort chronologically). */
export function compareInstants(a: Instant, b: Instant): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
