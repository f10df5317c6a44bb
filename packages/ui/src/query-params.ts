/**
 * Strict parsing of the API's query parameters. Every parameter has a shape (an enumeration, a
 * bounded integer, an instant, an id); anything else, an unknown parameter or a repeated one, is
 * refused with 400 before any store is asked. Free text (the reject search) is passed to the
 * store as a bound parameter and matched literally there, never spliced into a query.
 *
 * @module
 */
import { RUN_STATUSES, type JournalState, type RunStatus, type SyncOperation } from '@crm-sync/sdk';

/** A request the API refuses: status 400 with this message. */
export class BadRequestError extends Error {
  /** @param message - what was wrong and what is accepted */
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

/** The operations a run can have. */
export const OPERATIONS: readonly SyncOperation[] = ['import', 'export', 'delete', 'import-deleted'];

/** The journal states, `unknown` being "in doubt". */
export const JOURNAL_STATES: readonly JournalState[] = ['pending', 'sent', 'committed', 'rejected', 'unknown'];

/** Job ids are `<instance>/<activity>`; an activity alone selects every instance. */
const JOB_PATTERN = /^[A-Za-z0-9_.:-]{1,120}(?:\/[A-Za-z0-9_.:-]{1,120})?$/;

/** Run ids: UUIDs in practice; letters, digits and `._:-` accepted. */
const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;

const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/** The query of one request: each parameter read once; {@link QueryParams.done} refuses the rest. */
export class QueryParams {
  private readonly read = new Set<string>();

  /** @param params - the request's search parameters */
  constructor(private readonly params: URLSearchParams) {}

  /** The parameter's single value, `undefined` when absent or empty; throws when repeated. */
  text(name: string, maxLength = 200): string | undefined {
    this.read.add(name);
    const values = this.params.getAll(name);
    if (values.length > 1) throw new BadRequestError(`query parameter "${name}" is given ${values.length} times; give it once`);
    const value = values[0];
    if (value === undefined || value === '') return undefined;
    if (value.length > maxLength) throw new BadRequestError(`query parameter "${name}" is longer than ${maxLength} characters`);
    return value;
  }

  /** An integer in `[min, max]`, or `fallback` when absent. */
  integer(name: string, min: number, max: number, fallback: number): number {
    const value = this.text(name, 12);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new BadRequestError(`query parameter "${name}" must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return Number(value);
  }

  /** One of `allowed`, or `undefined` when absent. */
  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.text(name, 40);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new BadRequestError(`query parameter "${name}" must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    }
    return value as T;
  }

  /** A comma-separated list of `allowed` values, or `undefined` when absent. */
  listOf<T extends string>(name: string, allowed: readonly T[]): readonly T[] | undefined {
    const value = this.text(name, 200);
    if (value === undefined) return undefined;
    const items = value.split(',');
    for (const item of items) {
      if (!(allowed as readonly string[]).includes(item)) {
        throw new BadRequestError(`query parameter "${name}" must be a comma-separated list of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
      }
    }
    return items as T[];
  }

  /** An ISO date or instant (`2024-06-01`, `2024-06-01T08:00:00Z`) as an ISO instant, or `undefined`. */
  instant(name: string): string | undefined {
    const value = this.text(name, 40);
    if (value === undefined) return undefined;
    const iso = value.length === 10 ? `${value}T00:00:00Z` : value;
    const at = INSTANT_PATTERN.test(value) ? Date.parse(iso) : Number.NaN;
    if (Number.isNaN(at)) throw new BadRequestError(`query parameter "${name}" must be a date or an ISO instant such as 2024-06-01 or 2024-06-01T08:00:00Z, got ${JSON.stringify(value)}`);
    return new Date(at).toISOString();
  }

  /** A job id (`<instance>/<activity>`) or an activity name, or `undefined`. */
  job(name: string): string | undefined {
    const value = this.text(name, 241);
    if (value === undefined) return undefined;
    if (!JOB_PATTERN.test(value)) throw new BadRequestError(`query parameter "${name}" must be a job id <instance>/<activity> or an activity name (letters, digits, _ . : -), got ${JSON.stringify(value)}`);
    return value;
  }

  /** Refuses every parameter that was not read: a typo or an injection attempt is an error, not ignored. */
  done(): void {
    for (const name of new Set(this.params.keys())) {
      if (!this.read.has(name)) throw new BadRequestError(`unknown query parameter "${name}"; see docs/guides/dashboard.md for the parameters of each route`);
    }
  }
}

/** A run id from the path, or a 400. */
export function checkRunId(value: string): string {
  if (!ID_PATTERN.test(value)) throw new BadRequestError(`run id ${JSON.stringify(value)} is not a run id (letters, digits, _ . : -, at most 200)`);
  return value;
}

/** The run statuses, for `status=`. */
export const STATUSES: readonly RunStatus[] = RUN_STATUSES;
