/**
 * `COPY ... FROM STDIN` of rows already in memory, through pg-copy-streams (the maintained COPY
 * streams for node-postgres): the rows go as one CopyData message, and a server error comes back
 * with its SQLSTATE as any statement's. A page of new rows goes this way because the server
 * inserts it with COPY's multi-row heap insert and parses each JSONB value once, where
 * `jsonb_to_recordset` first parses the whole page into one JSONB document.
 *
 * @module
 */
import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyStream } from 'pg-copy-streams';

/** Runs `COPY <target> FROM STDIN` with `data` (text format, see {@link copyText}); resolves with the rows copied. */
export async function copyFrom(client: PoolClient, statement: string, data: Buffer): Promise<number> {
  const stream = client.query(copyStream(statement));
  stream.end(data);
  await finished(stream);
  return stream.rowCount;
}

/**
 * True for a node-postgres client in pipeline mode (`new pg.Client({ pipeline: true })`), which
 * refuses a COPY: callers send the same rows as one INSERT instead.
 */
export function isPipelined(client: PoolClient): boolean {
  return (client as { pipeline?: unknown }).pipeline === true;
}

const SPECIAL = /[\\\n\r\t]/;

/**
 * A value as a field of COPY's text format: backslash, newline, carriage return and tab escaped
 * (the only bytes the format gives a meaning to besides the `\N` of null).
 */
export function copyText(value: string): string {
  if (!SPECIAL.test(value)) return value;
  return value.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

/**
 * A JSON text as a field of COPY's text format. JSON.stringify never leaves a raw newline,
 * carriage return or tab in its output (they are escaped inside strings), so only its
 * backslashes need doubling.
 */
export function copyJson(json: string): string {
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
}
