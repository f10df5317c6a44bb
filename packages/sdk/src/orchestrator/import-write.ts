/**
 * Converting a page of CRM records to local records and writing them to the sink, with the
 * watermark checkpoint in the same transaction when the sink can.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import type { CrmRecord } from '../contract/requests.js';
import type { LocalRecord, OptionStore, RecordSink, SinkReject } from '../stores/types.js';
import { storeFailure, type RunContext } from './context.js';
import type { RunError } from './types.js';
import { convertRecord, type PreparedImport } from './validate.js';
import { watermarkCheckpoint, type Watermark } from './watermark.js';

/** The stores an import writes to. */
export interface ImportStores {
  readonly options: OptionStore;
  readonly sink: RecordSink;
}

/** Where a page's checkpoint goes. */
interface CheckpointTarget {
  readonly optionName: string;
  readonly changeField: string;
}

/** A page converted without touching the run yet: its records, and the rejects and skips to report when its turn comes. */
export interface ConvertedPage {
  readonly records: LocalRecord[];
  readonly rejects: readonly { readonly crmId: string; readonly field: string; readonly message: string }[];
  readonly skipped: number;
}

/**
 * Converts a page without reporting anything, so that it can run while the previous page is still
 * being written; {@link reportConversion} later counts, logs and queues its rejects and skips.
 */
export function convertPage(plan: PreparedImport, records: readonly CrmRecord[], skip?: (record: CrmRecord) => boolean): ConvertedPage {
  const local: LocalRecord[] = [];
  const rejects: { crmId: string; field: string; message: string }[] = [];
  let skipped = 0;
  for (const record of records) {
    if (skip !== undefined && skip(record)) {
      skipped += 1;
      continue;
    }
    const converted = convertRecord(plan.fields, record.values, 'to-local');
    if (!converted.ok) {
      rejects.push({ crmId: record.id, field: converted.field, message: converted.message });
      continue;
    }
    // No spread: one object per record, not two.
    local.push(record.changedAt === undefined ? { crmId: record.id, values: converted.values } : { crmId: record.id, values: converted.values, changedAt: record.changedAt });
  }
  return { records: local, rejects, skipped };
}

/** Reports a converted page's skips and conversion rejects to the run; returns its records. */
export function reportConversion(context: RunContext, page: ConvertedPage): LocalRecord[] {
  context.counts.skipped += page.skipped;
  for (const reject of page.rejects) context.reject({ code: 'invalid-value', message: reject.message, fields: [reject.field] }, { crmId: reject.crmId });
  return page.records;
}

/** Converts a page; conversion failures become rejects, re-read records (`skip`) are counted as skipped. */
export function toLocal(context: RunContext, plan: PreparedImport, records: readonly CrmRecord[], skip: (record: CrmRecord) => boolean): LocalRecord[] {
  return reportConversion(context, convertPage(plan, records, skip));
}

/**
 * Writes one page to the sink and, when given, moves the watermark: in the sink's transaction
 * when it supports that, else right after the records are durable. Records the sink refused one by
 * one (`SinkWriteResult.rejects`) become rejects of the run; resolves with the number of
 * records written.
 */
export async function writePage(
  context: RunContext,
  stores: ImportStores,
  table: string,
  records: readonly LocalRecord[],
  target: CheckpointTarget | undefined,
  watermark: Watermark | undefined,
): Promise<Result<number, RunError>> {
  const checkpoint = watermark && target ? watermarkCheckpoint(target.optionName, target.changeField, watermark) : undefined;
  let refused: readonly SinkReject[] = [];
  try {
    if (records.length > 0 || (checkpoint && stores.sink.atomicCheckpoint)) {
      const result = await stores.sink.write(table, records, stores.sink.atomicCheckpoint ? checkpoint : undefined, context.fence);
      refused = result?.rejects ?? [];
    }
    if (checkpoint && !stores.sink.atomicCheckpoint) await stores.options.setOption(checkpoint.optionName, checkpoint.value, checkpoint.meta, context.fence);
  } catch (error) {
    return err(storeFailure(context, error, `writing ${records.length} records to table ${table}`));
  }
  for (const reject of refused) {
    context.reject(
      { code: reject.code ?? 'invalid-value', message: `table ${table} refused the record: ${reject.message}`, ...(reject.field === undefined ? {} : { fields: [reject.field] }) },
      { crmId: reject.crmId, ...(reject.localKey === undefined ? {} : { localKey: reject.localKey }) },
    );
  }
  return ok(records.length - refused.length);
}

