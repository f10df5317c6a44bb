/**
 * Metadata routes: the versions list, describeGlobal, sObject describe and `limits`, with the
 * field properties Salesforce reports (reference section 2).
 *
 * @module
 */
import type { FieldDescription, FieldType, ObjectDescription, ObjectSummary } from '@crm-sync/sdk';
import { json, sfError, type EmulatorContext, type RouteAnswer } from './context.js';

const SF_TYPES: Readonly<Record<FieldType, string>> = {
  id: 'id',
  reference: 'reference',
  string: 'string',
  text: 'textarea',
  email: 'email',
  phone: 'phone',
  url: 'url',
  picklist: 'picklist',
  multipicklist: 'multipicklist',
  boolean: 'boolean',
  integer: 'int',
  decimal: 'double',
  currency: 'currency',
  percent: 'percent',
  date: 'date',
  datetime: 'datetime',
  time: 'time',
  json: 'anyType',
};

const SOAP_TYPES: Readonly<Record<string, string>> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  boolean: 'xsd:boolean',
  int: 'xsd:int',
  double: 'xsd:double',
  currency: 'xsd:double',
  percent: 'xsd:double',
  date: 'xsd:date',
  datetime: 'xsd:dateTime',
  time: 'xsd:time',
  anyType: 'xsd:anyType',
};

/** The oldest version the emulator serves (Summer '14, the first Salesforce still lists). */
export const OLDEST_VERSION = 31;

/** The release label of a version: 31.0 is Summer '14, then Winter, Spring, Summer of each year. */
export function releaseLabel(major: number): string {
  const k = major - OLDEST_VERSION;
  const season = ['Summer', 'Winter', 'Spring'][((k % 3) + 3) % 3]!;
  const year = 14 + Math.floor((k + 2) / 3);
  return `${season} '${String(year).padStart(2, '0')}`;
}

/** The versions served: `31.0` up to `newest`. */
export function servedVersions(newest: string): string[] {
  const versions: string[] = [];
  for (let major = OLDEST_VERSION; major <= Math.max(OLDEST_VERSION, Math.floor(Number(newest) || 62)); major += 1) versions.push(`${major}.0`);
  return versions;
}

/** The versions list at `/services/data/`: `[{ label: "Winter '25", url: "/services/data/v62.0", version: "62.0" }, ...]`. */
export function handleVersions(newest: string): RouteAnswer {
  return json(200, servedVersions(newest).map((version) => ({ label: releaseLabel(Number(version)), url: `/services/data/v${version}`, version })));
}

/** The describeGlobal entry of an object (also `objectDescribe` of sObject Basic Information). */
export function objectFlags(summary: ObjectSummary, description: ObjectDescription | undefined, apiVersion: string): Record<string, unknown> {
  const keyPrefix = typeof description?.vendor?.keyPrefix === 'string' ? description.vendor.keyPrefix : null;
  const base = `/services/data/v${apiVersion}/sobjects/${summary.name}`;
  return {
    activateable: false,
    associateEntityType: null,
    associateParentEntity: null,
    name: summary.name,
    label: summary.label ?? summary.name,
    labelPlural: `${summary.label ?? summary.name}s`,
    keyPrefix,
    custom: summary.custom,
    customSetting: false,
    deepCloneable: false,
    idEnabled: true,
    isInterface: false,
    queryable: summary.queryable,
    retrieveable: true,
    replicateable: true,
    searchable: true,
    triggerable: true,
    layoutable: true,
    createable: summary.createable,
    updateable: summary.updateable,
    deletable: summary.deletable,
    undeletable: true,
    mergeable: false,
    feedEnabled: false,
    mruEnabled: true,
    deprecatedAndHidden: false,
    hasSubtypes: false,
    isSubtype: false,
    urls: {
      compactLayouts: `${base}/describe/compactLayouts`,
      rowTemplate: `${base}/{ID}`,
      defaultValues: `${base}/defaultValues?recordTypeId&fields`,
      describe: `${base}/describe`,
      layouts: `${base}/describe/layouts`,
      sobject: base,
    },
  };
}

/** The Master record type every object has (`012000000000000AAA`). */
function masterRecordType(object: string, apiVersion: string): Record<string, unknown> {
  return {
    active: true,
    available: true,
    defaultRecordTypeMapping: true,
    developerName: 'Master',
    master: true,
    name: 'Master',
    recordTypeId: '012000000000000AAA',
    urls: { layout: `/services/data/v${apiVersion}/sobjects/${object}/describe/layouts/012000000000000AAA` },
  };
}

function fieldJson(field: FieldDescription): Record<string, unknown> {
  const type = SF_TYPES[field.type];
  const length = field.length ?? (type === 'string' || type === 'textarea' ? 255 : 0);
  return {
    aggregatable: field.sortable,
    aiPredictionField: false,
    autoNumber: false,
    byteLength: length * 3,
    calculated: false,
    calculatedFormula: null,
    cascadeDelete: false,
    caseSensitive: false,
    compoundFieldName: null,
    controllerName: null,
    defaultValueFormula: null,
    displayLocationInDecimal: false,
    extraTypeInfo: null,
    filteredLookupInfo: null,
    formulaTreatNullNumberAsZero: false,
    highScaleNumber: false,
    inlineHelpText: null,
    mask: null,
    maskType: null,
    namePointing: false,
    permissionable: field.nullable && field.createable,
    polymorphicForeignKey: false,
    queryByDistance: false,
    referenceTargetField: null,
    restrictedDelete: false,
    searchPrefilterable: false,
    writeRequiresMasterRead: false,
    name: field.name,
    label: field.label ?? field.name,
    type,
    soapType: SOAP_TYPES[type] ?? 'xsd:string',
    length,
    precision: type === 'double' || type === 'currency' ? 18 : 0,
    scale: type === 'currency' ? 2 : 0,
    digits: type === 'int' ? 9 : 0,
    nillable: field.nullable,
    createable: field.createable,
    updateable: field.updateable,
    defaultedOnCreate: !field.nullable && !field.required,
    filterable: field.filterable,
    groupable: field.sortable,
    idLookup: field.idLookup ?? field.primaryKey,
    externalId: field.externalId,
    unique: field.unique ?? false,
    custom: field.name.endsWith('__c'),
    nameField: field.name === 'Name',
    referenceTo: field.referenceTo ?? [],
    relationshipName: field.type === 'reference' ? field.name.replace(/Id$/, '') : null,
    relationshipOrder: null,
    restrictedPicklist: field.type === 'picklist',
    dependentPicklist: false,
    picklistValues: (field.picklistValues ?? []).map((p) => ({ active: p.active, defaultValue: false, label: p.label ?? p.value, validFor: null, value: p.value })),
    sortable: field.sortable,
    defaultValue: null,
    deprecatedAndHidden: false,
    encrypted: false,
    htmlFormatted: false,
  };
}

/** `GET /sobjects`. */
export function handleDescribeGlobal(context: EmulatorContext, apiVersion: string): RouteAnswer {
  return json(200, {
    encoding: 'UTF-8',
    maxBatchSize: 200,
    sobjects: context.crm.listObjects().map((summary) => objectFlags(summary, context.describe(summary.name), apiVersion)),
  });
}

/** `GET /sobjects/{T}/describe`. */
export function handleDescribe(context: EmulatorContext, object: string, apiVersion: string): RouteAnswer {
  const description = context.describe(object);
  if (!description) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return json(200, {
    ...objectFlags(description, description, apiVersion),
    fields: description.fields.map(fieldJson),
    childRelationships: [],
    recordTypeInfos: [masterRecordType(description.name, apiVersion)],
    actionOverrides: [],
    namedLayoutInfos: [],
    defaultImplementation: null,
    extendedBy: null,
    extendsInterfaces: null,
    implementedBy: null,
    implementsInterfaces: null,
    sobjectDescribeOption: 'FULL',
    supportedScopes: [{ label: 'All', name: 'everything' }],
    networkScopeFieldName: null,
    compactLayoutable: true,
    listviewable: null,
    lookupLayoutable: null,
    searchLayoutable: true,
  });
}

/** `GET /limits`. */
export function handleLimits(context: EmulatorContext): RouteAnswer {
  return json(200, {
    DailyApiRequests: { Max: context.dailyApiLimit, Remaining: Math.max(0, context.dailyApiLimit - context.apiCalls) },
    DailyBulkV2QueryJobs: { Max: 10000, Remaining: 10000 },
    DailyBulkApiBatches: { Max: 15000, Remaining: 15000 - context.jobs.size },
  });
}
