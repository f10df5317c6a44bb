#!/usr/bin/env node
/**
 * `crm-sync-salesforce-emulator`: runs the Salesforce emulator until interrupted.
 *
 *     crm-sync-salesforce-emulator [--port 8080] [--fixed-clock [2025-03-04T05:06:07Z]]
 *
 * The clock is the machine's unless `--fixed-clock` is given (alone: 2024-01-01T00:00:00Z).
 *
 * @module
 */
import { runEmulatorCli } from '@crm-sync/connector-mock';
import { startSalesforceEmulator } from './index.js';

await runEmulatorCli({
  bin: 'crm-sync-salesforce-emulator',
  name: 'Salesforce',
  hint: 'use it as loginUrl/instanceUrl',
  start: (options) => startSalesforceEmulator(options),
});
