/**
 * `@crm-sync/connector-mock`: an in-memory CRM engine ({@link InMemoryCrm}) with a controllable
 * clock, CRM-style ids, validation rejects and a recycle bin, and a {@link MockConnector} that
 * implements the whole connector contract over it, with fault hooks.
 *
 * @packageDocumentation
 */
export * from './clock.js';
export * from './schema.js';
export * from './standard-schemas.js';
export * from './ids.js';
export * from './seeded-random.js';
export * from './field-checks.js';
export * from './in-memory-crm.js';
export * from './faults.js';
export * from './filter-eval.js';
export * from './mock-connector.js';
export * from './fixture-hooks.js';
export * from './plugin.js';
export * from './emulator-cli.js';
