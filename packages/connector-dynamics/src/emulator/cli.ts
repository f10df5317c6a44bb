#!/usr/bin/env node
/**
 * `crm-sync-dataverse-emulator`: runs the Dataverse emulator until interrupted.
 *
 *     crm-sync-dataverse-emulator [--port 8080] [--fixed-clock [2025-03-04T05:06:07Z]]
 *
 * The clock is the machine's unless `--fixed-clock` is given (alone: 2024-01-01T00:00:00Z).
 *
 * @module
 */
import { runEmulatorCli } from '@crm-sync/connector-mock';
import { startDataverseEmulator } from './index.js';

await runEmulatorCli({
  bin: 'crm-sync-dataverse-emulator',
  name: 'Dataverse',
  hint: 'use it as orgUrl (emulator.connectorConfig() in code)',
  start: (options) => startDataverseEmulator(options),
});
