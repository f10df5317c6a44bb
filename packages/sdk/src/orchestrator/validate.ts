/**
 * Checks a job against the object's description before any data call, and prepares what the run
 * needs from it (field converters, the change field, the resolved filter). Every problem is
 * reported with the job path of the offending entry (`fields[3].remote`), all at once.
 *
 * @module
 */
import type { ConnectorCapabilities } from '../contract/capabilities.js';
import { findField, type FieldDescription, type ObjectDescription } from '../contract/describe.js';
import type { FieldValues, FieldValue } from '../contract/values.js';
import { buildValueConverter, ConversionFailure, CONVERSION_MODES, type ValueConverter } from '../conversion/convert-value.js';
import { isValidTimeZone, zoneFor } from '../conversion/time-zone.js';
import type { ResolvedFilterNode } from '../filter/ast.js';
import { resolveFilter } from '../filter/resolve.js';
import { resolveChangeField } from '../change-fields/change-fields.js';
import type { ExportJob, ImportJob, JobField } from './job.js';
import type { JobIssue } from './types.js';

/** A field ready to convert: remote name, local name and its prepared converter. */
interface PreparedField {
  readonly remote: string;
  readonly local: string;
  readonly field: FieldDescription;
  readonly convert: ValueConverter;
}

/**
 * Converts one record's values with prepared fields; the first failure names the field.
 *
 * To the CRM, absent is not `null`: a local value the row does not have is left out of the
 * payload (an update keeps the CRM's value), and only an explicit `null` clears the CRM field.
 * From the CRM, the connector answers every requested field (`null` when the CRM has none), so a
 * missing one is read as `null`.
 */
export function convertRecord(
  fields: readonly PreparedField[],
  values: Readonly<Record<string, FieldValue>>,
  direction: 'to-local' | 'to-remote',
): ConvertedRecord {
  let entry = compiledConverters.get(fields);
  if (entry === undefined) {
    entry = {};
    compiledConverters.set(fields, entry);
  }
  const convert = (entry[direction] ??= compileConverter(fields, direction));
  return convert(values);
}

/** The outcome of {@link convertRecord}. */
type ConvertedRecord = { ok: true; values: FieldValues } | { ok: false; field: string; message: string };

/** Converters compiled per prepared field list (one per job run) and direction. */
const compiledConverters = new WeakMap<readonly PreparedField[], { 'to-local'?: RecordFunction; 'to-remote'?: RecordFunction }>();
type RecordFunction = (values: Readonly<Record<string, FieldValue>>) => ConvertedRecord;

/**
 * The per-record loop with names, converters and direction resolved once: the import runs it
 * for every record read.
 */
function compileConverter(fields: readonly PreparedField[], direction: 'to-local' | 'to-remote'): RecordFunction {
  const toLocal = direction === 'to-local';
  const froms = fields.map((prepared) => (toLocal ? prepared.remote : prepared.local));
  const tos = fields.map((prepared) => (toLocal ? prepared.local : prepared.remote));
  const converters = fields.map((prepared) => prepared.convert);
  const count = fields.length;
  return (values) => {
    const out: FieldValues = {};
    for (let i = 0; i < count; i += 1) {
      const from = froms[i]!;
      // Own properties only: a local column named `constructor` must not read Object's.
      let value = values[from];
      if (value !== undefined && !Object.hasOwn(values, from)) value = undefined;
      if (value === undefined && !toLocal) continue;
      const converted = converters[i]!(value ?? null);
      if (converted instanceof ConversionFailure) {
        const prepared = fields[i]!;
        return {
          ok: false,
          field: prepared.remote,
          message: `[crm-sync] [conversion] field "${prepared.remote}" (${prepared.field.type}): ${converted.reason}`,
        };
      }
      out[tos[i]!] = converted;
    }
    return { ok: true, values: out };
  };
}

function checkTimeZone(timeZone: string | undefined, issues: JobIssue[]): string {
  const zone = timeZone ?? 'UTC';
  if (!isValidTimeZone(zone)) {
    issues.push({ path: 'timeZone', message: `"${zone}" is not a known IANA time zone; use a name such as Europe/Amsterdam or UTC` });
  }
  return zone;
}

function prepareFields(
  fields: readonly JobField[],
  description: ObjectDescription,
  timeZone: string,
  direction: 'to-local' | 'to-remote',
  issues: JobIssue[],
  check: (field: FieldDescription, path: string) => void,
): PreparedField[] {
  const prepared: PreparedField[] = [];
  const zoneOk = isValidTimeZone(timeZone);
  const locals = new Set<string>();
  fields.forEach((mapping, index) => {
    const path = `fields[${index}]`;
    const field = findField(description, mapping.remote);
    if (!field) {
      issues.push({ path: `${path}.remote`, message: `"${mapping.remote}" is not a field of ${description.name}; check the spelling against describe (names are exact)` });
      return;
    }
    if (!mapping.local) issues.push({ path: `${path}.local`, message: 'the local name is empty; give the local column name' });
    if (locals.has(mapping.local)) issues.push({ path: `${path}.local`, message: `"${mapping.local}" is mapped twice; each local name may appear once` });
    locals.add(mapping.local);
    const mode = mapping.conversion ?? 'default';
    if (!CONVERSION_MODES.includes(mode)) {
      issues.push({ path: `${path}.conversion`, message: `unknown conversion "${String(mode)}"; use one of ${CONVERSION_MODES.join(', ')}` });
      return;
    }
    check(field, path);
    if (!zoneOk) return;
    const convert = buildValueConverter(field, mode, zoneFor(timeZone), direction);
    if (convert instanceof ConversionFailure) {
      issues.push({ path: `${path}.conversion`, message: convert.reason });
      return;
    }
    prepared.push({ remote: mapping.remote, local: mapping.local, field, convert });
  });
  if (fields.length === 0) issues.push({ path: 'fields', message: 'no fields are mapped; map at least one field' });
  return prepared;
}

/** An import job checked and prepared against the object's description. */
export interface PreparedImport {
  readonly fields: readonly PreparedField[];
  readonly changeField?: string;
  readonly filter?: ResolvedFilterNode;
  readonly timeZone: string;
}

/** Validates an import job; all problems at once. */
export function prepareImport(
  job: ImportJob,
  description: ObjectDescription,
  connector: { readonly id: string; readonly capabilities: ConnectorCapabilities },
  now: Date,
): { ok: true; value: PreparedImport } | { ok: false; issues: JobIssue[] } {
  const issues: JobIssue[] = [];
  const { capabilities } = connector;
  const timeZone = checkTimeZone(job.timeZone, issues);
  const fields = prepareFields(job.fields, description, timeZone, 'to-local', issues, () => {});
  let changeField: string | undefined;
  if (job.automaticIndex?.enabled) {
    const picked = resolveChangeField(description, connector, job.automaticIndex.changeField);
    if (picked.isErr()) issues.push({ path: 'automaticIndex.changeField', message: picked.error.message });
    else changeField = picked.value.name;
    if (job.ids !== undefined) issues.push({ path: 'ids', message: 'record identification (ids) and the automatic index exclude each other; drop one' });
  }
  if (job.ids !== undefined && job.filter !== undefined) {
    issues.push({ path: 'filter', message: 'record identification (ids) replaces the filter; drop the filter or the ids' });
  }
  job.orderBy?.forEach((order, index) => {
    const field = findField(description, order.field);
    if (!field) issues.push({ path: `orderBy[${index}].field`, message: `"${order.field}" is not a field of ${description.name}` });
    else if (!field.sortable) issues.push({ path: `orderBy[${index}].field`, message: `"${order.field}" cannot be sorted on (describe says not sortable); remove it from orderBy` });
    if (order.direction !== 'asc' && order.direction !== 'desc') {
      issues.push({ path: `orderBy[${index}].direction`, message: `"${String(order.direction)}" is not a direction; use asc or desc` });
    }
  });
  if (job.orderBy?.length && !capabilities.orderBy) {
    issues.push({ path: 'orderBy', message: 'this connector cannot sort; remove orderBy' });
  }
  if (job.pageSize !== undefined && (!Number.isInteger(job.pageSize) || job.pageSize < 1)) {
    issues.push({ path: 'pageSize', message: `${job.pageSize} is not a positive whole number` });
  }
  let filter: ResolvedFilterNode | undefined;
  if (job.filter !== undefined) {
    const resolved = resolveFilter(job.filter, {
      description,
      capabilities,
      profile: job.filterProfile ?? 'portable',
      timeZone: isValidTimeZone(timeZone) ? timeZone : 'UTC',
      now,
      path: 'filter',
      ...(job.variables === undefined ? {} : { variables: job.variables }),
    });
    if (resolved.isErr()) for (const violation of resolved.error.violations) issues.push({ path: violation.path, message: `${violation.message} (${violation.rule})` });
    else filter = resolved.value;
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: { fields, timeZone, ...(changeField === undefined ? {} : { changeField }), ...(filter === undefined ? {} : { filter }) } };
}

/** An export job checked and prepared against the object's description. */
export interface PreparedExport {
  readonly fields: readonly PreparedField[];
  readonly syncKeyField?: string;
  /** Inserts go out as upserts by the sync key (idempotent). */
  readonly insertAsUpsert: boolean;
}

/** Validates an export job; all problems at once. */
export function prepareExport(
  job: ExportJob,
  description: ObjectDescription,
  capabilities: ConnectorCapabilities,
): { ok: true; value: PreparedExport } | { ok: false; issues: JobIssue[] } {
  const issues: JobIssue[] = [];
  const timeZone = checkTimeZone(job.timeZone, issues);
  const creates = job.mode !== 'update';
  const updates = job.mode !== 'insert';
  const fields = prepareFields(job.fields, description, timeZone, 'to-remote', issues, (field, path) => {
    if (field.primaryKey) issues.push({ path: `${path}.remote`, message: `"${field.name}" is the primary key; the CRM id comes from the local row's link, do not map it` });
    else if (creates && !field.createable) issues.push({ path: `${path}.remote`, message: `"${field.name}" cannot be set on insert (not createable); remove it or use mode update` });
    else if (updates && !field.updateable) issues.push({ path: `${path}.remote`, message: `"${field.name}" cannot be updated (not updateable); remove it or use mode insert` });
  });
  if (!['insert', 'update', 'upsert', 'auto'].includes(job.mode)) {
    issues.push({ path: 'mode', message: `"${String(job.mode)}" is not a mode; use insert, update, upsert or auto` });
  }
  let syncKeyField: string | undefined;
  if (job.syncKey !== undefined) {
    const field = findField(description, job.syncKey.remoteField);
    if (!field) issues.push({ path: 'syncKey.remoteField', message: `"${job.syncKey.remoteField}" is not a field of ${description.name}` });
    else if (!field.externalId) issues.push({ path: 'syncKey.remoteField', message: `"${field.name}" is not an external-id (unique) field; a sync key must be one, or duplicates cannot be told apart` });
    else syncKeyField = field.name;
    if (job.fields.some((mapping) => mapping.remote === job.syncKey?.remoteField)) {
      issues.push({ path: 'syncKey.remoteField', message: `"${job.syncKey.remoteField}" is also mapped in fields; the sync key is filled from the local key, remove the mapping` });
    }
  }
  if (job.mode === 'upsert') {
    if (job.syncKey === undefined) issues.push({ path: 'syncKey', message: 'mode upsert needs a syncKey (the external-id field to upsert by)' });
    if (!capabilities.upsertByExternalId) issues.push({ path: 'mode', message: 'this connector cannot upsert by external id; use mode auto or insert with a syncKey' });
  }
  const validPolicies = ['stop', 'resend', 'skip'];
  if (job.inDoubtPolicy !== undefined && !validPolicies.includes(job.inDoubtPolicy)) {
    issues.push({ path: 'inDoubtPolicy', message: `"${String(job.inDoubtPolicy)}" is not a policy; use stop, resend or skip` });
  }
  if (job.batchSize !== undefined && (!Number.isInteger(job.batchSize) || job.batchSize < 1)) {
    issues.push({ path: 'batchSize', message: `${job.batchSize} is not a positive whole number` });
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    value: {
      fields,
      ...(syncKeyField === undefined ? {} : { syncKeyField }),
      insertAsUpsert: syncKeyField !== undefined && capabilities.upsertByExternalId && job.mode !== 'insert',
    },
  };
}
