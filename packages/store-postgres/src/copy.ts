/**
 * `COPY ... FROM STDIN` of rows already in memory, through node-postgres' `Submittable` interface
 * (the one pg-cursor and pg-query-stream use): the rows go as one CopyData message, the server
 * answers CommandComplete or an ErrorResponse (with its SQLSTATE, as any statement's), then
 * ReadyForQuery. A page of new rows goes this way because the server inserts it with COPY's
 * multi-row heap insert and parses each JSONB value once, where `jsonb_to_recordset` first
 * parses the whole page into one JSONB document.
 *
 * @module
 */
import type { PoolClient, Submittable } from 'pg';

/** What the COPY uses of pg's connection (its CopyData/CopyDone messages are not in @types/pg). */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

/** One `COPY ... FROM STDIN` whose data is `data` (text format). */
class CopyFromBuffer implements Submittable {
  readonly done: Promise<number>;
  private settle!: { resolve: (rows: number) => void; reject: (error: unknown) => void };
  private rows = 0;
  private copied = false;

  constructor(
    private readonly text: string,
    private readonly data: Buffer,
  ) {
    this.done = new Promise<number>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  submit(connection: unknown): void {
    (connection as CopyConnection).query(this.text);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    if (this.copied) {
      connection.sendCopyFail('[crm-sync] a second COPY IN response for one statement');
      return;
    }
    this.copied = true;
    connection.sendCopyFromChunk(this.data);
    connection.endCopyFrom();
  }

  handleCommandComplete(message: { readonly text?: string }): void {
    const match = /^COPY (\d+)$/.exec(message.text ?? '');
    this.rows = match ? Number(match[1]) : 0;
  }

  handleReadyForQuery(): void {
    if (this.copied) this.settle.resolve(this.rows);
    else this.settle.reject(new Error(`[crm-sync] the server did not ask for the COPY data of: ${this.text}`));
  }

  /** A server error (with its SQLSTATE as `code`) or a lost connection. */
  handleError(error: unknown): void {
    this.settle.reject(error);
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
  handlePortalSuspended(): void {}
}

/** Runs `COPY <target> FROM STDIN` with `data` (text format, see {@link copyText}); resolves with the rows copied. */
export function copyFrom(client: PoolClient, statement: string, data: Buffer): Promise<number> {
  return client.query(new CopyFromBuffer(statement, data)).done;
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
