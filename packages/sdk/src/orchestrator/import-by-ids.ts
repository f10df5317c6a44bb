/**
 * Record identification: import exactly the records whose ids were computed upstream, chunked by
 * the connector's ids-per-query capability, and report the ids the CRM did not return.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import type { QueryRequest, RecordPage } from '../contract/requests.js';
import { flushRejectsOrFail, type RunContext } from './context.js';
import { toLocal, writePage, type ImportStores } from './import-write.js';
import type { ImportJob } from './job.js';
import type { RunError, RunSummary } from './types.js';
import type { PreparedImport } from './validate.js';

/**
 * Chunks the ids; ids that cannot be ids of this CRM (they do not match the connector's
 * `idPattern`) are handed to `invalid` instead of being sent, so one typo never fails a chunk.
 */
async function* chunksOf(ids: readonly string[] | AsyncIterable<string>, size: number, pattern: RegExp | undefined, invalid: (id: string) => void): AsyncIterable<string[]> {
  let chunk: string[] = [];
  for await (const id of ids) {
    if (pattern !== undefined && !pattern.test(id)) {
      invalid(id);
      continue;
    }
    chunk.push(id);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
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
  for await (const chunk of chunksOf(job.ids!, connector.capabilities.maxIdsPerQuery, pattern, invalid)) {
    chunkNumber += 1;
    const found = new Set<string>();
    let cursor: string | undefined;
    let pageNumber = 0;
    do {
      pageNumber += 1;
      const current = cursor;
      const page: Result<RecordPage, RunError> = await context.call(`ids chunk ${chunkNumber} page ${pageNumber}`, () => connector.query({ ...request, ids: chunk }, current));
      if (page.isErr()) return err(page.error);
      context.counts.read += page.value.records.length;
      for (const record of page.value.records) found.add(record.id);
      const local = toLocal(context, plan, page.value.records, () => false);
      const written = await writePage(context, stores, job.table, local, undefined, undefined);
      if (written.isErr()) return err(written.error);
      context.counts.written += local.length;
      cursor = page.value.nextCursor;
    } while (cursor !== undefined);
    for (const id of chunk) {
      if (found.has(id)) continue;
      notFoundCount += 1;
      if (notFound.length < MAX_NOT_FOUND_LISTED) notFound.push(id);
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
