/**
 * `@crm-sync/cli`: the `crm-sync` command. Its functions are exported for scripts and tests that
 * want to run the CLI in-process.
 *
 * @packageDocumentation
 */
export { runCli } from './program.js';
export { ExitCode, type ExitCodeValue } from './exit-codes.js';
export type { CliIo, TextSink } from './io.js';
export { loadJobFile, type LoadedJob } from './job/load-job.js';
export { jobFileSchema, OPERATIONS, CONVERSIONS, type JobFile } from './job/job-schema.js';
export { toSyncJob } from './job/to-sync-job.js';
export { loadAccount, DEFAULT_ACCOUNTS_FILE, type ResolvedAccount, type AccountLookup } from './accounts/load-accounts.js';
export type { CliError } from './cli-error.js';
export { seedSampleData, type SampleDataCounts, type SampleDataOptions } from './demo/sample-data.js';
export { MOCK_PROFILE, SALESFORCE_PROFILE, type DemoProfile } from './demo/demo-profile.js';
export type { ConvertedFilter } from './job/filter-from-yaml.js';
export type { YamlFile } from './yaml-file.js';
export type { AccountSettings } from './accounts/account-schema.js';
export type { FileIssue } from './job/schema-issues.js';
