/**
 * CSV for Bulk API 2.0, through the csv-stringify / csv-parse that jsforce ships (via its `csv`
 * module). Parsing forces the comma delimiter: jsforce's `parseCSV` would also split on `;` and
 * `|`, which corrupts multi-select picklist values.
 *
 * @module
 */
import { Readable } from 'node:stream';
import { parseCSVStream, toCSV } from '@jsforce/jsforce-node/lib/csv.js';

/** Bulk API 2.0 writes `#N/A` to set a field to null; an empty cell means "leave as is". */
export const BULK_NULL = '#N/A';

/** Serialises rows with a header of `columns` (comma, LF). */
export function toBulkCsv(columns: readonly string[], rows: readonly Readonly<Record<string, unknown>>[]): string {
  const cells = rows.map((row) => {
    const out: Record<string, string> = {};
    for (const column of columns) {
      const value = row[column];
      out[column] = value === null ? BULK_NULL : value === undefined ? '' : String(value);
    }
    return out;
  });
  if (cells.length === 0) return `${columns.join(',')}\n`;
  return toCSV(cells, { columns: [...columns], record_delimiter: '\n' });
}

/** Parses CSV with a header row into objects of strings. */
export async function parseBulkCsv(text: string): Promise<Record<string, string>[]> {
  if (text.trim() === '') return [];
  const rows: Record<string, string>[] = [];
  const parser = parseCSVStream({ delimiter: ',', relax_column_count: true });
  const done = new Promise<void>((resolve, reject) => {
    parser.on('data', (row: Record<string, string>) => rows.push(row));
    parser.on('end', () => resolve());
    parser.on('error', reject);
  });
  Readable.from([text]).pipe(parser);
  await done;
  return rows;
}
