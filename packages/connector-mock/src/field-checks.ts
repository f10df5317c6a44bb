/**
 * Type, length and picklist checks of one value against its field, producing the reject a CRM
 * would return (canonical code plus Salesforce-like symbol).
 *
 * @module
 */
import { isInstant, type FieldDescription, type FieldValue, type Reject, type RejectCode } from '@crm-sync/sdk';

/** Builds a non-retryable reject. */
export function rejectOf(code: RejectCode, symbol: string, message: string, fields?: readonly string[]): Reject {
  return fields === undefined ? { code, symbol, message, retryable: false } : { code, symbol, message, fields, retryable: false };
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const FLOATING = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/;
const TIME_OF_DAY = /^\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/;

/** True when `text` is a real calendar date `YYYY-MM-DD` (no 2023-02-30). */
export function isDateOnly(text: string): boolean {
  const match = DATE_ONLY.exec(text);
  if (!match) return false;
  const date = new Date(`${text}T00:00:00.000Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

function typeMismatch(field: FieldDescription, value: FieldValue, expected: string): Reject {
  return rejectOf(
    'invalid-value',
    'INVALID_TYPE_ON_FIELD_IN_RECORD',
    `${field.name}: value not of required type: ${JSON.stringify(value)} (expected ${expected})`,
    [field.name],
  );
}

function checkText(field: FieldDescription, value: FieldValue): Reject | undefined {
  if (typeof value !== 'string') return typeMismatch(field, value, 'text');
  if (field.length !== undefined && value.length > field.length) {
    return rejectOf(
      'invalid-value',
      'STRING_TOO_LONG',
      `${field.name}: data value too large: ${value.length} characters (max length=${field.length})`,
      [field.name],
    );
  }
  return undefined;
}

function checkPicklist(field: FieldDescription, value: FieldValue): Reject | undefined {
  const textReject = checkText(field, value);
  if (textReject || field.picklistValues === undefined) return textReject;
  const allowed = field.picklistValues;
  const chosen = field.type === 'multipicklist' ? (value as string).split(';') : [value as string];
  const bad = chosen.find((item) => !allowed.some((entry) => entry.active && entry.value === item));
  if (bad === undefined) return undefined;
  return rejectOf(
    'invalid-value',
    'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
    `${field.name}: bad value for restricted picklist field: ${bad}`,
    [field.name],
  );
}

function checkDateTime(field: FieldDescription, value: FieldValue): Reject | undefined {
  if (typeof value !== 'string') return typeMismatch(field, value, 'a date-time text');
  const semantics = field.timeSemantics ?? (field.type === 'date' ? 'date-only' : 'instant');
  if (semantics === 'date-only') return isDateOnly(value) ? undefined : typeMismatch(field, value, 'a date YYYY-MM-DD');
  if (semantics === 'floating') {
    return FLOATING.test(value) && isDateOnly(value.slice(0, 10))
      ? undefined
      : typeMismatch(field, value, 'a floating date-time YYYY-MM-DDTHH:mm:ss.SSS');
  }
  return isInstant(value) && !Number.isNaN(Date.parse(value))
    ? undefined
    : typeMismatch(field, value, 'a UTC instant YYYY-MM-DDTHH:mm:ss.SSSZ');
}

/**
 * Checks a non-null value against its field's type. Returns the reject, or `undefined` when the
 * value is acceptable. Nullability is the caller's concern.
 */
export function checkFieldValue(field: FieldDescription, value: Exclude<FieldValue, null>): Reject | undefined {
  switch (field.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : typeMismatch(field, value, 'a boolean');
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value) ? undefined : typeMismatch(field, value, 'an integer');
    case 'decimal':
    case 'currency':
    case 'percent':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : typeMismatch(field, value, 'a number');
    case 'date':
    case 'datetime':
      return checkDateTime(field, value);
    case 'time':
      return typeof value === 'string' && TIME_OF_DAY.test(value) ? undefined : typeMismatch(field, value, 'a time HH:mm:ss');
    case 'picklist':
    case 'multipicklist':
      return checkPicklist(field, value);
    default:
      return checkText(field, value);
  }
}
