/**
 * `POST $batch`: runs each part through the same routes, answers with server-chosen boundaries,
 * honours `Prefer: odata.continue-on-error`, resolves `$<Content-ID>` references and rolls back
 * a failed change set (its creates, updates and deletes), answering it with one top-level part.
 *
 * @module
 */
import { STATUS_CODES } from 'node:http';
import { buildBatchResponse, parseBatchRequest, type BatchAnswer, type ParsedBatchRequestPart } from '../batch.js';
import { errorResponse, preferences, type EmulatorContext, type EmulatorRequest, type EmulatorResponse } from './http-types.js';
import type { FieldValues } from '@crm-sync/sdk';
import type { StoredRecord } from '@crm-sync/connector-mock';
import { EMULATOR_CODES } from './reject-codes.js';
import { findByKey, findTable, parseRecordKey, type Table } from './tables.js';

/** Dataverse's limit of operations in one batch. */
const MAX_BATCH_OPERATIONS = 1000;

/** Routes one inner request; the server passes its Web API router. */
type InnerRoute = (request: EmulatorRequest, path: string) => EmulatorResponse;

/** Numbers of operations per method in the last batches, for reports. */
export interface BatchCounters {
  operations: number;
}

/** Serves a `$batch` request. */
export function serveBatch(context: EmulatorContext, request: EmulatorRequest, route: InnerRoute, counters: BatchCounters): EmulatorResponse {
  let parts: ParsedBatchRequestPart[];
  try {
    parts = parseBatchRequest(request.body, request.headers['content-type']);
  } catch (cause) {
    return errorResponse(400, EMULATOR_CODES.invalidArgument, `The batch request body is malformed: ${(cause as Error).message}`);
  }
  if (parts.length > MAX_BATCH_OPERATIONS) {
    return errorResponse(400, EMULATOR_CODES.invalidArgument, `The number of requests in the batch (${parts.length}) exceeds the limit of ${MAX_BATCH_OPERATIONS}.`);
  }
  const continueOnError = preferences(request.headers).has('odata.continue-on-error');
  const answers: BatchAnswer[] = [];
  const entityIds = new Map<string, string>();
  // Undo steps per change set: a change set is one transaction, so a failure undoes creates,
  // updates and deletes already done in it.
  const undoBySet = new Map<number, (() => void)[]>();
  const failedSets = new Set<number>();
  let stopped = false;
  for (const part of parts) {
    if (part.changeSet !== undefined && failedSets.has(part.changeSet)) continue;
    counters.operations += 1;
    let target = part.url;
    const reference = /^\$(\d+)(.*)$/.exec(target);
    if (reference) {
      const resolved = entityIds.get(reference[1] as string);
      if (resolved === undefined) {
        answers.push(answerOf(part, errorResponse(400, EMULATOR_CODES.invalidArgument, `Content-ID Reference: '$${reference[1]}' does not exist in the batch context.`)));
        if (!continueOnError) break;
        continue;
      }
      target = `${resolved}${reference[2] ?? ''}`;
    }
    const url = new URL(target, context.apiBase);
    const apiPath = new URL(context.apiBase).pathname;
    const path = url.pathname.startsWith(apiPath) ? url.pathname.slice(apiPath.length) : url.pathname.replace(/^\//, '');
    const inner: EmulatorRequest = { method: part.method, url, headers: { ...part.headers }, body: part.body ?? '' };
    if (part.changeSet !== undefined && part.method === 'GET') {
      answers.push(answerOf(part, errorResponse(400, EMULATOR_CODES.invalidArgument, 'GET requests are not allowed inside a change set.')));
      continue;
    }
    const before = part.changeSet !== undefined ? targetOf(context, path) : undefined;
    const beforeValues = before?.record !== undefined ? { ...before.record.values } : undefined;
    const response = route(inner, path);
    const entityId = response.headers['OData-EntityId'];
    if (part.contentId !== undefined && entityId !== undefined) entityIds.set(part.contentId, entityId);
    if (part.changeSet !== undefined && response.status < 300) {
      const steps = undoBySet.get(part.changeSet) ?? [];
      const createdId = entityId !== undefined ? /\(([^)]+)\)$/.exec(entityId)?.[1] : undefined;
      if (before?.record !== undefined && beforeValues !== undefined && part.method === 'DELETE') {
        const { table, record } = before;
        steps.push(() => {
          context.rolledBack.add(record.id);
          context.crm.undelete(table.description.name, record.id);
        });
      } else if (before?.record !== undefined && beforeValues !== undefined) {
        const { table, record } = before;
        steps.push(() => {
          const restore: FieldValues = {};
          for (const field of table.description.fields) if (field.updateable) restore[field.name] = beforeValues[field.name] ?? null;
          context.crm.update(table.description.name, record.id, restore);
        });
      } else if (before?.table !== undefined && (part.method === 'POST' || part.method === 'PATCH')) {
        const table = before.table;
        // With return=representation the new id is in the body, not in OData-EntityId.
        const id = createdId ?? representedId(response, table.description.primaryKey);
        if (id !== undefined) {
          steps.push(() => {
            context.rolledBack.add(id);
            context.crm.delete(table.description.name, id);
          });
        }
      }
      undoBySet.set(part.changeSet, steps);
    }
    if (response.status >= 400 && part.changeSet !== undefined) {
      // A change set is one transaction: undo its creates and answer only the failure.
      failedSets.add(part.changeSet);
      for (const step of (undoBySet.get(part.changeSet) ?? []).reverse()) step();
      for (let index = answers.length - 1; index >= 0; index -= 1) if (answers[index]?.changeSet === part.changeSet) answers.splice(index, 1);
      // OData 4.0 §11.7.4: a failed change set answers with one response for the whole change
      // set, a top-level application/http part, not a change-set response.
      const { changeSet: _dropped, contentId: _id, ...whole } = answerOf(part, response);
      answers.push(whole);
      if (!continueOnError) {
        stopped = true;
        break;
      }
      continue;
    }
    answers.push(answerOf(part, response));
    if (response.status >= 400 && !continueOnError) {
      stopped = true;
      break;
    }
  }
  const built = buildBatchResponse(answers);
  return { status: stopped ? 400 : 200, headers: { 'Content-Type': built.contentType, 'OData-Version': '4.0', ...(continueOnError ? { 'Preference-Applied': 'odata.continue-on-error' } : {}) }, body: built.body };
}

function representedId(response: EmulatorResponse, primaryKey: string): string | undefined {
  try {
    const id = (JSON.parse(response.body ?? '') as Record<string, unknown>)[primaryKey];
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The table and existing record a change-set request addresses (`set(key)`), if any. */
function targetOf(context: EmulatorContext, path: string): { table: Table; record?: StoredRecord } | undefined {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?$/.exec(path);
  if (match === null) return undefined;
  const table = findTable(context.crm, match[1] as string);
  if (table === undefined || match[2] === undefined) return table === undefined ? undefined : { table };
  let keyText: string;
  try {
    keyText = decodeURIComponent(match[2]);
  } catch {
    return { table };
  }
  const key = parseRecordKey(keyText, table);
  if (typeof key === 'string') return { table };
  const record = findByKey(context.crm, table, key);
  return record === undefined ? { table } : { table, record };
}

function answerOf(part: ParsedBatchRequestPart, response: EmulatorResponse): BatchAnswer {
  const entityId = response.headers['OData-EntityId'];
  return {
    status: response.status,
    statusText: STATUS_CODES[response.status] ?? '',
    // Inside a batch Dataverse sends Location next to OData-EntityId (Microsoft's batch samples).
    headers: entityId !== undefined ? { ...response.headers, Location: entityId } : response.headers,
    ...(response.body !== undefined ? { body: response.body } : {}),
    ...(part.contentId !== undefined ? { contentId: part.contentId } : {}),
    ...(part.changeSet !== undefined ? { changeSet: part.changeSet } : {}),
  };
}
