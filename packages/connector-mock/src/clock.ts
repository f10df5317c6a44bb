/**
 * The CRM's server clock. Tests drive a {@link ManualClock} to make change timestamps, ties and
 * retention deterministic; a {@link SystemClock} with an offset models a CRM whose clock is skewed
 * against the client's.
 *
 * @module
 */

/** Where the in-memory CRM reads "now" from. */
export interface CrmClock {
  /** The CRM's current time. Callers may keep the returned `Date`: it is never mutated later. */
  now(): Date;
}

/** The instant a {@link ManualClock} starts at when none is given. */
export const DEFAULT_MANUAL_CLOCK_START = '2024-01-01T00:00:00.000Z';

function toDate(at: Date | string, where: string): Date {
  const date = typeof at === 'string' ? new Date(at) : new Date(at.getTime());
  if (Number.isNaN(date.getTime())) {
    throw new RangeError(`[crm-sync] [connector-mock] ${where}: ${String(at)} is not a valid date; pass a Date or an ISO 8601 string`);
  }
  return date;
}

/** A clock that moves only when told to. Time stands still between calls, so writes can share a timestamp. */
export class ManualClock implements CrmClock {
  #epochMs: number;

  /** Starts at `start` (default {@link DEFAULT_MANUAL_CLOCK_START}). */
  constructor(start: Date | string = DEFAULT_MANUAL_CLOCK_START) {
    this.#epochMs = toDate(start, 'ManualClock').getTime();
  }

  /** The current manual time. */
  now(): Date {
    return new Date(this.#epochMs);
  }

  /** Jumps to `at`, forwards or backwards. */
  set(at: Date | string): void {
    this.#epochMs = toDate(at, 'ManualClock.set').getTime();
  }

  /** Moves the clock by `ms` milliseconds (negative moves it back). */
  advance(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`[crm-sync] [connector-mock] ManualClock.advance: ${ms} is not a finite number of milliseconds`);
    this.#epochMs += ms;
  }
}

/** The machine's clock, shifted by `offsetMs` to model a CRM whose clock differs from the client's. */
export class SystemClock implements CrmClock {
  /** `offsetMs` is added to the machine's time (positive: the CRM runs ahead). */
  constructor(readonly offsetMs = 0) {}

  /** The machine's time plus the offset. */
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}
