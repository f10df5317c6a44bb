/**
 * Capturing sinks for the reliability suites: a logger that keeps every line as text, and the
 * text forms of an error a user could see (`String`, `util.inspect`, `JSON.stringify`, causes).
 */
import { inspect } from 'node:util';
import type { Logger } from '@crm-sync/sdk';

/** A logger that keeps every call as one JSON line. */
export interface CapturingLogger extends Logger {
  readonly lines: string[];
}

/** A logger that keeps every call (level, fields, message) as a JSON line. */
export function capturingLogger(): CapturingLogger {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message?: string): void => {
      lines.push(`${level} ${safeJson(fields)} ${message ?? ''}`);
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? String(item) : item));
  } catch {
    return inspect(value, { depth: 8 });
  }
}

/** Every text form of `error` and of its causes: what a log, a crash report or a UI would show. */
export function errorTexts(error: unknown): string[] {
  const texts = [String(error), inspect(error, { depth: 12, showHidden: true }), safeJson(error)];
  let cause: unknown = error;
  for (let depth = 0; depth < 8 && cause !== null && typeof cause === 'object' && 'cause' in cause; depth += 1) {
    cause = (cause as { cause?: unknown }).cause;
    texts.push(String(cause), inspect(cause, { depth: 12, showHidden: true }), safeJson(cause));
  }
  return texts;
}
