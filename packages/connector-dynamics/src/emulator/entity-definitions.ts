/**
 * `EntityDefinitions` routes: the table list, one table with `$expand=Attributes(...)` and
 * `Keys(...)`, and attribute casts (`.../Attributes/Microsoft.Dynamics.CRM.DateTimeAttributeMetadata`).
 *
 * @module
 */
import { attributeMetadata, castMatches, entityKeys, entityMetadata, selectProperties } from './metadata.js';
import { errorResponse, jsonResponse, queryParameters, type EmulatorContext, type EmulatorRequest, type EmulatorResponse } from './http-types.js';
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

/** Serves `EntityDefinitions...`; `rest` is the path after `EntityDefinitions`. */
export function serveEntityDefinitions(context: EmulatorContext, request: EmulatorRequest, rest: string): EmulatorResponse {
  const params = queryParameters(request.url);
  const crm = context.crm;
  if (rest === '') {
    const value = crm.listObjects().map((summary) => selectProperties(entityMetadata(crm.describe(summary.name)!, context.auditing), list(params.get('$select'))));
    return jsonResponse(200, { '@odata.context': `${context.apiBase}$metadata#EntityDefinitions`, value });
  }
  const match = /^\(LogicalName='([^']*)'\)(?:\/Attributes(?:\/Microsoft\.Dynamics\.CRM\.([A-Za-z]+))?)?$/.exec(decodeURIComponent(rest));
  if (match === null) return errorResponse(400, EMULATOR_CODES.invalidArgument, `Resource not found for the segment 'EntityDefinitions${rest}'.`);
  const description = crm.describe(match[1] as string);
  if (description === undefined) return errorResponse(404, EMULATOR_CODES.objectDoesNotExist, `Could not find an entity with name '${match[1]}'.`);
  const select = list(params.get('$select'));
  const expand = readExpand(params.get('$expand'));
  if (rest.includes('/Attributes')) {
    const cast = match[2];
    const optionSet = expand.get('OptionSet');
    const value = description.fields
      .filter((field) => cast === undefined || castMatches(field, cast))
      .map((field) => {
        const full = attributeMetadata(description, field);
        const picked = selectProperties(full, select);
        if (optionSet !== undefined && full.OptionSet !== undefined) picked.OptionSet = full.OptionSet;
        if (cast === undefined) {
          // Without a cast only base AttributeMetadata properties come back, as in Dataverse.
          delete picked.DateTimeBehavior;
          delete picked.OptionSet;
          delete picked.MaxLength;
          delete picked.FormatName;
        }
        return picked;
      });
    return jsonResponse(200, { '@odata.context': `${context.apiBase}$metadata#EntityDefinitions('${description.name}')/Attributes`, value });
  }
  const entity: Record<string, unknown> = selectProperties(entityMetadata(description, context.auditing), select);
  const attributes = expand.get('Attributes');
  if (attributes !== undefined) {
    entity.Attributes = description.fields.map((field) => {
      const picked = selectProperties(attributeMetadata(description, field), list(attributes.get('$select')));
      delete picked.DateTimeBehavior;
      delete picked.OptionSet;
      delete picked.MaxLength;
      delete picked.FormatName;
      return picked;
    });
  }
  const keys = expand.get('Keys');
  if (keys !== undefined) entity.Keys = entityKeys(description).map((key) => selectProperties(key, list(keys.get('$select'))));
  return jsonResponse(200, { '@odata.context': `${context.apiBase}$metadata#EntityDefinitions/$entity`, ...entity });
}
