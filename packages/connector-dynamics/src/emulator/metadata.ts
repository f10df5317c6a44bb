/**
 * `EntityDefinitions` answers built from the engine's schemas: attribute types, validity flags,
 * required levels, alternate keys, DateTimeBehavior, choices and text lengths.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { FieldDescription, ObjectDescription } from '@crm-sync/sdk';
import type { DataverseTableFacts } from './schemas.js';

/** A stable GUID-shaped id derived from a name (MetadataId). */
export function metadataId(name: string): string {
  const hex = createHash('sha1').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Reads the Dataverse facts from a description's vendor block. */
export function tableFacts(description: ObjectDescription): DataverseTableFacts {
  const vendor = (description.vendor ?? {}) as Partial<DataverseTableFacts>;
  return {
    entitySetName: vendor.entitySetName ?? `${description.name}s`,
    objectTypeCode: vendor.objectTypeCode ?? 10_000,
    primaryNameAttribute: vendor.primaryNameAttribute ?? 'name',
    auditEnabled: vendor.auditEnabled ?? true,
    changeTrackingEnabled: vendor.changeTrackingEnabled ?? true,
  };
}

const CAST_BY_TYPE: Record<string, string> = {
  Uniqueidentifier: 'UniqueIdentifierAttributeMetadata',
  String: 'StringAttributeMetadata',
  Memo: 'MemoAttributeMetadata',
  Integer: 'IntegerAttributeMetadata',
  Decimal: 'DecimalAttributeMetadata',
  Money: 'MoneyAttributeMetadata',
  Boolean: 'BooleanAttributeMetadata',
  DateTime: 'DateTimeAttributeMetadata',
  Picklist: 'PicklistAttributeMetadata',
  Virtual: 'MultiSelectPicklistAttributeMetadata',
  Lookup: 'LookupAttributeMetadata',
};

function attributeType(field: FieldDescription): { type: string; typeName: string } {
  switch (field.type) {
    case 'id':
      return { type: 'Uniqueidentifier', typeName: 'UniqueidentifierType' };
    case 'text':
      return { type: 'Memo', typeName: 'MemoType' };
    case 'integer':
      return { type: 'Integer', typeName: 'IntegerType' };
    case 'decimal':
    case 'percent':
      return { type: 'Decimal', typeName: 'DecimalType' };
    case 'currency':
      return { type: 'Money', typeName: 'MoneyType' };
    case 'boolean':
      return { type: 'Boolean', typeName: 'BooleanType' };
    case 'date':
    case 'datetime':
      return { type: 'DateTime', typeName: 'DateTimeType' };
    case 'picklist':
      return { type: 'Picklist', typeName: 'PicklistType' };
    case 'multipicklist':
      return { type: 'Virtual', typeName: 'MultiSelectPicklistType' };
    case 'reference':
      return { type: 'Lookup', typeName: 'LookupType' };
    default:
      return { type: 'String', typeName: 'StringType' };
  }
}

/** `StringAttributeMetadata.FormatName` of text fields with a format. */
const FORMAT_NAMES: Readonly<Record<string, string>> = { email: 'Email', phone: 'Phone', url: 'Url', string: 'Text' };

/** The DateTimeBehavior of a date or date-time field. */
function dateTimeBehavior(field: FieldDescription): string | undefined {
  if (field.type === 'date') return 'DateOnly';
  if (field.type !== 'datetime') return undefined;
  return field.timeSemantics === 'floating' ? 'TimeZoneIndependent' : field.timeSemantics === 'date-only' ? 'DateOnly' : 'UserLocal';
}

function label(text: string | undefined): unknown {
  return text === undefined ? { LocalizedLabels: [], UserLocalizedLabel: null } : { LocalizedLabels: [{ Label: text, LanguageCode: 1033 }], UserLocalizedLabel: { Label: text, LanguageCode: 1033 } };
}

/** The full attribute metadata of one field (base properties plus its cast's). */
export function attributeMetadata(description: ObjectDescription, field: FieldDescription): Record<string, unknown> {
  const { type, typeName } = attributeType(field);
  const behavior = dateTimeBehavior(field);
  const level = field.primaryKey ? 'SystemRequired' : field.required ? 'ApplicationRequired' : 'None';
  return {
    '@odata.type': `#Microsoft.Dynamics.CRM.${CAST_BY_TYPE[type] ?? 'AttributeMetadata'}`,
    MetadataId: metadataId(`${description.name}.${field.name}`),
    LogicalName: field.name,
    SchemaName: field.name,
    EntityLogicalName: description.name,
    ColumnNumber: description.fields.indexOf(field) + 1,
    Description: label(undefined),
    IsFilterable: field.filterable,
    IsSecured: false,
    IsManaged: false,
    AttributeType: type,
    AttributeTypeName: { Value: typeName },
    DisplayName: label(field.label),
    IsValidForCreate: field.createable,
    IsValidForUpdate: field.updateable,
    IsValidForRead: true,
    IsPrimaryId: field.primaryKey,
    IsPrimaryName: field.name === tableFacts(description).primaryNameAttribute,
    AttributeOf: null,
    IsLogical: false,
    IsCustomAttribute: field.name.startsWith('crm_'),
    RequiredLevel: { Value: level, CanBeChanged: !field.primaryKey, ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings' },
    ...(behavior !== undefined ? { DateTimeBehavior: { Value: behavior }, Format: behavior === 'DateOnly' ? 'DateOnly' : 'DateAndTime' } : {}),
    ...(field.length !== undefined ? { MaxLength: field.length } : {}),
    ...(FORMAT_NAMES[field.type] !== undefined ? { FormatName: { Value: FORMAT_NAMES[field.type] } } : {}),
    ...(field.picklistValues !== undefined
      ? { OptionSet: { Options: field.picklistValues.map((option) => ({ Value: Number(option.value), Label: label(option.label) })) } }
      : {}),
  };
}

/** Keeps only the `$select`ed properties (plus `@odata.type` and `MetadataId`, as Dataverse does). */
export function selectProperties(item: Record<string, unknown>, select: readonly string[] | undefined): Record<string, unknown> {
  if (select === undefined) return item;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    if (key === '@odata.type' || key === 'MetadataId' || select.includes(key)) out[key] = value;
  }
  return out;
}

/** The entity-level metadata of a table, without attributes. */
export function entityMetadata(description: ObjectDescription, auditing: boolean): Record<string, unknown> {
  const facts = tableFacts(description);
  return {
    MetadataId: metadataId(description.name),
    LogicalName: description.name,
    SchemaName: description.name,
    EntitySetName: facts.entitySetName,
    PrimaryIdAttribute: description.primaryKey,
    PrimaryNameAttribute: facts.primaryNameAttribute,
    ObjectTypeCode: facts.objectTypeCode,
    DisplayName: label(description.label),
    IsCustomEntity: description.custom,
    IsAuditEnabled: { Value: auditing && facts.auditEnabled, CanBeChanged: true },
    ChangeTrackingEnabled: facts.changeTrackingEnabled,
    IsOptimisticConcurrencyEnabled: true,
  };
}

/** The alternate keys of a table: one per external-id field. */
export function entityKeys(description: ObjectDescription): Record<string, unknown>[] {
  return description.fields
    .filter((field) => field.externalId && !field.primaryKey)
    .map((field) => ({ MetadataId: metadataId(`${description.name}.key.${field.name}`), LogicalName: `${field.name}_key`, KeyAttributes: [field.name] }));
}

/** The attribute cast names the emulator understands in `.../Attributes/Microsoft.Dynamics.CRM.<cast>`. */
export function castMatches(field: FieldDescription, cast: string): boolean {
  return `${CAST_BY_TYPE[attributeType(field).type] ?? ''}` === cast;
}

/** Base `AttributeMetadata` properties the emulator models (every attribute has them). */
const BASE_MODELED: ReadonlySet<string> = new Set([
  'MetadataId', 'LogicalName', 'SchemaName', 'EntityLogicalName', 'ColumnNumber', 'Description', 'DisplayName', 'AttributeType', 'AttributeTypeName',
  'IsValidForCreate', 'IsValidForUpdate', 'IsValidForRead', 'IsPrimaryId', 'IsPrimaryName', 'AttributeOf', 'IsLogical', 'IsCustomAttribute',
  'RequiredLevel', 'IsFilterable', 'IsSecured', 'IsManaged',
]);

/** Further base `AttributeMetadata` properties of Dataverse that the emulator does not model. */
const BASE_NOT_MODELED: ReadonlySet<string> = new Set([
  'AutoNumberFormat', 'CanBeSecuredForCreate', 'CanBeSecuredForRead', 'CanBeSecuredForUpdate', 'CanModifyAdditionalSettings', 'CreatedOn',
  'DeprecatedVersion', 'ExternalName', 'HasChanged', 'InheritsFrom', 'IntroducedVersion', 'IsAuditEnabled', 'IsCustomizable', 'IsDataSourceSecret',
  'IsGlobalFilterEnabled', 'IsRenameable', 'IsRequiredForForm', 'IsRetrievable', 'IsSearchable', 'IsSortableEnabled', 'IsValidForAdvancedFind',
  'IsValidForForm', 'IsValidForGrid', 'IsValidODataAttribute', 'LinkedAttributeId', 'ModifiedOn', 'Settings', 'SourceType', 'SourceTypeMask',
]);

/** Properties each derived attribute type adds: modeled ones first, then the ones the emulator does not model. */
const DERIVED: Readonly<Record<string, { readonly modeled: readonly string[]; readonly notModeled: readonly string[] }>> = {
  DateTimeAttributeMetadata: { modeled: ['DateTimeBehavior', 'Format'], notModeled: ['ImeMode', 'MinSupportedValue', 'MaxSupportedValue', 'CanChangeDateTimeBehavior', 'FormulaDefinition', 'SourceTypeMask'] },
  StringAttributeMetadata: { modeled: ['MaxLength', 'FormatName'], notModeled: ['Format', 'ImeMode', 'DatabaseLength', 'YomiOf', 'IsLocalizable', 'FormulaDefinition'] },
  MemoAttributeMetadata: { modeled: ['MaxLength'], notModeled: ['Format', 'FormatName', 'ImeMode', 'IsLocalizable'] },
  PicklistAttributeMetadata: { modeled: [], notModeled: ['DefaultFormValue', 'FormulaDefinition'] },
  MultiSelectPicklistAttributeMetadata: { modeled: [], notModeled: ['DefaultFormValue', 'FormulaDefinition'] },
  IntegerAttributeMetadata: { modeled: [], notModeled: ['MinValue', 'MaxValue', 'Format', 'FormulaDefinition'] },
  DecimalAttributeMetadata: { modeled: [], notModeled: ['MinValue', 'MaxValue', 'Precision', 'ImeMode', 'FormulaDefinition'] },
  MoneyAttributeMetadata: { modeled: [], notModeled: ['MinValue', 'MaxValue', 'Precision', 'PrecisionSource', 'ImeMode', 'FormulaDefinition'] },
  BooleanAttributeMetadata: { modeled: [], notModeled: ['DefaultValue', 'FormulaDefinition'] },
  LookupAttributeMetadata: { modeled: [], notModeled: ['Targets', 'Format'] },
  UniqueIdentifierAttributeMetadata: { modeled: [], notModeled: [] },
};

/** Navigation properties (for `$expand`) of the attribute types that carry choices. */
const OPTION_SET_TYPES: ReadonlySet<string> = new Set(['PicklistAttributeMetadata', 'MultiSelectPicklistAttributeMetadata', 'BooleanAttributeMetadata']);

/** Why a `$select` on attributes of `cast` (undefined: base `AttributeMetadata`) cannot be served. */
export type MetadataSelectProblem = { readonly kind: 'unknown'; readonly property: string; readonly type: string } | { readonly kind: 'not-modeled'; readonly property: string; readonly type: string };

/**
 * Checks a `$select` over attributes typed `cast` (undefined: the base `AttributeMetadata`): a
 * property of a derived type is not a property of the base type (Dataverse answers "Could not
 * find a property named ..."), and a real property the emulator does not model is reported too.
 */
export function checkAttributeSelect(select: readonly string[] | undefined, cast: string | undefined): MetadataSelectProblem | undefined {
  const type = cast ?? 'AttributeMetadata';
  const derived = cast !== undefined ? DERIVED[cast] : undefined;
  for (const property of select ?? []) {
    if (BASE_MODELED.has(property) || derived?.modeled.includes(property)) continue;
    if (BASE_NOT_MODELED.has(property) || derived?.notModeled.includes(property)) return { kind: 'not-modeled', property, type };
    return { kind: 'unknown', property, type };
  }
  return undefined;
}

/** True when attributes typed `cast` have the `OptionSet` / `GlobalOptionSet` navigation properties. */
export function hasOptionSet(cast: string | undefined): boolean {
  return cast !== undefined && OPTION_SET_TYPES.has(cast);
}

/** Entity-level properties the emulator models. */
export const ENTITY_MODELED: ReadonlySet<string> = new Set([
  'MetadataId', 'LogicalName', 'SchemaName', 'EntitySetName', 'PrimaryIdAttribute', 'PrimaryNameAttribute', 'ObjectTypeCode', 'DisplayName',
  'IsCustomEntity', 'IsAuditEnabled', 'ChangeTrackingEnabled', 'IsOptimisticConcurrencyEnabled',
]);

/** True when `cast` names an attribute type Dataverse has (the emulator's tables may have no attribute of it). */
export function castKnown(cast: string): boolean {
  return cast in DERIVED;
}
