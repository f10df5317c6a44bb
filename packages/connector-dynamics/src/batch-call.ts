/**
 * Sends one `$batch` of independent operations with `Prefer: odata.continue-on-error` and lines
 * the answers up with the operations: by `Content-ID` when the server echoes it, by position
 * otherwise.
 *
 * @module
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import { crmError, type CrmError } from '@crm-sync/sdk';
import { buildBatchRequest, parseBatchResponse, type BatchRequestPart, type BatchResponsePart } from './batch.js';
import type { ResolvedDynamicsConfig } from './config.js';
import { CONNECTOR_ID } from './errors.js';
import type { DataverseHttp } from './http.js';

/** An operation without its Content-ID; {@link sendBatch} numbers them. */
export type BatchOperation = Omit<BatchRequestPart, 'contentId'>;

/** The path prefix inner requests use (`/api/data/v9.2/`). */
export function innerPathPrefix(config: ResolvedDynamicsConfig): string {
  return new URL(config.apiBase).pathname;
}

/**
 * Sends the operations in one `$batch`; returns one answer per operation (`undefined` when the
 * server did not answer that part, e.g. it stopped early). Inserts make the call non-idempotent,
 * so a lost answer is reported in doubt by the HTTP layer.
 */
export function sendBatch(
  http: DataverseHttp,
  operations: readonly BatchOperation[],
  operation: string,
  signal?: AbortSignal,
): ResultAsync<(BatchResponsePart | undefined)[], CrmError> {
  const parts = operations.map((part, index) => ({ ...part, contentId: String(index + 1) }));
  const { contentType, body } = buildBatchRequest(parts);
  return http
    .send({
      method: 'POST',
      path: '$batch',
      operation,
      headers: { 'Content-Type': contentType },
      body,
      prefer: ['odata.continue-on-error'],
      ...(signal ? { signal } : {}),
    })
    .andThen((response) => {
      let answers: BatchResponsePart[];
      try {
        answers = parseBatchResponse(response.text, response.headers.get('content-type'));
      } catch (cause) {
        return errAsync(
          crmError('transient', CONNECTOR_ID, `${operation}: the $batch answer could not be read (${(cause as Error).message}); outcomes are unknown`, {
            inDoubt: true,
            cause,
          }),
        );
      }
      const byId = new Map<string, BatchResponsePart>();
      for (const answer of answers) if (answer.contentId !== undefined) byId.set(answer.contentId, answer);
      const aligned = parts.map((part, index) => (byId.size > 0 ? byId.get(part.contentId) : answers[index]));
      return okAsync(aligned);
    });
}

/** Reads the GUID at the end of an `OData-EntityId` or `Location` URL. */
export function idFromEntityUrl(url: string | undefined): string | undefined {
  return url === undefined ? undefined : /\(([0-9a-fA-F-]{36})\)\s*$/.exec(url)?.[1]?.toLowerCase();
}

/** Parses a part's JSON body, or `undefined`. */
export function partJson(part: BatchResponsePart): unknown {
  if (part.body.trim() === '') return undefined;
  try {
    return JSON.parse(part.body);
  } catch {
    return undefined;
  }
}
