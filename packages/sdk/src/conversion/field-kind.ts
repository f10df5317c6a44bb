/**
 * One classification of fields by how their values behave, shared by filters and conversions so
 * that both agree on what a "date field" or a "number field" is.
 *
 * @module
 */
import type { FieldDescription } from '../contract/describe.js';

/**
 * How a field's values behave:
 * - `integer` / `number`: numeric (`integer`; `decimal`, `currency`, `percent`);
 * - `boolean`;
 * - `date`: a calendar date, never shifted by a zone (type `date` or time semantics `date-only`);
 * - `instant`: a point in time stored in UTC (a `datetime` field, unless metadata says otherwise);
 * - `floating`: a wall-clock date-time with no zone (Dataverse `TimeZoneIndependent`);
 * - `text`: everything else (strings, ids, picklists, `time`, `json`).
 */
export type FieldKind = 'integer' | 'number' | 'boolean' | 'date' | 'instant' | 'floating' | 'text';

/** Classifies a field from its type and time semantics. */
export function fieldKind(field: FieldDescription): FieldKind {
  switch (field.type) {
    case 'integer':
      return 'integer';
    case 'decimal':
    case 'currency':
    case 'percent':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'date':
      return field.timeSemantics === 'floating' ? 'floating' : field.timeSemantics === 'instant' ? 'instant' : 'date';
    case 'datetime':
      return field.timeSemantics === 'date-only' ? 'date' : field.timeSemantics === 'floating' ? 'floating' : 'instant';
    default:
      return 'text';
  }
}

/** True for kinds that hold a date or a date-time. */
export function isTemporalKind(kind: FieldKind): kind is 'date' | 'instant' | 'floating' {
  return kind === 'date' || kind === 'instant' || kind === 'floating';
}

/** True for numeric kinds. */
export function isNumericKind(kind: FieldKind): kind is 'integer' | 'number' {
  return kind === 'integer' || kind === 'number';
}
