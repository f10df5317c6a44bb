/**
 * Record identification: import exactly the records whose ids were computed upstream, chunked by
 * the connector's ids-per-query capability, and report the ids the CRM did not return. Ids are
 * compared as the CRM compares them (the connector's `normalizeId`): a Salesforce 15-character id
 * or a Dataverse GUID in upper case is found, not reported missing.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import { idNormalizer } from '../contract/normalize-id.js';
import type { QueryRequest, RecordPage } from '../contract/requests.js';
import { flushRejectsOrFail, type RunContext } from './context.js';
import { toLocal, writePage, type ImportStores } from './import-write.js';
import type { ImportJob } from './job.js';
import type { RunError, RunSummary } from './types.js';
import type { PreparedImport } from './validate.js';

/** One chunk: canonical ids to send, and the ids as requested behind each. */
type IdChunk = Map<string, string[]>;

/**
 * Chunks the ids by their canonical form (the connector's `normalizeId`), so that two forms of one
 * id are sent once and both count as found; ids that cannot be ids of this CRM (they do not match
 * the connector's `idPattern`) are handed to `invalid` instead of being sent, so one typo never
 * fails a chunk.
 */
async function* chunksOf(
  ids: readonly string[] | AsyncIterable<string>,
  size: number,
  normalize: (id: string) => string,
  pattern: RegExp | undefined,
  invalid: (id: string) => void,
): AsyncIterable<IdChunk> {
  let chunk: IdChunk = new Map();
  for await (const id of ids) {
    const canonical = normalize(id);
    if (pattern !== undefined && !pattern.test(canonical) && !pattern.test(id)) {
      invalid(id);
      continue;
    }
    const requested = chunk.get(canonical);
    if (requested !== undefined) {
      requested.push(id);
      continue;
    }
    chunk.set(canonical, [id]);
    if (chunk.size >= size) {
      yield chunk;
      chunk = new Map();
    }
  }
  if (chunk.size > 0) yield chunk;
}

/** Most not-found ids listed in a summary; the rest are counted in a note. */
const MAX_NOT_FOUND_LISTED = 1000;

/** Imports the records of `job.ids`. */
export async function importByIds(
  context: RunContext,
  stores: ImportStores,
  job: ImportJob,
  plan: PreparedImport,
  request: QueryRequest,
): Promise<Result<RunSummary, RunError>> {
  const { connector } = context.deps;
  const notFound: string[] = [];
  let notFoundCount = 0;
  let invalidCount = 0;
  let chunkNumber = 0;
  const pattern = connector.capabilities.idPattern === undefined ? undefined : new RegExp(connector.capabilities.idPattern);
  const invalid = (id: string): void => {
    invalidCount += 1;
    notFoundCount += 1;
    if (notFound.length < MAX_NOT_FOUND_LISTED) notFound.push(id);
  };
  const normalize = idNormalizer(connector, job.object);
  for await (const chunk of chunksOf(job.ids!, connector.capabilities.maxIdsPerQuery, normalize, pattern, invalid)) {
    chunkNumber += 1;
    const ids = [...chunk.keys()];
    const found = new Set<string>();
    let cursor: string | undefined;
    let pageNumber = 0;
    do {
      pageNumber += 1;
      const current = cursor;
      const page: Result<RecordPage, RunError> = await context.call(`ids chunk ${chunkNumber} page ${pageNumber}`, () => connector.query({ ...request, ids }, current));
      if (page.isErr()) return err(page.error);
      context.counts.read += page.value.records.length;
      for (const record of page.value.records) found.add(normalize(record.id));
      const local = toLocal(context, plan, page.value.records, () => false);
      const written = await writePage(context, stores, job.table, local, undefined, undefined);
      if (written.isErr()) return err(written.error);
      context.counts.written += written.value;
      cursor = page.value.nextCursor;
    } while (cursor !== undefined);
    for (const [canonical, requested] of chunk) {
      if (found.has(canonical)) continue;
      for (const id of requested) {
        notFoundCount += 1;
        if (notFound.length < MAX_NOT_FOUND_LISTED) notFound.push(id);
      }
    }
    const flushed = await flushRejectsOrFail(context);
    if (flushed.isErr()) return err(flushed.error);
    context.progress('read');
  }
  if (invalidCount > 0) {
    context.note(`${invalidCount} of the requested ids do not look like ${connector.id} ids (pattern ${connector.capabilities.idPattern}) and were not sent`);
  }
  if (notFoundCount > 0) {
    context.note(`${notFoundCount} of the requested ids were not found in ${job.object}${notFoundCount > notFound.length ? ` (the first ${notFound.length} are listed)` : ''}`);
  }
  context.progress('done');
  return ok(context.summary({ notFound }));
}
