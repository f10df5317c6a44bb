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

/** The versions Salesforce lists at `/services/data/`: 46.0 (collections upsert) up to `newest`. */
export function handleVersions(newest: string): RouteAnswer {
  const versions: string[] = [];
  for (let major = 46; major <= Math.max(46, Math.floor(Number(newest) || 62)); major += 1) versions.push(`${major}.0`);
  return json(200, versions.map((version) => ({ label: `v${version}`, url: `/services/data/v${version}`, version })));
}

function objectFlags(summary: ObjectSummary, description: ObjectDescription | undefined, apiVersion: string): Record<string, unknown> {
  const keyPrefix = typeof description?.vendor?.keyPrefix === 'string' ? description.vendor.keyPrefix : null;
  return {
    name: summary.name,
    label: summary.label ?? summary.name,
    labelPlural: `${summary.label ?? summary.name}s`,
    keyPrefix,
    custom: summary.custom,
    customSetting: false,
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
    activateable: false,
    feedEnabled: false,
    mruEnabled: true,
    deprecatedAndHidden: false,
    hasSubtypes: false,
    isSubtype: false,
    urls: {
      sobject: `/services/data/v${apiVersion}/sobjects/${summary.name}`,
      describe: `/services/data/v${apiVersion}/sobjects/${summary.name}/describe`,
      rowTemplate: `/services/data/v${apiVersion}/sobjects/${summary.name}/{ID}`,
    },
  };
}

function fieldJson(field: FieldDescription): Record<string, unknown> {
  const type = SF_TYPES[field.type];
  const length = field.length ?? (type === 'string' || type === 'textarea' ? 255 : 0);
  return {
    name: field.name,
    label: field.label ?? field.name,
    type,
    soapType: SOAP_TYPES[type] ?? 'xsd:string',
    length,
    byteLength: length * 3,
    precision: type === 'double' || type === 'currency' ? 18 : 0,
    scale: type === 'currency' ? 2 : 0,
    digits: type === 'int' ? 9 : 0,
    nillable: field.nullable,
    createable: field.createable,
    updateable: field.updateable,
    defaultedOnCreate: !field.nullable && !field.required,
    filterable: field.filterable,
    sortable: field.sortable,
    groupable: field.sortable,
    aggregatable: field.sortable,
    idLookup: field.idLookup ?? field.primaryKey,
    externalId: field.externalId,
    unique: field.unique ?? false,
    caseSensitive: false,
    calculated: false,
    autoNumber: false,
    custom: field.name.endsWith('__c'),
    nameField: field.name === 'Name',
    referenceTo: field.referenceTo ?? [],
    relationshipName: field.type === 'reference' ? field.name.replace(/Id$/, '') : null,
    relationshipOrder: null,
    restrictedPicklist: field.type === 'picklist',
    dependentPicklist: false,
    picklistValues: (field.picklistValues ?? []).map((p) => ({ active: p.active, defaultValue: false, label: p.label ?? p.value, validFor: null, value: p.value })),
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
    recordTypeInfos: [],
    actionOverrides: [],
    namedLayoutInfos: [],
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
