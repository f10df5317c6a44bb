/**
 * What a connector tells about the CRM's objects and fields.
 *
 * @module
 */

/** The SDK's field types. Connectors map every vendor type onto one of these. */
export type FieldType =
  | 'id'
  | 'reference'
  | 'string'
  | 'text'
  | 'email'
  | 'phone'
  | 'url'
  | 'picklist'
  | 'multipicklist'
  | 'boolean'
  | 'integer'
  | 'decimal'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime'
  | 'time'
  | 'json';

/**
 * How a date or date-time field relates to time zones. It comes from the CRM's metadata
 * (Salesforce `date` vs `datetime`; Dataverse DateTimeBehavior), so the default conversion is right.
 * - `instant`: a point in time stored in UTC (Salesforce `datetime`, Dataverse `UserLocal`);
 * - `date-only`: a calendar date with no time and no zone (Salesforce `date`, Dataverse `DateOnly`);
 * - `floating`: a wall-clock date-time with no zone (Dataverse `TimeZoneIndependent`).
 */
export type TimeSemantics = 'instant' | 'date-only' | 'floating';

/** One allowed value of a picklist field. */
export interface PicklistValue {
  readonly value: string;
  readonly label?: string;
  readonly active: boolean;
}

/** One field of a remote object, as `describe` reports it. */
export interface FieldDescription {
  /** The remote (API) name, exactly as queries and writes use it. */
  readonly name: string;
  readonly label?: string;
  readonly type: FieldType;
  /** Set for `date`, `datetime` and `time` fields. */
  readonly timeSemantics?: TimeSemantics;
  /** The CRM accepts and may return `null`. */
  readonly nullable: boolean;
  /** Can be set on insert. */
  readonly createable: boolean;
  /** Can be set on update. */
  readonly updateable: boolean;
  /** May appear in a filter. */
  readonly filterable: boolean;
  /** May appear in an order by. */
  readonly sortable: boolean;
  /** Marked as an external id / alternate key: unique and usable for upsert. */
  readonly externalId: boolean;
  /** The CRM can look a record up by this field (Salesforce `idLookup`). */
  readonly idLookup?: boolean;
  /** This field is the object's primary key (record id). */
  readonly primaryKey: boolean;
  /** Values are unique across the object. */
  readonly unique?: boolean;
  /** A value is required on insert (not nullable, no default, createable). */
  readonly required: boolean;
  /** Maximum length of text values, when the CRM declares one. */
  readonly length?: number;
  /** Allowed values for picklists. */
  readonly picklistValues?: readonly PicklistValue[];
  /** For `reference` fields: the objects it may point at. */
  readonly referenceTo?: readonly string[];
}

/** A remote object in the CRM's catalogue. */
export interface ObjectSummary {
  readonly name: string;
  readonly label?: string;
  readonly queryable: boolean;
  readonly createable: boolean;
  readonly updateable: boolean;
  readonly deletable: boolean;
  /** True for custom (user-defined) objects. */
  readonly custom: boolean;
}

/** Everything the SDK needs to know about one object to validate and run a job. */
export interface ObjectDescription extends ObjectSummary {
  /** The name of the primary-key field (`Id`, `contactid`, ...). */
  readonly primaryKey: string;
  /** Fields in the CRM's order. Names are unique. */
  readonly fields: readonly FieldDescription[];
  /**
   * Vendor facts the connector needs later (e.g. Dataverse entity set name). Opaque to the SDK.
   */
  readonly vendor?: Readonly<Record<string, unknown>>;
}

/** Looks a field up by name (exact match). */
export function findField(description: ObjectDescription, name: string): FieldDescription | undefined {
  return description.fields.find((field) => field.name === name);
}
