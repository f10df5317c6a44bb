/**
 * Converts whole records along a job's field mappings. Built once per job and called per record
 * on the hot path of large imports: fields, modes and zone are resolved up front, and the per-
 * record work is one output object plus one converter call per mapped field.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import { findField, type ObjectDescription } from '../contract/describe.js';
import type { FieldValues } from '../contract/values.js';
import {
  buildValueConverter,
  CONVERSION_MODES,
  ConversionFailure,
  conversionError,
  type ConversionDirection,
  type ConversionError,
  type ConversionMode,
  type ValueConverter,
} from './convert-value.js';
import { isValidTimeZone, timeZoneProblem, zoneFor } from './time-zone.js';

/** One mapped field: the CRM's name, the application's name, and how values are converted. */
export interface FieldMapping {
  /** The remote field name, as `describe` reports it. */
  readonly remote: string;
  /** The local (application) field name. */
  readonly local: string;
  /** Default `default`. */
  readonly conversion?: ConversionMode;
}

/** Converts one record; fails on the first value that cannot be converted. */
export type RecordConverter = (values: FieldValues) => Result<FieldValues, ConversionError>;

/**
 * Checks mappings against an object's description and a time zone: unknown remote fields,
 * unknown modes, modes that do not fit the field, duplicate names. An empty array means valid.
 */
export function validateMappings(
  mappings: readonly FieldMapping[],
  description: ObjectDescription,
  timeZone: string,
): ConversionError[] {
  const problems: ConversionError[] = [];
  if (!isValidTimeZone(timeZone)) problems.push({ kind: 'conversion', field: '', value: timeZone, message: timeZoneProblem(timeZone) });
  const seenRemote = new Set<string>();
  const seenLocal = new Set<string>();
  for (const mapping of mappings) {
    const field = findField(description, mapping.remote);
    if (!field) {
      problems.push(conversionError(mapping.remote, mapping.local, `cannot be mapped: "${mapping.remote}" is not a field of ${description.name}; check the name against describe()`));
      continue;
    }
    const mode = mapping.conversion ?? 'default';
    if (!CONVERSION_MODES.includes(mode)) {
      problems.push(conversionError(field, mode, `is not a conversion; use one of ${CONVERSION_MODES.join(', ')}`));
    } else {
      // Whether a mode fits a field does not depend on the zone; UTC stands in for an invalid one.
      const built = buildValueConverter(field, mode, zoneFor(isValidTimeZone(timeZone) ? timeZone : 'UTC'), 'to-local');
      if (built instanceof ConversionFailure) problems.push(conversionError(field, mode, built.reason));
    }
    if (seenRemote.has(mapping.remote)) problems.push(conversionError(field, mapping.remote, 'is mapped twice; map each remote field once'));
    if (seenLocal.has(mapping.local)) problems.push(conversionError(field, mapping.local, `is a local name used twice; give each mapping its own local name`));
    seenRemote.add(mapping.remote);
    seenLocal.add(mapping.local);
  }
  return problems;
}

interface PreparedMapping {
  readonly from: string;
  readonly to: string;
  readonly remote: string;
  readonly convert: ValueConverter;
}

/**
 * Builds a record converter. `to-local` reads remote names and writes local names; `to-remote`
 * the reverse. A field absent from the input record is absent from the output (absent is not
 * `null`: an export must not clear a CRM field it was never given). Invalid mappings make every
 * call fail with the first problem (see {@link validateMappings} to list them all up front).
 */
export function createRecordConverter(
  mappings: readonly FieldMapping[],
  description: ObjectDescription,
  timeZone: string,
  direction: ConversionDirection,
): RecordConverter {
  const problems = validateMappings(mappings, description, timeZone);
  if (problems.length > 0) {
    const problem = problems[0]!;
    return () => err(problem);
  }
  const zone = zoneFor(timeZone);
  const prepared: PreparedMapping[] = mappings.map((mapping) => {
    const field = findField(description, mapping.remote)!;
    const convert = buildValueConverter(field, mapping.conversion ?? 'default', zone, direction) as ValueConverter;
    return direction === 'to-local'
      ? { from: mapping.remote, to: mapping.local, remote: mapping.remote, convert }
      : { from: mapping.local, to: mapping.remote, remote: mapping.remote, convert };
  });
  const fieldsByRemote = new Map(description.fields.map((field) => [field.name, field]));
  const count = prepared.length;
  return (values) => {
    const out: FieldValues = {};
    for (let i = 0; i < count; i += 1) {
      const mapping = prepared[i]!;
      const value = values[mapping.from];
      if (value === undefined) continue;
      const converted = mapping.convert(value);
      if (converted instanceof ConversionFailure) {
        return err(conversionError(fieldsByRemote.get(mapping.remote)!, value, converted.reason));
      }
      out[mapping.to] = converted;
    }
    return ok(out);
  };
}
