/**
 * Pure mapping between Dataverse and crm-sync: entity metadata -> object descriptions, and field
 * values in both directions (Web API JSON <-> canonical values).
 *
 * @module
 */
import {
  parseInstant,
  type FieldDescription,
  type FieldType,
  type FieldValue,
  type ObjectDescription,
  type ObjectSummary,
  type PicklistValue,
  type TimeSemantics,
} from '@crm-sync/sdk';

/** A label as Dataverse metadata carries it. */
interface DataverseLabel {
  readonly UserLocalizedLabel?: { readonly Label?: string } | null;
}

/** The attribute metadata the connector reads (base `AttributeMetadata` plus casts). */
export interface DataverseAttributeMetadata {
  readonly LogicalName: string;
  readonly AttributeType: string;
  readonly AttributeTypeName?: { readonly Value?: string } | null;
  readonly DisplayName?: DataverseLabel | null;
  readonly IsValidForCreate?: boolean | null;
  readonly IsValidForUpdate?: boolean | null;
  readonly IsValidForRead?: boolean | null;
  readonly IsPrimaryId?: boolean | null;
  readonly AttributeOf?: string | null;
  readonly IsCustomAttribute?: boolean | null;
  readonly RequiredLevel?: { readonly Value?: string } | null;
  readonly MaxLength?: number | null;
  /** Text format of a String column (`Email`, `Phone`, `Url`, `Text`, ...). */
  readonly FormatName?: { readonly Value?: string } | null;
  readonly Targets?: readonly string[] | null;
  readonly DateTimeBehavior?: { readonly Value?: string } | null;
  readonly OptionSet?: { readonly Options?: readonly DataverseOption[] } | null;
}

/** One option of a choice column. */
interface DataverseOption {
  readonly Value: number;
  readonly Label?: DataverseLabel | null;
}

/** The entity metadata the connector reads. */
export interface DataverseEntityMetadata {
  readonly LogicalName: string;
  readonly EntitySetName: string;
  readonly PrimaryIdAttribute: string;
  readonly PrimaryNameAttribute?: string | null;
  readonly DisplayName?: DataverseLabel | null;
  readonly IsCustomEntity?: boolean | null;
  readonly IsAuditEnabled?: { readonly Value?: boolean } | null;
  readonly ChangeTrackingEnabled?: boolean | null;
  readonly Attributes?: readonly DataverseAttributeMetadata[];
  readonly Keys?: readonly { readonly LogicalName?: string; readonly KeyAttributes: readonly string[] }[];
}

/** Vendor facts kept in `ObjectDescription.vendor`. */
export interface DynamicsObjectVendor {
  /** The Web API collection name (`contacts`); never derived from the logical name. */
  readonly entitySetName: string;
  /** The table's logical name (`contact`). */
  readonly logicalName: string;
  /** Auditing is on for the table (`IsAuditEnabled`): `getDeleted` can read `audits`. */
  readonly auditEnabled: boolean;
  /** Change tracking is on for the table: `deletedSource: 'change-tracking'` can work. */
  readonly changeTrackingEnabled: boolean;
  /** Alternate keys, each a list of attribute names. */
  readonly alternateKeys: readonly (readonly string[])[];
}

function labelOf(label: DataverseLabel | null | undefined): string | undefined {
  return label?.UserLocalizedLabel?.Label ?? undefined;
}

/** DateTimeBehavior -> time semantics; `UserLocal` is the Dataverse default. */
function timeSemanticsFor(behavior: string | undefined): TimeSemantics {
  if (behavior === 'DateOnly') return 'date-only';
  if (behavior === 'TimeZoneIndependent') return 'floating';
  return 'instant';
}

function fieldTypeFor(attribute: DataverseAttributeMetadata): FieldType {
  if (attribute.IsPrimaryId) return 'id';
  switch (attribute.AttributeType) {
    case 'String': {
      const format = attribute.FormatName?.Value;
      return format === 'Email' ? 'email' : format === 'Phone' ? 'phone' : format === 'Url' ? 'url' : 'string';
    }
    case 'EntityName':
      return 'string';
    case 'Memo':
      return 'text';
    case 'Integer':
    case 'BigInt':
      return 'integer';
    case 'Decimal':
    case 'Double':
      return 'decimal';
    case 'Money':
      return 'currency';
    case 'Boolean':
      return 'boolean';
    case 'DateTime':
      return attribute.DateTimeBehavior?.Value === 'DateOnly' ? 'date' : 'datetime';
    case 'Picklist':
    case 'State':
    case 'Status':
      return 'picklist';
    case 'Lookup':
    case 'Customer':
    case 'Owner':
    case 'Uniqueidentifier':
      return 'reference';
    case 'Virtual':
      return attribute.AttributeTypeName?.Value === 'MultiSelectPicklistType' ? 'multipicklist' : 'string';
    default:
      return 'string';
  }
}

/** Lookups are read through `_<name>_value` in the Web API. */
function webApiName(attribute: DataverseAttributeMetadata): string {
  const lookup = ['Lookup', 'Customer', 'Owner'].includes(attribute.AttributeType);
  return lookup ? `_${attribute.LogicalName}_value` : attribute.LogicalName;
}

/** Maps one attribute to a field description. */
function describeAttribute(attribute: DataverseAttributeMetadata, singleKeyAttributes: ReadonlySet<string>): FieldDescription {
  const type = fieldTypeFor(attribute);
  const level = attribute.RequiredLevel?.Value ?? 'None';
  // Lookups are written through `<navigation>@odata.bind`, which this connector does not map.
  const lookup = ['Lookup', 'Customer', 'Owner'].includes(attribute.AttributeType);
  const createable = Boolean(attribute.IsValidForCreate) && !lookup;
  const updateable = Boolean(attribute.IsValidForUpdate) && !lookup;
  const readable = attribute.IsValidForRead !== false;
  const label = labelOf(attribute.DisplayName);
  const options = attribute.OptionSet?.Options;
  const picklistValues: PicklistValue[] | undefined = options?.map((option) => {
    const optionLabel = labelOf(option.Label);
    return { value: String(option.Value), active: true, ...(optionLabel !== undefined ? { label: optionLabel } : {}) };
  });
  const primaryKey = Boolean(attribute.IsPrimaryId);
  return {
    name: webApiName(attribute),
    ...(label !== undefined ? { label } : {}),
    type,
    ...(type === 'date' || type === 'datetime' ? { timeSemantics: timeSemanticsFor(attribute.DateTimeBehavior?.Value) } : {}),
    nullable: level !== 'SystemRequired' && !primaryKey,
    createable,
    updateable,
    filterable: readable && type !== 'multipicklist',
    sortable: readable && type !== 'multipicklist' && type !== 'text',
    externalId: singleKeyAttributes.has(attribute.LogicalName),
    idLookup: primaryKey || singleKeyAttributes.has(attribute.LogicalName),
    primaryKey,
    unique: primaryKey || singleKeyAttributes.has(attribute.LogicalName),
    required: createable && (level === 'SystemRequired' || level === 'ApplicationRequired'),
    ...(typeof attribute.MaxLength === 'number' ? { length: attribute.MaxLength } : {}),
    ...(picklistValues !== undefined ? { picklistValues } : {}),
    ...(attribute.Targets ? { referenceTo: [...attribute.Targets] } : {}),
  };
}

/** Maps entity metadata (with attributes, keys and cast properties merged in) to a description. */
export function describeEntity(entity: DataverseEntityMetadata): ObjectDescription {
  const keys = entity.Keys ?? [];
  const singleKeyAttributes = new Set(keys.filter((key) => key.KeyAttributes.length === 1).map((key) => key.KeyAttributes[0] as string));
  const fields = (entity.Attributes ?? [])
    // Shadow columns (`...name`, `...yominame`) mirror another attribute and cannot be written.
    .filter((attribute) => !attribute.AttributeOf && attribute.IsValidForRead !== false)
    .map((attribute) => describeAttribute(attribute, singleKeyAttributes));
  const vendor: DynamicsObjectVendor = {
    entitySetName: entity.EntitySetName,
    logicalName: entity.LogicalName,
    auditEnabled: entity.IsAuditEnabled?.Value ?? false,
    changeTrackingEnabled: entity.ChangeTrackingEnabled ?? false,
    alternateKeys: keys.map((key) => [...key.KeyAttributes]),
  };
  return { ...summarizeEntity(entity), primaryKey: entity.PrimaryIdAttribute, fields, vendor: { ...vendor } };
}

/** Maps entity metadata to a catalogue entry. */
export function summarizeEntity(entity: DataverseEntityMetadata): ObjectSummary {
  const label = labelOf(entity.DisplayName);
  return {
    name: entity.LogicalName,
    ...(label !== undefined ? { label } : {}),
    queryable: true,
    createable: true,
    updateable: true,
    deletable: true,
    custom: entity.IsCustomEntity ?? false,
  };
}

/** Reads the vendor facts back from a description made by {@link describeEntity}. */
export function vendorOf(description: ObjectDescription): DynamicsObjectVendor {
  return description.vendor as unknown as DynamicsObjectVendor;
}

/** Decodes a Web API JSON value into a canonical value, by the field's description. */
export function decodeValue(field: FieldDescription | undefined, raw: unknown): FieldValue {
  if (raw === null || raw === undefined) return null;
  if (field === undefined) return typeof raw === 'object' ? JSON.stringify(raw) : (raw as FieldValue);
  switch (field.type) {
    case 'datetime': {
      if (typeof raw !== 'string') return null;
      if (field.timeSemantics === 'floating') {
        // TimeZoneIndependent: the 'Z' Dataverse appends does not mean UTC; keep the wall clock.
        const wall = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?/.exec(raw);
        if (!wall) return raw;
        return `${wall[1]}:${wall[2] ?? '00'}.${(wall[3] ?? '').padEnd(3, '0')}`;
      }
      return parseInstant(raw) ?? raw;
    }
    case 'date':
      return typeof raw === 'string' ? raw.slice(0, 10) : null;
    case 'picklist':
      return typeof raw === 'number' ? String(raw) : (raw as FieldValue);
    case 'multipicklist':
      return typeof raw === 'string' ? raw.split(',').map((item) => item.trim()).join(';') : null;
    default:
      return typeof raw === 'object' ? JSON.stringify(raw) : (raw as FieldValue);
  }
}

/** Encodes a canonical value for a Web API body, or says why it cannot be sent. */
export function encodeValue(field: FieldDescription, value: FieldValue): { ok: true; value: unknown } | { ok: false; message: string } {
  if (value === null) return { ok: true, value: null };
  const wrong = (expected: string) => ({ ok: false as const, message: `field '${field.name}' expects ${expected}, got ${JSON.stringify(value)}` });
  switch (field.type) {
    case 'datetime': {
      if (typeof value !== 'string') return wrong('an ISO 8601 date-time string');
      if (field.timeSemantics === 'floating') {
        const wall = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z)?$/.exec(value);
        return wall ? { ok: true, value: `${wall[1]}Z` } : wrong('a wall-clock date-time YYYY-MM-DDTHH:mm:ss.SSS');
      }
      const instant = parseInstant(value);
      return instant ? { ok: true, value: instant } : wrong('an ISO 8601 date-time with an offset or Z');
    }
    case 'date':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? { ok: true, value } : wrong('a date YYYY-MM-DD');
    case 'picklist': {
      const number = typeof value === 'number' ? value : Number(value);
      return Number.isInteger(number) && String(value).trim() !== '' ? { ok: true, value: number } : wrong('a choice value (an integer)');
    }
    case 'multipicklist':
      return typeof value === 'string' ? { ok: true, value: value.split(';').map((item) => item.trim()).join(',') } : wrong('choice values joined with ;');
    case 'integer':
    case 'decimal':
    case 'currency':
    case 'percent': {
      const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
      if (!Number.isFinite(number)) return wrong('a number');
      return field.type === 'integer' && !Number.isInteger(number) ? wrong('an integer') : { ok: true, value: number };
    }
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : wrong('true or false');
    default:
      return { ok: true, value: typeof value === 'string' ? value : String(value) };
  }
}
