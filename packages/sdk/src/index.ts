/**
 * `@crm-sync/sdk`: the connector contract, the runtime wrapper, filters, conversions, change
 * fields, store interfaces and the sync orchestrator.
 *
 * @packageDocumentation
 */
export * from './contract/values.js';
export * from './contract/describe.js';
export * from './contract/requests.js';
export * from './contract/capabilities.js';
export * from './contract/connector.js';
export * from './contract/connector-base.js';
export * from './contract/normalize-id.js';
export * from './errors/crm-error.js';
export * from './errors/redact.js';
export * from './errors/network-phase.js';
export * from './filter/ast.js';
export * from './stores/types.js';
export * from './stores/lease.js';
export * from './stores/run-history.js';
export * from './runtime/logger.js';
export * from './stores/memory-option-store.js';
export * from './stores/memory-export-journal.js';
export * from './stores/journal-retention.js';
/** The chunk layout of the SQLite and PostgreSQL stores' journals, for stores over a database. */
export * as journalChunks from './stores/journal-chunks.js';
export * from './stores/memory-record-store.js';
export * from './stores/memory-run-history.js';
export * from './orchestrator/job.js';
export * from './orchestrator/types.js';
export { DEFAULT_DESCRIBE_CACHE_TTL_MS, DESCRIBE_CACHE_PREFIX, describeCacheOption } from './orchestrator/describe-cache.js';
export * from './filter/builder.js';
export * from './filter/expression.js';
export { parseExpression, inferExpressionType, type ExpressionNode, type ExpressionError, type ExpressionType } from './filter/expression-parser.js';
export * from './filter/validate.js';
export * from './filter/resolve.js';
export * from './conversion/field-kind.js';
export * from './conversion/time-zone.js';
export * from './conversion/convert-value.js';
export * from './conversion/record-converter.js';
export * from './change-fields/change-fields.js';
export * from './runtime/runtime-options.js';
export * from './runtime/runtime-connector.js';
export * from './di/tokens.js';
export * from './di/plugin.js';
export * from './di/runtime-connector-factory.js';
export * from './di/container.js';
export * from './orchestrator/orchestrator.js';
export { checkLocalColumns, nearestName } from './orchestrator/local-columns.js';
export { formatWatermark, MAX_OVERLAP_META_CHARS, parseWatermark, readWatermark, watermarkCheckpoint, WATERMARK_FORMAT, type Watermark } from './orchestrator/watermark.js';
export { DEFAULT_SAFETY_LAG_MS } from './orchestrator/import.js';
export { DEFAULT_LEASE_TTL_MS, describeHolder, isProcessAlive, processLeaseStore } from './orchestrator/run-lease.js';
export { DEFAULT_HISTORY_SAMPLE_MS } from './orchestrator/run-recorder.js';
