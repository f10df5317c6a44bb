/**
 * `@crm-sync/ui`: a read-only local dashboard of crm-sync's runs, rejects, export journals,
 * watermarks and distributed workers: a page with plots and a JSON API versioned under `/api/v1`
 * (docs/guides/dashboard.md). The CLI starts it as `crm-sync ui`.
 *
 * @packageDocumentation
 */
export { startUiServer, isLoopbackHost, MIN_TOKEN_LENGTH, UiServerConfigError, type UiServer, type UiServerOptions } from './server.js';
export { API_VERSION } from './api-v1.js';
export type { UiStore, StoreProblem, StoreProblemKind } from './ui-store.js';
export type { RunView, JournalView, JournalEntryView } from './views.js';
export { REJECTS_CSV_HEADER, csvCell } from './rejects-csv.js';
export type { WorkersStatus, WorkersQueueStatus, WorkersWorkerStatus, WorkersScheduleStatus, WorkersStatusReader } from './workers-status.js';
