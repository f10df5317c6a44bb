/**
 * `Prefer: odata.include-annotations="..."`: which annotations a client asked for (`*`, exact
 * names, `namespace.*` wildcards, `-excluded`), and the `OData.Community.Display.V1.FormattedValue`
 * annotation of each column, rendered as Dataverse renders it for a user in UTC with the en-US
 * locale (the emulator's application user).
 *
 * @module
 */
import type { FieldDescription } from '@crm-sync/sdk';
import { preferences } from './http-types.js';

/** The formatted-value annotation. */
export const FORMATTED_VALUE = 'OData.Community.Display.V1.FormattedValue';

/** The annotations a request asked for, and the `Preference-Applied` entry that says so. */
export interface AnnotationRequest {
  /** True when `name` is asked for. */
  readonly includes: (name: string) => boolean;
  /** `odata.include-annotations="..."` as applied. */
  readonly applied: string;
}

function matches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

/** Reads `odata.include-annotations` from `Prefer`; `undefined` when not asked. */
export function annotationRequest(headers: Readonly<Record<string, string>>): AnnotationRequest | undefined {
  const value = preferences(headers).get('odata.include-annotations');
  if (value === undefined || value === '') return undefined;
  const patterns = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const included = patterns.filter((item) => !item.startsWith('-'));
  const excluded = patterns.filter((item) => item.startsWith('-')).map((item) => item.slice(1));
  return {
    includes: (name) => included.some((pattern) => matches(pattern, name)) && !excluded.some((pattern) => matches(pattern, name)),
    applied: `odata.include-annotations="${value}"`,
  };
}

const MONTH_DAY_YEAR = (date: Date) => `${date.getUTCMonth() + 1}/${date.getUTCDate()}/${date.getUTCFullYear()}`;

function timeOfDay(date: Date): string {
  const hours = date.getUTCHours();
  const minutes = String(date.getUTCMinutes()).padStart(2, '0');
  return `${hours % 12 === 0 ? 12 : hours % 12}:${minutes} ${hours < 12 ? 'AM' : 'PM'}`;
}

/** The formatted value of one wire value, or `undefined` when Dataverse sends none (text, ids). */
export function formattedValue(field: FieldDescription, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  switch (field.type) {
    case 'datetime': {
      const date = new Date(String(value));
      if (Number.isNaN(date.getTime())) return undefined;
      return field.timeSemantics === 'date-only' ? MONTH_DAY_YEAR(date) : `${MONTH_DAY_YEAR(date)} ${timeOfDay(date)}`;
    }
    case 'date': {
      const date = new Date(`${String(value).slice(0, 10)}T00:00:00Z`);
      return Number.isNaN(date.getTime()) ? undefined : MONTH_DAY_YEAR(date);
    }
    case 'picklist':
      return field.picklistValues?.find((option) => option.value === String(value))?.label ?? String(value);
    case 'multipicklist': {
      const labels = String(value)
        .split(',')
        .map((item) => field.picklistValues?.find((option) => option.value === item.trim())?.label ?? item.trim());
      return labels.join('; ');
    }
    case 'boolean':
      return value === true ? 'Yes' : 'No';
    case 'currency':
      return new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(Number(value));
    case 'integer':
      return new Intl.NumberFormat('en-US').format(Number(value));
    case 'decimal':
    case 'percent':
      return new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 10 }).format(Number(value));
    default:
      return undefined;
  }
}

/** Adds the asked-for annotations to a projected row (each before the value it annotates). */
export function annotateRow(row: Record<string, unknown>, fields: ReadonlyMap<string, FieldDescription>, asked: AnnotationRequest | undefined): Record<string, unknown> {
  if (asked === undefined || !asked.includes(FORMATTED_VALUE)) return row;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) {
    const field = fields.get(name);
    const formatted = field !== undefined ? formattedValue(field, value) : undefined;
    if (formatted !== undefined) out[`${name}@${FORMATTED_VALUE}`] = formatted;
    out[name] = value;
  }
  return out;
}
