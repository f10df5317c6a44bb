/**
 * JSON text columns: one place that writes and reads them, so a malformed cell becomes a clear
 * error instead of a `SyntaxError` deep in a caller.
 *
 * @module
 */

/** Serialises a value for a JSON column; `undefined` becomes SQL NULL. */
export function toJsonColumn(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/**
 * Parses a JSON column; SQL NULL becomes `undefined`. `where` names the cell for the error (a
 * function when building the name per row would cost more than the parse: called only on error).
 */
export function fromJsonColumn<T>(text: string | null, where: string | (() => string)): T | undefined {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${typeof where === 'string' ? where : where()} holds text that is not JSON; fix or delete that row`);
  }
}
