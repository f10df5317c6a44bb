/**
 * `POST $batch`: runs each part through the same routes, answers with server-chosen boundaries,
 * honours `Prefer: odata.continue-on-error`, resolves `$<Content-ID>` references and rolls back
 * the creates of a failed change set.
 *
 * @module
 */
import { STATUS_CODES } from 'node:http';
import { buildBatchResponse, parseBatchRequest, type BatchAnswer, type ParsedBatchRequestPart } from '../batch.js';
import { errorResponse, preferences, type EmulatorContext, type EmulatorRequest, type EmulatorResponse } from './http-types.js';
import { EMULATOR_CODES } from './reject-codes.js';

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
  const createdInSet = new Map<number, { set: string; id: string }[]>();
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
    const response = route(inner, path);
    const entityId = response.headers['OData-EntityId'];
    if (part.contentId !== undefined && entityId !== undefined) entityIds.set(part.contentId, entityId);
    if (part.changeSet !== undefined && part.method === 'POST' && response.status < 300 && entityId !== undefined) {
      const list = createdInSet.get(part.changeSet) ?? [];
      list.push({ set: path, id: /\(([^)]+)\)$/.exec(entityId)?.[1] ?? '' });
      createdInSet.set(part.changeSet, list);
    }
    if (response.status >= 400 && part.changeSet !== undefined) {
      // A change set is one transaction: undo its creates and answer only the failure.
      failedSets.add(part.changeSet);
      for (const created of createdInSet.get(part.changeSet) ?? []) {
        context.rolledBack.add(created.id);
        route({ method: 'DELETE', url: new URL(`${created.set}(${created.id})`, context.apiBase), headers: {}, body: '' }, `${created.set}(${created.id})`);
      }
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
