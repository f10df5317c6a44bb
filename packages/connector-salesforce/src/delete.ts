/**
 * `delete`: `DELETE /composite/sobjects?ids=...&allOrNone=false`, 200 ids per call. An id that
 * is already deleted (`ENTITY_IS_DELETED`) counts as deleted, so a retried batch is harmless.
 *
 * @module
 */
import { ResultAsync, okAsync } from 'neverthrow';
import type { CrmError, DeleteBatchRequest, WriteOutcome } from '@crm-sync/sdk';
import type { SalesforceApi } from './api.js';
import { checkObjectName } from './describe.js';
import { toCanonicalSalesforceId } from './ids.js';
import { chunkIds } from './soql.js';
import { COLLECTION_LIMIT } from './upsert-batch.js';
import { localReject, OutcomeMerger, outcomeFromCollectionResult, type CollectionResult } from './write-outcomes.js';

/** Per-record codes that mean "the record is already gone". */
const ALREADY_GONE = new Set(['ENTITY_IS_DELETED']);

/** Deletes one batch. See `CrmConnector.delete`. */
export function deleteSalesforce(api: SalesforceApi, request: DeleteBatchRequest, signal: AbortSignal | undefined): ResultAsync<readonly WriteOutcome[], CrmError> {
  return checkObjectName(request.object).andThen(() => {
    const merger = new OutcomeMerger<string>(request.ids.length);
    request.ids.forEach((raw, index) => {
      const id = toCanonicalSalesforceId(raw);
      if (id.isErr()) merger.decide(index, localReject('invalid-value', id.error, ['Id']));
      else merger.send(index, id.value);
    });
    const ids = merger.toSend.map((entry) => entry.item);
    if (ids.length === 0) return okAsync(merger.merge([]));
    const run = async (): Promise<WriteOutcome[]> => {
      const outcomes: WriteOutcome[] = [];
      for (const chunk of chunkIds(ids, COLLECTION_LIMIT)) {
        const answer = await api.call<CollectionResult[]>({
          method: 'DELETE',
          path: `${api.basePath}/composite/sobjects?ids=${chunk.join(',')}&allOrNone=false`,
          ...(signal ? { signal } : {}),
        });
        if (answer.isErr()) throw answer.error;
        const results = Array.isArray(answer.value.body) ? answer.value.body : [];
        chunk.forEach((id, i) => {
          const result = results[i];
          const code = result?.errors?.[0]?.statusCode;
          if (result && !result.success && code && ALREADY_GONE.has(code)) outcomes.push({ ok: true, id, action: 'deleted' });
          else {
            const outcome = outcomeFromCollectionResult(result, 'deleted');
            outcomes.push(outcome.ok ? { ok: true, id, action: 'deleted' } : { ...outcome, id });
          }
        });
      }
      return outcomes;
    };
    return ResultAsync.fromPromise(run(), (error) => error as CrmError).map((outcomes) => merger.merge(outcomes));
  });
}
