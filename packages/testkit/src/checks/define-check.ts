/**
 * Writing a check as plain code: the body calls `fail` or `skip` (which throw a private signal)
 * and `expectOk` to unwrap a connector result; {@link defineCheck} turns all of that, and any
 * stray throw, into a {@link CheckOutcome}. Exceptions stay inside this module.
 *
 * @module
 */
import { redactText, type ConnectorCapabilities, type CrmConnector, type CrmError } from '@crm-sync/sdk';
import type { ResultAsync } from 'neverthrow';
import type { ContractFixtures } from '../options.js';
import { DEFAULT_SCALE, type CheckContext, type CheckOutcome, type ContractCheck, type ContractGroup } from './types.js';

/** Stable failure kinds the built-in checks report. Known deviations name one of them. */
export const FAILURE_KINDS = {
  /** A call that should succeed returned a `CrmError`. */
  unexpectedError: 'unexpected-error',
  /** A call that should fail succeeded, or failed with another kind. */
  wrongErrorKind: 'wrong-error-kind',
  /** A record expected in the answer is absent. */
  missingRecord: 'missing-record',
  /** A record appears twice across pages or resumed reads. */
  duplicateRecord: 'duplicate-record',
  /** A record is present that the request excludes. */
  unexpectedRecord: 'unexpected-record',
  /** Records or outcomes are out of the promised order. */
  wrongOrder: 'wrong-order',
  /** A value differs from what was written or seeded. */
  wrongValue: 'wrong-value',
  /** Write outcomes do not match the input (count, action, reject shape). */
  wrongOutcome: 'wrong-outcome',
  /** `describe`/`listObjects` answered a malformed shape. */
  wrongShape: 'wrong-shape',
  /** A page broke a bound (page size, cursor that never ends). */
  boundBroken: 'bound-broken',
  /** A credential from `fixtures.secrets` appears in an error. */
  secretLeaked: 'secret-leaked',
  /** The connector or the fixtures threw instead of returning a result. */
  threw: 'threw',
} as const;

class CheckSignal {
  constructor(readonly outcome: Omit<CheckOutcome, 'id'>) {}
}

/** The toolbox a check body receives. */
export interface CheckScope extends CheckContext {
  /** The connector under test. */
  readonly connector: CrmConnector;
  /** Hooks into the CRM behind it. */
  readonly fixtures: ContractFixtures;
  /** Ends the check as failed. */
  fail(kind: string, detail: string): never;
  /** Ends the check as skipped, with the reason. */
  skip(reason: string): never;
  /** Unwraps a connector result, failing with `unexpected-error` (naming `what`) when it is an error. */
  expectOk<T>(result: ResultAsync<T, CrmError>, what: string): Promise<T>;
  /** Unwraps a connector result that must fail, returning the error; fails when it succeeds. */
  expectErr<T>(result: ResultAsync<T, CrmError>, what: string): Promise<CrmError>;
}

/** What {@link defineCheck} needs. */
export interface CheckDefinition {
  /** `<group>/<name>`, stable. */
  readonly id: string;
  /** The group the check belongs to. */
  readonly group: ContractGroup;
  /** The behaviour asserted, as a sentence. */
  readonly title: string;
  /** Returns a skip reason when the capabilities rule the check out. */
  readonly requires?: (capabilities: ConnectorCapabilities) => string | undefined;
  /** The check as plain code: returns when it holds, calls `scope.fail` or `scope.skip` otherwise. */
  body(scope: CheckScope): Promise<void>;
}

function describeError(error: CrmError): string {
  return `${error.kind}: ${error.message}`;
}

/** Builds a {@link ContractCheck} from a body written as plain code. */
export function defineCheck(definition: CheckDefinition): ContractCheck {
  const fail = (kind: string, detail: string): never => {
    throw new CheckSignal({ passed: false, failure: { kind, detail } });
  };
  const skip = (reason: string): never => {
    throw new CheckSignal({ passed: true, skipped: reason });
  };
  return {
    id: definition.id,
    group: definition.group,
    title: definition.title,
    ...(definition.requires ? { requires: definition.requires } : {}),
    async run(connector, fixtures, context) {
      const scope: CheckScope = {
        connector,
        fixtures,
        scale: context?.scale ?? DEFAULT_SCALE,
        fail,
        skip,
        async expectOk(result, what) {
          const settled = await result;
          if (settled.isErr()) return fail(FAILURE_KINDS.unexpectedError, `${what} failed: ${describeError(settled.error)}`);
          return settled.value;
        },
        async expectErr(result, what) {
          const settled = await result;
          if (settled.isOk()) return fail(FAILURE_KINDS.wrongErrorKind, `${what} succeeded but must fail`);
          return settled.error;
        },
      };
      try {
        await definition.body(scope);
        return { id: definition.id, passed: true };
      } catch (thrown) {
        if (thrown instanceof CheckSignal) return { id: definition.id, ...thrown.outcome };
        const text = thrown instanceof Error ? thrown.message : String(thrown);
        return { id: definition.id, passed: false, failure: { kind: FAILURE_KINDS.threw, detail: redactText(text) } };
      }
    },
  };
}
