/**
 * The incremental-import watermark: how it is stored in an option, read back, and turned into the
 * next read window.
 *
 * The option's text is the seed's human format `yyyy/MM/dd HH:mm:ss` (UTC), so a person can read
 * and set it. The exact position lives in the option's meta: the exact instant, the tie-break id
 * of the last committed record (so thousands of records sharing one timestamp can be resumed
 * mid-group), the change field, and the (id, change time) pairs of the window's tail (so the
 * overlap re-read drops what it already delivered). When the text no longer agrees with the meta,
 * someone set it by hand: the text wins and the tie-break is reset.
 *
 * @module
 */
import { DateTime } from 'luxon';
import { err, ok, type Result } from 'neverthrow';
import type { Instant } from '../contract/values.js';
import type { Checkpoint, StoredOption } from '../stores/types.js';

/** The seed's human watermark format (UTC). */
export const WATERMARK_FORMAT = 'yyyy/MM/dd HH:mm:ss';

/** Most (id, change time) pairs kept for overlap deduplication; beyond it re-reads are simply rewritten. */
const MAX_RECENT_KEYS = 20_000;

/** A position in the change stream: every record at or before it (by `(at, id)`) is committed. */
export interface Watermark {
  /** The exact change time. */
  readonly at: Instant;
  /**
   * The tie-break: the id of the last committed record at `at`. Absent at the end of a window,
   * where everything before `at` is committed and nothing at `at` is.
   */
  readonly id?: string;
  /** `id@changedAt` of records committed within the overlap before `at`. */
  readonly recent?: readonly string[];
  /** True when the option was set by hand (the text disagreed with the stored exact value). */
  readonly handSet?: boolean;
}

/** Formats an instant in the human watermark format, UTC. */
export function formatWatermark(at: Instant): string {
  return DateTime.fromISO(at, { zone: 'utc' }).toFormat(WATERMARK_FORMAT);
}

/** Parses the human watermark format (UTC) into an instant. */
export function parseWatermark(text: string): Result<Instant, string> {
  const parsed = DateTime.fromFormat(text.trim(), WATERMARK_FORMAT, { zone: 'utc' });
  if (!parsed.isValid) {
    return err(`"${text}" is not a watermark in the format ${WATERMARK_FORMAT} (UTC), e.g. 2024/06/01 08:30:00`);
  }
  return ok(parsed.toJSDate().toISOString());
}

/** The key used to deduplicate re-read records. */
function recentKey(id: string, changedAt: Instant): string {
  return `${id}@${changedAt}`;
}

/**
 * Reads a watermark option. `undefined` means none yet (a first run). The exact meta is used only
 * while it agrees with the text and was written for the same change field.
 */
export function readWatermark(option: StoredOption | undefined, changeField: string): Result<Watermark | undefined, string> {
  if (option === undefined || option.value.trim() === '') return ok(undefined);
  const parsed = parseWatermark(option.value);
  if (parsed.isErr()) return err(`option "${option.name}": ${parsed.error}; fix or delete the option`);
  const meta = option.meta ?? {};
  const at = typeof meta.at === 'string' ? meta.at : undefined;
  const sameField = meta.field === undefined || meta.field === changeField;
  if (at !== undefined && sameField && formatWatermark(at) === option.value.trim()) {
    const id = typeof meta.id === 'string' ? meta.id : undefined;
    const recent = Array.isArray(meta.recent) ? meta.recent.filter((key): key is string => typeof key === 'string') : undefined;
    return ok({ at, ...(id === undefined ? {} : { id }), ...(recent === undefined ? {} : { recent }) });
  }
  return ok({ at: parsed.value, handSet: true });
}

/** The checkpoint that stores `watermark` in `optionName` for `changeField`. */
export function watermarkCheckpoint(optionName: string, changeField: string, watermark: Watermark): Checkpoint {
  return {
    optionName,
    value: formatWatermark(watermark.at),
    meta: {
      at: watermark.at,
      field: changeField,
      ...(watermark.id === undefined ? {} : { id: watermark.id }),
      ...(watermark.recent === undefined || watermark.recent.length === 0 ? {} : { recent: [...watermark.recent] }),
    },
  };
}

/** Shifts an instant by milliseconds. */
export function shiftInstant(at: Instant, ms: number): Instant {
  return new Date(Date.parse(at) + ms).toISOString();
}

/** The smaller of two instants. */
export function minInstant(a: Instant, b: Instant | undefined): Instant {
  return b !== undefined && b < a ? b : a;
}

/**
 * Remembers the (id, change time) of records near the end of the window, for the next run's
 * overlap. Only records within `overlapMs` of the newest change time matter; older ones are pruned
 * when the list is read.
 */
export class RecentKeys {
  private readonly keys = new Map<string, Instant>();

  constructor(private readonly overlapMs: number, seed: readonly string[] = []) {
    for (const key of seed) {
      const at = key.slice(key.lastIndexOf('@') + 1);
      this.keys.set(key, at);
    }
  }

  /** True when `(id, changedAt)` was already delivered. */
  has(id: string, changedAt: Instant): boolean {
    // Without an overlap (the usual case) there is nothing to look up: no key string per record.
    return this.keys.size > 0 && this.keys.has(recentKey(id, changedAt));
  }

  add(id: string, changedAt: Instant): void {
    if (this.overlapMs > 0) this.keys.set(recentKey(id, changedAt), changedAt);
  }

  /** The keys whose change time is within the overlap before `upTo`, newest last, capped. */
  list(upTo: Instant): string[] {
    if (this.overlapMs <= 0) return [];
    const from = shiftInstant(upTo, -this.overlapMs);
    for (const [key, at] of this.keys) if (at < from) this.keys.delete(key);
    const kept = [...this.keys.keys()];
    return kept.length > MAX_RECENT_KEYS ? kept.slice(kept.length - MAX_RECENT_KEYS) : kept;
  }
}
