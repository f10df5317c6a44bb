/**
 * `delete`: `DELETE entityset(id)` for each id inside one `$batch`; a 404 means the record is
 * already gone, which counts as deleted so that a retry is harmless.
 *
 * @module
 */
import { okAsync, type ResultAsync } from 'neverthrow';
import type { CrmError, DeleteBatchRequest, ObjectDescription, WriteOutcome } from '@crm-sync/sdk';
import { innerPathPrefix, partJson, sendBatch, type BatchOperation } from './batch-call.js';
import type { ResolvedDynamicsConfig } from './config.js';
import { rejectFromPart } from './errors.js';
import type { DataverseHttp } from './http.js';
import { vendorOf } from './mapping.js';
import { GUID_PATTERN } from './odata-filter.js';

/** Deletes records by GUID; one outcome per id, in input order. */
export function deleteDataverseRecords(
  http: DataverseHttp,
  config: ResolvedDynamicsConfig,
  description: ObjectDescription,
  request: DeleteBatchRequest,
  signal?: AbortSignal,
): ResultAsync<readonly WriteOutcome[], CrmError> {
  const entitySet = vendorOf(description).entitySetName;
  const chunks: string[][] = [];
  for (let index = 0; index < request.ids.length; index += config.batchSize) chunks.push(request.ids.slice(index, index + config.batchSize));
  return chunks.reduce<ResultAsync<WriteOutcome[], CrmError>>(
    (previous, ids) =>
      previous.andThen((done) => {
        const valid = ids.filter((id) => GUID_PATTERN.test(id));
        const operations: BatchOperation[] = valid.map((id) => ({ method: 'DELETE', url: `${innerPathPrefix(config)}${entitySet}(${id.toLowerCase()})` }));
        const sent = operations.length === 0 ? okAsync([]) : sendBatch(http, operations, `POST $batch (delete ${entitySet})`, signal);
        return sent.map((answers) => {
          let next = 0;
          const outcomes = ids.map((id): WriteOutcome => {
            if (!GUID_PATTERN.test(id)) {
              return { ok: false, id, reject: { code: 'invalid-value', message: `[crm-sync] [dynamics] '${id}' is not a Dataverse GUID`, retryable: false } };
            }
            const answer = answers[next];
            next += 1;
            if (answer === undefined) {
              return { ok: false, id, reject: { code: 'unknown', message: '[crm-sync] [dynamics] Dataverse did not answer for this id in the $batch; send it again', retryable: true } };
            }
            if (answer.status < 300 || answer.status === 404) return { ok: true, id, action: 'deleted' };
            return { ok: false, id, reject: rejectFromPart(answer.status, partJson(answer)) };
          });
          return [...done, ...outcomes];
        });
      }),
    okAsync([]),
  );
}
