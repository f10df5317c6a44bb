/**
 * Which field tells that a record changed: the cursor of incremental import.
 *
 * Defaults follow the seed: Dynamics `modifiedon`; Salesforce `LastModifiedDate`, then
 * `SystemModstamp` (the first one the object has). A connector may declare its own candidates in
 * `capabilities.changeFields`; a job may name another field.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import type { ConnectorCapabilities } from '../contract/capabilities.js';
import { findField, type FieldDescription, type ObjectDescription } from '../contract/describe.js';
import { fieldKind } from '../conversion/field-kind.js';

/** Default change-field candidates per connector id, in preference order. */
export const DEFAULT_CHANGE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  dynamics: ['modifiedon'],
  salesforce: ['LastModifiedDate', 'SystemModstamp'],
  mock: ['updatedAt'],
};

/** No usable change field. */
export interface ChangeFieldError {
  readonly kind: 'change-field';
  /** The object concerned. */
  readonly object: string;
  /** `[crm-sync] [<connector>] ...`: what is missing and how to fix it. */
  readonly message: string;
}

/** Why a field cannot be a change field, or undefined when it can. */
function unfit(field: FieldDescription): string | undefined {
  if (fieldKind(field) !== 'instant') return `it is a ${field.type} field${field.timeSemantics ? ` (${field.timeSemantics})` : ''}, not a UTC date-time`;
  if (!field.filterable) return 'the CRM cannot filter on it';
  if (!field.sortable) return 'the CRM cannot sort on it';
  return undefined;
}

/**
 * Resolves the change field of an object. An `override` wins and must exist and be a filterable,
 * sortable instant date-time; otherwise the first of `capabilities.changeFields`, then of
 * {@link DEFAULT_CHANGE_FIELDS} for the connector id, that the object has and that fits.
 */
export function resolveChangeField(
  description: ObjectDescription,
  connector: { readonly id: string; readonly capabilities: ConnectorCapabilities },
  override?: string,
): Result<FieldDescription, ChangeFieldError> {
  const prefix = `[crm-sync] [${connector.id}]`;
  const fail = (message: string) => err<FieldDescription, ChangeFieldError>({ kind: 'change-field', object: description.name, message: `${prefix} ${message}` });
  if (override !== undefined) {
    const field = findField(description, override);
    if (!field) return fail(`change field "${override}" is not a field of ${description.name}; name a date-time field that the CRM updates on every change`);
    const problem = unfit(field);
    return problem ? fail(`change field "${override}" of ${description.name} cannot be used: ${problem}; name another field`) : ok(field);
  }
  const candidates = [...connector.capabilities.changeFields, ...(DEFAULT_CHANGE_FIELDS[connector.id] ?? [])];
  for (const name of candidates) {
    const field = findField(description, name);
    if (field && unfit(field) === undefined) return ok(field);
  }
  const tried = candidates.length ? `tried ${[...new Set(candidates)].join(', ')}` : 'the connector declares no candidates';
  return fail(`${description.name} has no usable change field (${tried}); set the job's changeField to a filterable, sortable date-time field`);
}
