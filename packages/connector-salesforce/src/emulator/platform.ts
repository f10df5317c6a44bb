/**
 * What the Salesforce platform checks before any record logic runs: the request body must
 * deserialize (a date or date-time value that is not a real calendar value fails the whole request
 * with `JSON_PARSER_ERROR`, nothing written), and standard email fields must hold an address
 * (`INVALID_EMAIL_ADDRESS`, per record).
 *
 * @module
 */
import type { FieldDescription, FieldValues, ObjectDescription } from '@crm-sync/sdk';
import { sfError, type RouteAnswer } from './context.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$/;

function realDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** True when `text` is a date (`YYYY-MM-DD`) that exists on the calendar. */
export function isRealDate(text: string): boolean {
  const m = DATE.exec(text);
  return m !== null && realDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** True when `text` is an ISO date-time (or a date) Salesforce deserializes. */
export function isRealDateTime(text: string): boolean {
  if (isRealDate(text)) return true;
  const m = DATE_TIME.exec(text);
  if (!m) return false;
  return realDate(Number(m[1]), Number(m[2]), Number(m[3])) && Number(m[4]) < 24 && Number(m[5]) < 60 && Number(m[6] ?? 0) < 60;
}

/**
 * The `JSON_PARSER_ERROR` answer for the first date or date-time value of `records` that does not
 * deserialize, or `undefined` when all do. Salesforce fails the whole request: no record is written.
 */
export function deserializationError(describe: (type: string) => ObjectDescription | undefined, records: readonly { type: string | undefined; values: Readonly<Record<string, unknown>> }[], bodyText: string): RouteAnswer | undefined {
  for (const record of records) {
    const description = record.type === undefined ? undefined : describe(record.type);
    if (!description) continue;
    for (const field of description.fields) {
      if (field.type !== 'date' && field.type !== 'datetime') continue;
      const value = record.values[field.name];
      if (value === undefined || value === null) continue;
      const ok = typeof value === 'string' && (field.type === 'date' ? isRealDate(value) : isRealDateTime(value));
      if (ok) continue;
      const shown = typeof value === 'string' ? value : JSON.stringify(value);
      const at = bodyText.indexOf(JSON.stringify(value));
      const column = at < 0 ? 1 : at + JSON.stringify(value).length + 1;
      return sfError(
        400,
        'JSON_PARSER_ERROR',
        `Cannot deserialize instance of ${field.type === 'date' ? 'date' : 'datetime'} from VALUE_STRING value ${shown} or request may be missing a required field at [line:1, column:${column}]`,
      );
    }
  }
  return undefined;
}

/** An address with a local part, an `@` and a dotted domain, as Salesforce's email fields require. */
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** A per-record platform error (`statusCode` form). */
export interface PlatformError {
  readonly statusCode: string;
  readonly message: string;
  readonly fields: readonly string[];
}

/** The platform's own field checks on the values written (email fields), or `undefined`. */
export function platformError(description: ObjectDescription, values: FieldValues): PlatformError | undefined {
  for (const field of description.fields as readonly FieldDescription[]) {
    if (field.type !== 'email') continue;
    const value = values[field.name];
    if (typeof value !== 'string' || value === '') continue;
    if (!EMAIL.test(value)) return { statusCode: 'INVALID_EMAIL_ADDRESS', message: `${field.label ?? field.name}: invalid email address: ${value}`, fields: [field.name] };
  }
  return undefined;
}
