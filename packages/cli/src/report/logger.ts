/**
 * The logger handed to the orchestrator and connectors: pino writing JSON to stderr with
 * `--log-format json`, or short readable lines otherwise. Everything is redacted before it is
 * written, whatever the caller passed.
 *
 * @module
 */
import { redact, redactText, type LogMethod, type Logger } from '@crm-sync/sdk';
import { pino } from 'pino';
import type { TextSink } from '../io.js';

/** How logs are written. */
export type LogFormat = 'pretty' | 'json';

/** A logger writing to `sink` in `format`; in readable format `debug` and `info` only when `verbose`. */
export function createLogger(sink: TextSink, format: LogFormat, verbose = false): Logger {
  if (format === 'json') {
    const instance = pino(
      { level: verbose ? 'debug' : 'info', base: { name: 'crm-sync' }, timestamp: pino.stdTimeFunctions.isoTime },
      { write: (line: string) => sink.write(line) },
    );
    const method =
      (level: 'debug' | 'info' | 'warn' | 'error'): LogMethod =>
      (fields, message) =>
        instance[level](redact(fields), message === undefined ? undefined : redactText(message));
    return { debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') };
  }
  const line =
    (label: string): LogMethod =>
    (fields, message) => {
      const text = message ?? (typeof fields.msg === 'string' ? fields.msg : JSON.stringify(redact(fields)));
      sink.write(`${label}${redactText(text)}\n`);
    };
  const quiet: LogMethod = () => {};
    // Readable mode shows warnings and errors; the run's facts (info) are in the summary's notes.
  return { debug: verbose ? line('debug: ') : quiet, info: verbose ? line('') : quiet, warn: line('warning: '), error: line('error: ') };
}
