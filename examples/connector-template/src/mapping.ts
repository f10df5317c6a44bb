/**
 * Pure translation between Acme's JSON and the SDK's canonical shapes: field types, time
 * semantics and values. No I/O here, so it is tested without a server.
 *
 * @module
 */
import { parseInstant, type FieldDescription, type FieldType, type FieldValue, type ObjectDescription, type ObjectSummary, type TimeSemantics } from '@crm-sync/sdk';

/** An object in Acme's catalogue (`GET /v1/objects`). */
export interface AcmeObjectSummary {
  /** API name, e.g. `contacts`. */
  readonly name: string;
  /** Display name. */
  readonly label?: string;
  /** True for objects the account defined itself. */
  readonly custom?: boolean;
}

/** Acme's field types. */
export type AcmeFieldType = 'id' | 'text' | 'email' | 'number' | 'boolean' | 'date' | 'datetime';

/** A field in Acme's object description (`GET /v1/objects/{name}`). */
export interface AcmeField {
  /** API name. */
  readonly name: string;
  /** Display name. */
  readonly label?: string;
  /** Acme's type. */
  readonly type: AcmeFieldType;
  /** A value is required on create. */
  readonly required?: boolean;
  /** Set by Acme only (e.g. `updatedAt`). */
  readonly readOnly?: boolean;
  /** Values are unique: usable as `matchOn` for upserts. */
  readonly unique?: boolean;
}

/** Acme's object description. */
export interface AcmeObject extends AcmeObjectSummary {
  /** The fields; `id` is the primary key. */
  readonly fields: readonly AcmeField[];
}

const FIELD_TYPES: Readonly<Record<AcmeFieldType, FieldType>> = {
  id: 'id',
  text: 'string',
  email: 'email',
  number: 'decimal',
  boolean: 'boolean',
  date: 'date',
  datetime: 'datetime',
};

/** Acme stores date-times in UTC and dates without a zone; nothing floats. */
const TIME_SEMANTICS: Partial<Record<AcmeFieldType, TimeSemantics>> = { date: 'date-only', datetime: 'instant' };

/** Maps a catalogue entry. Acme lets an API key do everything to every object it can see. */
export function mapAcmeSummary(object: AcmeObjectSummary): ObjectSummary {
  return {
    name: object.name,
    ...(object.label !== undefined ? { label: object.label } : {}),
    queryable: true,
    createable: true,
    updateable: true,
    deletable: true,
    custom: object.custom ?? false,
  };
}

/** Maps one field. */
export function mapAcmeField(field: AcmeField): FieldDescription {
  const primaryKey = field.type === 'id';
  const semantics = TIME_SEMANTICS[field.type];
  const writable = !primaryKey && !field.readOnly;
  return {
    name: field.name,
    ...(field.label !== undefined ? { label: field.label } : {}),
    type: FIELD_TYPES[field.type],
    ...(semantics !== undefined ? { timeSemantics: semantics } : {}),
    nullable: !primaryKey && !field.required,
    createable: writable,
    updateable: writable,
    filterable: true,
    sortable: true,
    externalId: Boolean(field.unique) && !primaryKey,
    idLookup: primaryKey || Boolean(field.unique),
    primaryKey,
    unique: primaryKey || Boolean(field.unique),
    required: Boolean(field.required) && writable,
  };
}

/** Maps a whole object description. */
export function mapAcmeObject(object: AcmeObject): ObjectDescription {
  return { ...mapAcmeSummary(object), primaryKey: 'id', fields: object.fields.map(mapAcmeField) };
}

/**
 * Decodes one value from Acme's JSON into the SDK's canonical value: date-times become canonical
 * UTC instants with milliseconds (Acme may omit them); everything else is already canonical.
 */
export function decodeAcmeValue(value: unknown): FieldValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return parseInstant(value) ?? value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  // Acme has no nested values on the fields we map; keep anything else readable rather than lose it.
  return JSON.stringify(value);
}
