/**
 * The rejects of a run as CSV (RFC 4180), streamed page by page from the store so that 50,000
 * rejects never sit in memory at once. A cell that a spreadsheet would run as a formula (starting
 * with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`.
 *
 * @module
 */
import type { RunHistoryStore, StoredRunReject } from '@crm-sync/sdk';

/** The CSV's header row. */
export const REJECTS_CSV_HEADER = ['seq', 'code', 'symbol', 'message', 'fields', 'localKey', 'crmId'] as const;

/** Rejects read per store call while streaming. */
const PAGE = 1000;

/** One CSV cell: quoted when it holds a comma, quote or line break; formula-like text defused. */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One reject as a CSV line (fields joined by `;`), with its line break. */
export function rejectCsvLine(reject: StoredRunReject): string {
  return `${[reject.seq, reject.code, reject.symbol, reject.message, reject.fields.join(';'), reject.localKey, reject.crmId].map(csvCell).join(',')}\r\n`;
}

/** The CSV, header first, as chunks of at most {@link PAGE} rejects, each passed through `redact`. */
export async function* rejectsCsv(history: RunHistoryStore, runId: string, search: string | undefined, redact: (text: string) => string): AsyncGenerator<string> {
  yield `${REJECTS_CSV_HEADER.join(',')}\r\n`;
  let afterSeq = -1;
  for (;;) {
    const page = await history.listRejects(runId, { afterSeq, limit: PAGE, ...(search === undefined ? {} : { search }) });
    if (page.length === 0) return;
    yield redact(page.map(rejectCsvLine).join(''));
    afterSeq = page[page.length - 1]?.seq ?? afterSeq;
    if (page.length < PAGE) return;
  }
}
