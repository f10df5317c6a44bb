/**
 * Durations in job files: `500ms`, `30s`, `5m`, `2h`, `1d`. Hand-written because the grammar is
 * five units and one regular expression; a dependency would cost more than it saves.
 *
 * @module
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** What a duration looks like, for error messages. */
export const DURATION_HINT = 'a duration such as 500ms, 30s, 5m, 2h or 1d';

/** Milliseconds of a duration text, or `undefined` when it is not one. A bare number is milliseconds. */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined;
  const match = DURATION.exec(text.trim());
  if (match === null) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
}
