/**
 * Shared pieces of the write paths: turning sObject Collections results into outcomes and
 * re-merging records refused before sending, so every write returns one outcome per input, in
 * input order.
 *
 * @module
 */
import { redactText, type Reject, type WriteAction, type WriteOutcome } from '@crm-sync/sdk';
import { rejectFromSalesforceErrors, type SalesforceErrorItem } from './errors.js';

/** One item of an sObject Collections answer. */
export interface CollectionResult {
  readonly id?: string | null;
  readonly success: boolean;
  readonly created?: boolean;
  readonly errors?: readonly SalesforceErrorItem[];
}

/** Maps one collection item to an outcome; `action` is used when `created` is absent. */
export function outcomeFromCollectionResult(result: CollectionResult | undefined, action: WriteAction): WriteOutcome {
  if (result === undefined) {
    return { ok: false, reject: { code: 'unknown', message: 'Salesforce returned fewer results than records sent', retryable: true } };
  }
  if (result.success && typeof result.id === 'string') {
    const resolved: WriteAction = result.created === true ? 'created' : result.created === false ? 'updated' : action;
    return { ok: true, id: result.id, action: resolved };
  }
  return { ok: false, ...(typeof result.id === 'string' ? { id: result.id } : {}), reject: rejectFromSalesforceErrors(result.errors) };
}

/**
 * An update of a well-formed id that names no record: Salesforce answers the per-record
 * `INVALID_CROSS_REFERENCE_KEY` (about the record's own id: no fields, or `Id`), which for an
 * update means the record does not exist: `not-found`, as the connector contract says. A bad
 * lookup value names its lookup field and stays `invalid-value`.
 */
export function missingOnUpdate(outcome: WriteOutcome): WriteOutcome {
  if (outcome.ok || outcome.reject.symbol !== 'INVALID_CROSS_REFERENCE_KEY') return outcome;
  const fields = outcome.reject.fields ?? [];
  if (fields.some((field) => field !== 'Id')) return outcome;
  return { ...outcome, reject: { ...outcome.reject, code: 'not-found', message: `${outcome.reject.message} (no record has this id)` } };
}

/** A reject decided locally, before the record reaches Salesforce. */
export function localReject(code: Reject['code'], message: string, fields?: readonly string[]): WriteOutcome {
  return { ok: false, reject: { code, message: redactText(message), ...(fields ? { fields } : {}), retryable: false } };
}

/**
 * Records split into those refused locally (with their outcome) and those to send (with their
 * input index), so answers can be merged back in input order.
 */
export class OutcomeMerger<T> {
  private readonly outcomes: (WriteOutcome | undefined)[];
  /** Items to send, with their input index. */
  readonly toSend: { readonly index: number; readonly item: T }[] = [];

  constructor(size: number) {
    this.outcomes = new Array<WriteOutcome | undefined>(size).fill(undefined);
  }

  /** Records a local decision for input `index`. */
  decide(index: number, outcome: WriteOutcome): void {
    this.outcomes[index] = outcome;
  }

  /** Queues input `index` for sending. */
  send(index: number, item: T): void {
    this.toSend.push({ index, item });
  }

  /** The outcomes in input order; answers are given in `toSend` order. */
  merge(answers: readonly WriteOutcome[]): WriteOutcome[] {
    this.toSend.forEach((entry, i) => {
      this.outcomes[entry.index] = answers[i] ?? outcomeFromCollectionResult(undefined, 'updated');
    });
    return this.outcomes.map((outcome) => outcome ?? outcomeFromCollectionResult(undefined, 'updated'));
  }
}
