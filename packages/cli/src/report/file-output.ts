/**
 * The rejects and errors outputs of a job (`outputs: { rejects, errors }`): JSON Lines or CSV by
 * file extension, appended so that a resumed run adds to what the interrupted one wrote. Each
 * `write` is synchronous to the OS before it resolves, matching the SDK's "durable" contract.
 *
 * @module
 */
import { appendFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { redact, type ErrorItem, type RejectItem, type RunOutput } from '@crm-sync/sdk';

/** A file output that also counts what it wrote. */
export interface FileOutput<T> extends RunOutput<T> {
  readonly path: string;
  readonly written: number;
}

const REJECT_COLUMNS = ['operation', 'activity', 'code', 'symbol', 'message', 'fields', 'localKey', 'crmId'] as const;
const ERROR_COLUMNS = ['operation', 'activity', 'part', 'attempt', 'willRetry', 'kind', 'message', 'vendorCode'] as const;

/** A rejects output at `path` (`.jsonl` or `.csv`). */
export function rejectsFileOutput(path: string): FileOutput<RejectItem> {
  return fileOutput(path, REJECT_COLUMNS, (item) => ({ ...item, fields: item.fields.join(';') }), (item) => item);
}

/** An errors output at `path` (`.jsonl` or `.csv`). CRM errors are written without `cause`. */
export function errorsFileOutput(path: string): FileOutput<ErrorItem> {
  const plain = (item: ErrorItem) => {
    const { cause: _cause, ...error } = item.error;
    return { ...item, error };
  };
  return fileOutput(
    path,
    ERROR_COLUMNS,
    (item) => ({ ...item, kind: item.error.kind, message: item.error.message, vendorCode: item.error.vendorCode }),
    plain,
  );
}

function fileOutput<T>(
  path: string,
  columns: readonly string[],
  toRow: (item: T) => Record<string, unknown>,
  toJson: (item: T) => unknown,
): FileOutput<T> {
  const csv = /\.csv$/i.test(path);
  let written = 0;
  return {
    path,
    get written() {
      return written;
    },
    async write(items) {
      if (items.length === 0) return;
      mkdirSync(dirname(path), { recursive: true });
      let text = '';
      if (csv) {
        if (!existsSync(path) || statSync(path).size === 0) text += `${columns.join(',')}\n`;
        for (const item of items) {
          const row = redact(toRow(item));
          text += `${columns.map((column) => csvCell(row[column])).join(',')}\n`;
        }
      } else {
        for (const item of items) text += `${JSON.stringify(redact(toJson(item)))}\n`;
      }
      appendFileSync(path, text);
      written += items.length;
    },
  };
}

/** RFC 4180 quoting: fields with commas, quotes or line breaks are quoted, quotes doubled. */
function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
