/**
 * Scripted failures for `MockConnector`: fail the next N calls, or every n-th call, of some
 * operations, either before anything happens or after a write was applied (a lost answer).
 *
 * @module
 */
import type { CrmError } from '@crm-sync/sdk';

/** The error to return: fixed, or built per call from the operation name. */
export type FaultError = CrmError | ((operation: string) => CrmError);

/** Which calls a fault applies to, and when it strikes. */
export interface FaultOptions {
  /** Contract operations it applies to (`query`, `upsertBatch`, `delete`, ...); default all. */
  operations?: string[];
  /**
   * Apply the call first (the write is committed), then return the error with `inDoubt: true`:
   * the CRM did the work but the answer was lost.
   */
  afterCommit?: boolean;
}

/** A fault that fired for one call. */
export interface FiredFault {
  readonly error: CrmError;
  readonly afterCommit: boolean;
}

interface FaultRule {
  readonly error: FaultError;
  readonly operations: ReadonlySet<string> | undefined;
  readonly afterCommit: boolean;
  /** `next`: fires while `remaining > 0`; `every`: fires on each `period`-th matching call. */
  readonly mode: 'next' | 'every';
  remaining: number;
  readonly period: number;
  seen: number;
}

/** Fault hooks of a `MockConnector`. Rules are checked in the order they were added; the first that fires wins. */
export class MockFaults {
  #rules: FaultRule[] = [];
  #injected = 0;

  /** How many faults have fired since construction (or the last {@link MockFaults.clear}). */
  get injected(): number {
    return this.#injected;
  }

  /** Fails the next `count` matching calls with `error`. */
  failNext(count: number, error: FaultError, options: FaultOptions = {}): void {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`[crm-sync] [connector-mock] failNext: count must be a positive integer, got ${count}`);
    this.#rules.push(ruleOf('next', count, 0, error, options));
  }

  /** Fails every `n`-th matching call (the n-th, 2n-th, ...) with `error`, until cleared. */
  failEvery(n: number, error: FaultError, options: FaultOptions = {}): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`[crm-sync] [connector-mock] failEvery: n must be a positive integer, got ${n}`);
    this.#rules.push(ruleOf('every', 0, n, error, options));
  }

  /** Removes every rule and zeroes {@link MockFaults.injected}. */
  clear(): void {
    this.#rules = [];
    this.#injected = 0;
  }

  /** Decides whether this call of `operation` fails. Called once per contract call by the connector. */
  check(operation: string): FiredFault | undefined {
    let fired: FaultRule | undefined;
    for (const rule of this.#rules) {
      if (rule.operations && !rule.operations.has(operation)) continue;
      if (rule.mode === 'every') {
        rule.seen++;
        if (!fired && rule.seen % rule.period === 0) fired = rule;
      } else if (!fired && rule.remaining > 0) {
        rule.remaining--;
        fired = rule;
      }
    }
    this.#rules = this.#rules.filter((rule) => rule.mode === 'every' || rule.remaining > 0);
    if (!fired) return undefined;
    this.#injected++;
    const error = typeof fired.error === 'function' ? fired.error(operation) : fired.error;
    return { error: fired.afterCommit ? { ...error, inDoubt: true } : error, afterCommit: fired.afterCommit };
  }
}

function ruleOf(mode: FaultRule['mode'], remaining: number, period: number, error: FaultError, options: FaultOptions): FaultRule {
  return {
    error,
    operations: options.operations ? new Set(options.operations) : undefined,
    afterCommit: options.afterCommit ?? false,
    mode,
    remaining,
    period,
    seen: 0,
  };
}
