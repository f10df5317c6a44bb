/**
 * The Web API router: the path after `/api/data/v9.2/` decides the route.
 *
 * @module
 */
import { serveAudits, serveChangeTracking, serveOrganizations, EMULATOR_USER_ID } from './deleted-sources.js';
import { serveBulkAction } from './bulk-actions.js';
import { serveEntityDefinitions } from './entity-definitions.js';
import { errorResponse, jsonResponse, notImplemented, preferences, queryParameters, type EmulatorContext, type EmulatorRequest, type EmulatorResponse } from './http-types.js';
import { countRecords, createRecord, deleteRecord, getRecord, listRecords, patchRecord } from './records.js';
import { EMULATOR_CODES } from './reject-codes.js';
import { findTable } from './tables.js';
import { metadataId } from './metadata.js';

/** Splits `entityset(key)/rest` where `/` and `)` inside a percent-encoded key stay inside it. */
function splitResource(path: string): { set: string; key?: string; rest?: string } {
  const open = path.indexOf('(');
  const slash = path.indexOf('/');
  if (open < 0 || (slash >= 0 && slash < open)) {
    return slash < 0 ? { set: path } : { set: path.slice(0, slash), rest: path.slice(slash + 1) };
  }
  const tail = path.indexOf('/', path.indexOf(')', open));
  const keyEnd = (tail < 0 ? path : path.slice(0, tail)).lastIndexOf(')');
  return {
    set: path.slice(0, open),
    key: path.slice(open + 1, keyEnd),
    ...(tail >= 0 ? { rest: path.slice(tail + 1) } : {}),
  };
}

/** Request headers Dataverse acts on that the emulator does not implement: answered 501, never ignored. */
const UNIMPLEMENTED_HEADERS: Readonly<Record<string, string>> = {
  callerobjectid: 'impersonation (CallerObjectId)',
  mscrmcallerid: 'impersonation (MSCRMCallerID)',
  'mscrm.suppressduplicatedetection': 'duplicate detection (MSCRM.SuppressDuplicateDetection)',
};

/** Answers one Web API request (already authenticated). */
export function routeWebApi(context: EmulatorContext, request: EmulatorRequest, path: string): EmulatorResponse {
  for (const [header, feature] of Object.entries(UNIMPLEMENTED_HEADERS)) {
    const value = request.headers[header];
    // Suppressing duplicate detection is the default; only `false` turns it on.
    if (value !== undefined && !(header === 'mscrm.suppressduplicatedetection' && value.toLowerCase() !== 'false')) return notImplemented(feature);
  }
  if (path === '' && request.method === 'GET') {
    const value = context.crm.listObjects().map((summary) => {
      const set = findTableName(context, summary.name);
      return { name: set, kind: 'EntitySet', url: set };
    });
    return jsonResponse(200, { '@odata.context': `${context.apiBase}$metadata`, value });
  }
  // Clients send the function with parentheses (`WhoAmI()`); Microsoft's samples omit them.
  if ((path === 'WhoAmI' || path === 'WhoAmI()') && request.method === 'GET') {
    return jsonResponse(200, {
      '@odata.context': `${context.apiBase}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
      BusinessUnitId: metadataId('business-unit'),
      UserId: EMULATOR_USER_ID,
      OrganizationId: metadataId('organization'),
    });
  }
  if (path === 'WhoAmI' || path === 'WhoAmI()') {
    // A function answers GET only (Microsoft's client-error list: POST WhoAmI).
    return errorResponse(404, '', `No HTTP resource was found that matches the request URI '${context.apiBase}${path}'.`);
  }
  if (path === '$metadata' || path.startsWith('$metadata?')) return notImplemented('the CSDL $metadata document');
  if (path.startsWith('EntityDefinitions')) {
    if (request.method !== 'GET') return errorResponse(405, EMULATOR_CODES.invalidArgument, 'The emulator serves metadata read-only.');
    return serveEntityDefinitions(context, request, path.slice('EntityDefinitions'.length));
  }
  if (path === 'audits') {
    return request.method === 'GET' ? serveAudits(context, request) : errorResponse(405, EMULATOR_CODES.invalidArgument, 'The audit entity is read-only.');
  }
  if (path === 'organizations') {
    return request.method === 'GET' ? serveOrganizations(context, request) : errorResponse(405, EMULATOR_CODES.invalidArgument, 'The emulator serves the organisation row read-only.');
  }
  const resource = splitResource(path);
  const table = findTable(context.crm, resource.set);
  if (table === undefined) return errorResponse(404, EMULATOR_CODES.unknownSegment, `Resource not found for the segment '${resource.set}'.`);
  if (resource.rest !== undefined) {
    const action = /^Microsoft\.Dynamics\.CRM\.([A-Za-z]+)$/.exec(resource.rest)?.[1];
    if (resource.key === undefined && action !== undefined) return serveBulkAction(context, request, table, action);
    if (resource.key === undefined && resource.rest === '$count' && request.method === 'GET') return countRecords(context, request, table);
    if (resource.key !== undefined && table.fields.has(resource.rest)) return notImplemented(`single-property requests ('${resource.set}(...)/${resource.rest}')`);
    if (resource.key === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(resource.rest)) {
      return errorResponse(404, EMULATOR_CODES.unknownSegment, `Resource not found for the segment '${resource.rest}'.`);
    }
    return notImplemented(`navigation and nested segments ('${resource.set}(...)/${resource.rest}')`);
  }
  if (resource.key === undefined) {
    if (request.method === 'GET') {
      const tracked = preferences(request.headers).has('odata.track-changes') || queryParameters(request.url).has('$deltatoken');
      return tracked ? serveChangeTracking(context, request, table) : listRecords(context, request, table);
    }
    if (request.method === 'POST') return createRecord(context, request, table);
    return errorResponse(405, EMULATOR_CODES.invalidArgument, `${request.method} is not allowed on a collection.`);
  }
  let key: string;
  try {
    key = decodeURIComponent(resource.key);
  } catch {
    return errorResponse(400, EMULATOR_CODES.invalidArgument, 'The key in the request URI is not correctly percent-encoded.');
  }
  switch (request.method) {
    case 'GET':
      return getRecord(context, request, table, key);
    case 'PATCH':
      return patchRecord(context, request, table, key);
    case 'DELETE':
      return deleteRecord(context, table, key);
    default:
      return errorResponse(405, EMULATOR_CODES.invalidArgument, `${request.method} is not allowed on a record.`);
  }
}

function findTableName(context: EmulatorContext, object: string): string {
  const description = context.crm.describe(object);
  return (description?.vendor as { entitySetName?: string } | undefined)?.entitySetName ?? `${object}s`;
}
