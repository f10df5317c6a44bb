/**
 * `EntityDefinitions` routes: the table list, one table with `$expand=Attributes(...)` and
 * `Keys(...)`, and attribute casts (`.../Attributes/Microsoft.Dynamics.CRM.DateTimeAttributeMetadata`).
 *
 * @module
 */
import { attributeMetadata, castKnown, castMatches, checkAttributeSelect, ENTITY_MODELED, entityKeys, entityMetadata, hasOptionSet, selectProperties, type MetadataSelectProblem } from './metadata.js';
import { errorResponse, jsonResponse, notImplemented, queryParameters, type EmulatorContext, type EmulatorRequest, type EmulatorResponse } from './http-types.js';
import { EMULATOR_CODES } from './reject-codes.js';

/** Splits `$expand` at top-level commas into name -> inner options (`$select=a,b;$expand=...`). */
function readExpand(text: string | undefined): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  if (!text) return out;
  let depth = 0;
  let current = '';
  const items: string[] = [];
  for (const ch of text) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      items.push(current);
      current = '';
    } else current += ch;
  }
  if (current) items.push(current);
  for (const item of items) {
    const open = item.indexOf('(');
    const name = (open < 0 ? item : item.slice(0, open)).trim();
    const inner = new Map<string, string>();
    if (open >= 0) {
      for (const option of item.slice(open + 1, item.lastIndexOf(')')).split(';')) {
        const equals = option.indexOf('=');
        if (equals > 0) inner.set(option.slice(0, equals).trim(), option.slice(equals + 1).trim());
      }
    }
    out.set(name, inner);
  }
  return out;
}

function list(text: string | undefined): string[] | undefined {
  return text ? text.split(',').map((item) => item.trim()) : undefined;
}

function selectProblem(problem: MetadataSelectProblem): EmulatorResponse {
  return problem.kind === 'unknown'
    ? errorResponse(400, EMULATOR_CODES.invalidProperty, `Could not find a property named '${problem.property}' on type 'Microsoft.Dynamics.CRM.${problem.type}'.`)
    : notImplemented(`the metadata property '${problem.property}' of ${problem.type}`);
}

/** Checks entity-level `$select`/`$expand`; the answer when they cannot be served. */
function checkEntityOptions(select: readonly string[] | undefined, expand: ReadonlyMap<string, ReadonlyMap<string, string>>): EmulatorResponse | undefined {
  const property = select?.find((name) => !ENTITY_MODELED.has(name));
  if (property !== undefined) return notImplemented(`the metadata property '${property}' of EntityMetadata`);
  for (const [name, inner] of expand) {
    if (name !== 'Attributes' && name !== 'Keys') return notImplemented(`$expand=${name} on EntityDefinitions`);
    const option = [...inner.keys()].find((key) => key !== '$select');
    if (option !== undefined) return notImplemented(`${option} inside $expand=${name}`);
  }
  const attributes = expand.get('Attributes');
  if (attributes !== undefined) {
    const problem = checkAttributeSelect(list(attributes.get('$select')), undefined);
    if (problem !== undefined) return selectProblem(problem);
  }
  const keys = list(expand.get('Keys')?.get('$select'));
  const keyProperty = keys?.find((name) => !['MetadataId', 'LogicalName', 'KeyAttributes'].includes(name));
  if (keyProperty !== undefined) return notImplemented(`the metadata property '${keyProperty}' of EntityKeyMetadata`);
  return undefined;
}

/** Serves `EntityDefinitions...`; `rest` is the path after `EntityDefinitions`. */
export function serveEntityDefinitions(context: EmulatorContext, request: EmulatorRequest, rest: string): EmulatorResponse {
  const params = queryParameters(request.url);
  const crm = context.crm;
  const served = new Set(['$select', '$expand']);
  for (const name of params.keys()) {
    if (!served.has(name) && name.startsWith('$')) return name === '$filter' ? notImplemented('$filter on metadata queries') : errorResponse(400, EMULATOR_CODES.invalidProperty, `The query parameter '${name}' is not supported.`);
  }
  const select = list(params.get('$select'));
  const expand = readExpand(params.get('$expand'));
  if (rest === '') {
    const unsupported = checkEntityOptions(select, expand);
    if (unsupported !== undefined) return unsupported;
    if (expand.size > 0) return notImplemented('$expand on the EntityDefinitions collection');
    const value = crm.listObjects().map((summary) => selectProperties(entityMetadata(crm.describe(summary.name)!, context.auditing), select));
    return jsonResponse(200, { '@odata.context': `${context.apiBase}$metadata#EntityDefinitions`, value });
  }
  const match = /^\(LogicalName='([^']*)'\)(?:\/Attributes(?:\/Microsoft\.Dynamics\.CRM\.([A-Za-z]+))?)?$/.exec(decodeURIComponent(rest));
  if (match === null) return notImplemented(`the metadata path 'EntityDefinitions${rest}'`);
  const description = crm.describe(match[1] as string);
  if (description === undefined) return errorResponse(404, EMULATOR_CODES.objectDoesNotExist, `Could not find an entity with name '${match[1]}'.`);
  if (rest.includes('/Attributes')) {
    const cast = match[2];
    if (cast !== undefined && !castKnown(cast)) return errorResponse(404, EMULATOR_CODES.unknownSegment, `Resource not found for the segment 'Microsoft.Dynamics.CRM.${cast}'.`);
    const problem = checkAttributeSelect(select, cast);
    if (problem !== undefined) return selectProblem(problem);
    for (const [name, inner] of expand) {
      if (name !== 'OptionSet' && name !== 'GlobalOptionSet') return errorResponse(400, EMULATOR_CODES.invalidProperty, `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${cast ?? 'AttributeMetadata'}'.`);
      if (!hasOptionSet(cast)) return errorResponse(400, EMULATOR_CODES.invalidProperty, `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${cast ?? 'AttributeMetadata'}'.`);
      if (name === 'GlobalOptionSet') return notImplemented('global choices ($expand=GlobalOptionSet)');
      const innerSelect = list(inner.get('$select'));
      if (innerSelect?.some((item) => item !== 'Options') || [...inner.keys()].some((key) => key !== '$select')) return notImplemented('OptionSet properties other than Options');
    }
    const optionSet = expand.get('OptionSet');
    const value = description.fields
      .filter((field) => cast === undefined || castMatches(field, cast))
      .map((field) => {
        const full = attributeMetadata(description, field);
        const picked = selectProperties(full, select);
        // OptionSet is a navigation property: only $expand brings it.
        delete picked.OptionSet;
        if (optionSet !== undefined && full.OptionSet !== undefined) picked.OptionSet = full.OptionSet;
        return picked;
      });
    return jsonResponse(200, { '@odata.context': `${context.apiBase}$metadata#EntityDefinitions('${description.name}')/Attributes`, value });
  }
  const unsupported = checkEntityOptions(select, expand);
  if (unsupported !== undefined) return unsupported;
  const entity: Record<string, unknown> = selectProperties(entityMetadata(description, context.auditing), select);
  const attributes = expand.get('Attributes');
  if (attributes !== undefined) {
    // Each attribute comes with its derived type's properties unless $select narrows to base ones.
    entity.Attributes = description.fields.map((field) => {
      const picked = selectProperties(attributeMetadata(description, field), list(attributes.get('$select')));
      delete picked.OptionSet;
      return picked;
    });
  }
  const keys = expand.get('Keys');
  if (keys !== undefined) entity.Keys = entityKeys(description).map((key) => selectProperties(key, list(keys.get('$select'))));
  return jsonResponse(200, { '@odata.context': `${context.apiBase}$metadata#EntityDefinitions/$entity`, ...entity });
}
