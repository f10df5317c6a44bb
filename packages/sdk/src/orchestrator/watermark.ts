/**
 * The incremental-import watermark: how it is stored in an option, read back, and turned into the
 * next read window.
 *
 * The option's text is the seed's human format `yyyy/MM/dd HH:mm:ss` (UTC), so a person can read
 * and set it. The exact position lives in the option's meta: the exact instant, the tie-break id
 * of the last committed record (so thousands of records sharing one timestamp can be resumed
 * mid-group), the change field, and a digest of the (id, change time) pairs of the window's tail
 * (so the overlap re-read drops what it already delivered). When the text no longer agrees with
 * the meta, someone set it by hand: the text wins and the tie-break is reset.
 *
 * The overlap's dedupe set must fit an ordinary options column and be cheap to write on every
 * page, so it is bounded: only records changed inside the overlap window are kept, each as a
 * 48-bit digest of `id@changedAt` (8 characters) grouped by change second, newest first, up to
 * {@link MAX_OVERLAP_META_CHARS} characters. A re-read record beyond the cap is simply written
 * again (sinks upsert by CRM id, so that is harmless); a digest collision (odds about n / 2^48 per
 * re-read record) could drop a changed record, which is why the digest includes the change time:
 * a record changed again has a new digest.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import { err, ok, type Result } from 'neverthrow';
import type { Instant } from '../contract/values.js';
import type { Checkpoint, StoredOption } from '../stores/types.js';

/** The seed's human watermark format (UTC). */
export const WATERMARK_FORMAT = 'yyyy/MM/dd HH:mm:ss';

/**
 * Most characters of the overlap's dedupe set in the watermark's meta: the whole meta stays under
 * 16 KB. That holds the newest 1,150 to 1,870 records of the overlap (depending on how many share a
 * change second); older re-reads are simply written again.
 */
export const MAX_OVERLAP_META_CHARS = 15_000;
/** Version tag of the compact dedupe set's text. */
const OVERLAP_FORMAT = 'o1';

/** A position in the change stream: every record at or before it (by `(at, id)`) is committed. */
export interface Watermark {
  /** The exact change time. */
  readonly at: Instant;
  /**
   * The tie-break: the id of the last committed record at `at`. Absent at the end of a window,
   * where everything before `at` is committed and nothing at `at` is.
   */
  readonly id?: string;
  /**
   * The overlap's dedupe set (records committed within the overlap before `at`) in its compact,
   * bounded text form; opaque, produced by the import. At most {@link MAX_OVERLAP_META_CHARS}.
   */
  readonly recent?: string;
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

/** The digest used to deduplicate a re-read record: 48 bits of SHA-256 of `id@changedAt`, base64url. */
function recentDigest(id: string, changedAt: Instant): string {
  return createHash('sha256').update(`${id}@${changedAt}`).digest().subarray(0, 6).toString('base64url');
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
    // Meta written before the compact form held `id@changedAt` keys: read once, then written compact.
    const recent =
      typeof meta.overlap === 'string'
        ? meta.overlap
        : Array.isArray(meta.recent)
          ? legacyOverlap(meta.recent.filter((key): key is string => typeof key === 'string'))
          : undefined;
    return ok({ at, ...(id === undefined ? {} : { id }), ...(recent === undefined || recent === '' ? {} : { recent }) });
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
      ...(watermark.recent === undefined || watermark.recent === '' ? {} : { overlap: watermark.recent }),
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

/** The compact form of an old list of `id@changedAt` keys. */
function legacyOverlap(keys: readonly string[]): string {
  const recent = new RecentKeys(Number.MAX_SAFE_INTEGER);
  for (const key of keys) {
    const split = key.lastIndexOf('@');
    if (split > 0) recent.add(key.slice(0, split), key.slice(split + 1));
  }
  let newest = '';
  for (const key of keys) newest = key.slice(key.lastIndexOf('@') + 1) > newest ? key.slice(key.lastIndexOf('@') + 1) : newest;
  return newest === '' ? '' : recent.list(newest);
}

/**
 * Remembers the digests of records delivered near the end of the window, for the next run's
 * overlap. Only records changed within `overlapMs` before the window's end matter; older ones are
 * pruned, and the stored text keeps the newest up to {@link MAX_OVERLAP_META_CHARS}.
 *
 * The text is `o1|<base ms, base36>|<offset s>:<digests>;<offset s>:<digests>...`, one group per
 * change second (the offset is whole seconds before the base), newest first.
 */
export class RecentKeys {
  /** Digest -> change time in ms. */
  private readonly digests = new Map<string, number>();
  /** The last text produced, reused while nothing was added or pruned. */
  private encoded: { readonly upTo: Instant; readonly text: string } | undefined;

  constructor(
    private readonly overlapMs: number,
    seed = '',
  ) {
    if (overlapMs > 0 && seed !== '') this.decode(seed);
  }

  /** True when `(id, changedAt)` was already delivered. */
  has(id: string, changedAt: Instant): boolean {
    return this.digests.size > 0 && this.digests.has(recentDigest(id, changedAt));
  }

  /** Remembers a delivered record. */
  add(id: string, changedAt: Instant): void {
    if (this.overlapMs <= 0) return;
    const digest = recentDigest(id, changedAt);
    if (this.digests.has(digest)) return;
    this.digests.set(digest, Date.parse(changedAt));
    this.encoded = undefined;
  }

  /** The stored text: records changed within the overlap before `upTo`, newest first, capped. */
  list(upTo: Instant): string {
    if (this.overlapMs <= 0) return '';
    if (this.encoded?.upTo === upTo) return this.encoded.text;
    const base = Date.parse(upTo);
    const from = base - this.overlapMs;
    const groups = new Map<number, string[]>();
    for (const [digest, at] of this.digests) {
      // A group holds a whole second: kept while any part of it is inside the overlap.
      if (at + 1000 <= from) {
        this.digests.delete(digest);
        continue;
      }
      const offset = Math.floor((base - at) / 1000);
      const group = groups.get(offset);
      if (group) group.push(digest);
      else groups.set(offset, [digest]);
    }
    let text = `${OVERLAP_FORMAT}|${base.toString(36)}|`;
    const offsets = [...groups.keys()].sort((a, b) => a - b);
    let first = true;
    for (const offset of offsets) {
      const head = `${first ? '' : ';'}${offset.toString(36)}:`;
      const room = Math.floor((MAX_OVERLAP_META_CHARS - text.length - head.length) / 8);
      if (room <= 0) break;
      text += head + groups.get(offset)!.slice(0, room).join('');
      first = false;
    }
    if (first) text = '';
    this.encoded = { upTo, text };
    return text;
  }

  private decode(text: string): void {
    const [format, baseText, body] = text.split('|');
    if (format !== OVERLAP_FORMAT || baseText === undefined || body === undefined) return;
    const base = parseInt(baseText, 36);
    if (!Number.isFinite(base)) return;
    for (const group of body.split(';')) {
      const split = group.indexOf(':');
      if (split < 0) continue;
      // The group's second, at its latest: pruned only once all of it has left the overlap.
      const at = base - parseInt(group.slice(0, split), 36) * 1000;
      const digests = group.slice(split + 1);
      for (let offset = 0; offset + 8 <= digests.length; offset += 8) this.digests.set(digests.slice(offset, offset + 8), at);
    }
  }
}
