/**
 * The logger crm-sync writes to: a structural subset of pino's, so a pino logger fits as is.
 *
 * @module
 */

/** A log method: an object of fields, then a message. */
export type LogMethod = (fields: Record<string, unknown>, message?: string) => void;

/** The logger interface (pino-compatible). Everything logged is redacted first by the caller. */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

const noop: LogMethod = () => {};

/** A logger that drops everything. The default. */
export const noopLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
