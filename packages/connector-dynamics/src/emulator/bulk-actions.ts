/**
 * `CreateMultiple`, `UpdateMultiple` and `UpsertMultiple` bound to an entity collection. As on
 * standard Dataverse tables they are all-or-nothing: the first failing target rolls back the
 * ones already written and the call answers that target's error.
 *
 * @module
 */
import type { FieldValues } from '@crm-sync/sdk';
import { errorResponse, jsonResponse, type EmulatorContext, type EmulatorRequest, type EmulatorResponse } from './http-types.js';
import { payloadError, readBody } from './records.js';
import { EMULATOR_CODES, rejectResponse } from './reject-codes.js';
import { findByKey, parseRecordKey, type Table } from './tables.js';

type Undo = () => void;

function isResponse(value: unknown): value is EmulatorResponse {
  return typeof value === 'object' && value !== null && 'status' in value && 'headers' in value;
}

/** Serves `entityset/Microsoft.Dynamics.CRM.<action>`. */
export function serveBulkAction(context: EmulatorContext, request: EmulatorRequest, table: Table, action: string): EmulatorResponse {
  if (request.method !== 'POST') return errorResponse(405, EMULATOR_CODES.invalidArgument, `${action} only accepts POST.`);
  if (!['CreateMultiple', 'UpdateMultiple', 'UpsertMultiple'].includes(action)) {
    return errorResponse(404, EMULATOR_CODES.unknownSegment, `Resource not found for the segment 'Microsoft.Dynamics.CRM.${action}'.`);
  }
  let targets: unknown;
  try {
    targets = (JSON.parse(request.body) as { Targets?: unknown }).Targets;
  } catch {
    return payloadError(table, 'Invalid JSON in the request body.');
  }
  if (!Array.isArray(targets)) return errorResponse(400, EMULATOR_CODES.invalidArgument, "The parameter 'Targets' is required.");
  const name = table.description.name;
  const undo: Undo[] = [];
  const ids: string[] = [];
  const seenKeys = new Set<string>();
  const fail = (response: EmulatorResponse): EmulatorResponse => {
    for (const step of undo.reverse()) step();
    return response;
  };
  for (const target of targets as Record<string, unknown>[]) {
    if (target['@odata.type'] !== `Microsoft.Dynamics.CRM.${name}`) {
      return fail(errorResponse(400, EMULATOR_CODES.invalidArgument, `Every target needs "@odata.type": "Microsoft.Dynamics.CRM.${name}".`));
    }
    const odataId = typeof target['@odata.id'] === 'string' ? (target['@odata.id'] as string) : undefined;
    const keyText = odataId ? /\((.*)\)$/.exec(odataId)?.[1] : undefined;
    const key = keyText !== undefined ? parseRecordKey(decodeURIComponent(keyText), table) : undefined;
    if (typeof key === 'string') return fail(errorResponse(400, EMULATOR_CODES.invalidArgument, key));
    const body = readBody(table, JSON.stringify(target), new Set(key?.kind === 'alternate' ? [key.field] : []), action === 'CreateMultiple' ? 'create' : 'upsert');
    if (isResponse(body)) return fail(body);
    const id = key?.kind === 'id' ? key.id : body.id;
    const values: FieldValues = key?.kind === 'alternate' ? { ...body.values, [key.field]: key.value } : body.values;
    const dedupe = key?.kind === 'alternate' ? `${key.field}=${String(key.value)}` : id;
    if (dedupe !== undefined && action !== 'CreateMultiple') {
      if (seenKeys.has(dedupe)) {
        if (action === 'UpdateMultiple') continue; // Dataverse applies the first and ignores the rest.
        return fail(errorResponse(400, EMULATOR_CODES.duplicateRecord, `Duplicate key ${dedupe} in Targets.`));
      }
      seenKeys.add(dedupe);
    }
    const existing = key !== undefined ? findByKey(context.crm, table, key) : id !== undefined ? context.crm.get(name, id) : undefined;
    if (action === 'UpdateMultiple' && existing === undefined) {
      return fail(errorResponse(404, EMULATOR_CODES.objectDoesNotExist, `${name} With Ids = ${id ?? 'unknown'} Do Not Exist`));
    }
    if (existing !== undefined && action !== 'CreateMultiple') {
      const before = existing.values;
      const outcome = context.crm.update(name, existing.id, values);
      if (!outcome.ok) return fail(rejectResponse(outcome.reject, name, existing.id));
      undo.push(() => {
        const restore: FieldValues = {};
        for (const field of table.description.fields) if (field.updateable && field.name in before) restore[field.name] = before[field.name] ?? null;
        context.crm.update(name, existing.id, restore);
      });
      ids.push(existing.id);
      continue;
    }
    const outcome = context.crm.insert(name, values, id !== undefined ? { id } : {});
    if (!outcome.ok) return fail(rejectResponse(outcome.reject, name, id));
    const created = outcome.id;
    undo.push(() => {
      context.rolledBack.add(created);
      context.crm.delete(name, created);
    });
    ids.push(created);
  }
  if (action === 'CreateMultiple') {
    return jsonResponse(200, { '@odata.context': `${context.apiBase}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse`, Ids: ids });
  }
  return { status: 204, headers: { 'OData-Version': '4.0' } };
}
