/**
 * `@crm-sync/testkit`: the conformance suite every crm-sync connector runs. The checks are
 * runner-agnostic (`runContractChecks`); `describeConnectorContract` registers them with vitest.
 *
 * @packageDocumentation
 */
export * from './options.js';
export * from './checks/index.js';
export * from './run-checks.js';
export * from './suites/describe-contract.js';
export { describeContractGroup, describeKnownDeviationIds } from './suites/describe-group.js';
export * from './stores/index.js';
export * from './services.js';
export * from './steady-state.js';
