/**
 * Finding tables by entity set name, rendering engine records as Web API rows (cached per
 * record version), and reading record keys from URLs.
 *
 * @module
 */
import type { FieldDescription, FieldValues, ObjectDescription } from '@crm-sync/sdk';
import type { InMemoryCrm, StoredRecord } from '@crm-sync/connector-mock';
import { tableFacts } from './metadata.js';
import type { WireRow } from './odata-evaluator.js';
import { toWire } from './wire-values.js';

/** One table as the routes need it. */
export interface Table {
  readonly description: ObjectDescription;
  readonly entitySetName: string;
  readonly fields: ReadonlyMap<string, FieldDescription>;
}

/** Builds a {@link Table} from a description. */
function tableOf(description: ObjectDescription): Table {
  return {
    description,
    entitySetName: tableFacts(description).entitySetName,
    fields: new Map(description.fields.map((field) => [field.name, field])),
  };
}

/** The table served under `entitySetName`. */
export function findTable(crm: InMemoryCrm, entitySetName: string): Table | undefined {
  for (const summary of crm.listObjects()) {
    const description = crm.describe(summary.name);
    if (description !== undefined && tableFacts(description).entitySetName === entitySetName) return tableOf(description);
  }
  return undefined;
}

const rendered = new WeakMap<FieldValues, WireRow>();

/** The record as a Web API row with every column (cached until the record's values change). */
export function renderRow(table: Table, record: StoredRecord): WireRow {
  const cached = rendered.get(record.values);
  if (cached !== undefined) return cached;
  const row: Record<string, unknown> = {};
  for (const field of table.description.fields) row[field.name] = toWire(field, record.values[field.name]);
  if (isComposedFullName(table)) row.fullname = composeFullName(record.values);
  row[table.description.primaryKey] = record.id;
  rendered.set(record.values, row);
  return row;
}

/** True when the table has the read-only `fullname` Dataverse composes from first and last name. */
function isComposedFullName(table: Table): boolean {
  const field = table.fields.get('fullname');
  return field !== undefined && !field.createable && !field.updateable;
}

/** `fullname` as Dataverse composes it with the default format "First Last"; null when both are empty. */
function composeFullName(values: FieldValues): string | null {
  const parts = [values.firstname, values.lastname].filter((part): part is string => typeof part === 'string' && part.trim() !== '');
  return parts.length === 0 ? null : parts.join(' ');
}

/** A weak ETag from the record's change time. */
export function etagOf(record: StoredRecord): string {
  return `W/"${Date.parse(record.changedAt)}"`;
}

/** A record key from a URL: the primary key, or one alternate-key column and its value. */
type RecordKey = { readonly kind: 'id'; readonly id: string } | { readonly kind: 'alternate'; readonly field: string; readonly value: string | number };

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Parses the text between the parentheses of `entityset(...)` (already percent-decoded). */
export function parseRecordKey(text: string, table: Table): RecordKey | string {
  const trimmed = text.trim();
  if (GUID.test(trimmed)) return { kind: 'id', id: trimmed.toLowerCase() };
  const equals = trimmed.indexOf('=');
  if (equals < 0) return `The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.${table.description.name}'.`;
  const name = trimmed.slice(0, equals).trim();
  const raw = trimmed.slice(equals + 1).trim();
  if (raw.includes("',") || /,\s*[a-z_]+\s*=/i.test(raw)) {
    return `The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.${table.description.name}'. Ensure that the names and number of key properties match the declared key for the resource.`;
  }
  let value: string | number;
  if (raw.startsWith("'") && raw.endsWith("'") && raw.length >= 2) value = raw.slice(1, -1).replace(/''/g, "'");
  else if (GUID.test(raw)) value = raw.toLowerCase();
  else if (/^-?\d+(\.\d+)?$/.test(raw)) value = Number(raw);
  else return `Syntax error in the key of the request URI near '${raw}'.`;
  if (name === table.description.primaryKey) {
    return typeof value === 'string' && GUID.test(value) ? { kind: 'id', id: value.toLowerCase() } : `The key value for '${name}' is not a valid Guid.`;
  }
  const field = table.fields.get(name);
  if (field === undefined || !field.externalId) {
    return `The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.${table.description.name}'. Ensure that the names and number of key properties match the declared key for the resource.`;
  }
  return { kind: 'alternate', field: name, value };
}

/** Finds the active record a key names. */
export function findByKey(crm: InMemoryCrm, table: Table, key: RecordKey): StoredRecord | undefined {
  if (key.kind === 'id') return crm.get(table.description.name, key.id);
  return crm.findBy(table.description.name, key.field, key.value)[0];
}

/** The absolute URL of a record, as `OData-EntityId` carries it. */
export function entityIdUrl(apiBase: string, table: Table, id: string): string {
  return `${apiBase}${table.entitySetName}(${id})`;
}
