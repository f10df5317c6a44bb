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
import { parseArgs } from 'node:util';
import { startDataverseEmulator } from './index.js';

const USAGE = 'usage: crm-sync-dataverse-emulator [--port <port>] [--fixed-clock [<ISO 8601 instant>]]';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // `--fixed-clock` alone means the default instant; parseArgs needs a value, so give it one.
  const at = args.indexOf('--fixed-clock');
  if (at !== -1 && (args[at + 1] === undefined || args[at + 1]!.startsWith('--'))) args.splice(at + 1, 0, 'true');
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, 'fixed-clock': { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`[crm-sync] [dataverse-emulator] --port ${values.port} is not a port number (0-65535); ${USAGE}`);
  const fixed = values['fixed-clock'];
  const emulator = await startDataverseEmulator({ port, ...(fixed === undefined ? {} : { fixedClock: fixed === 'true' ? true : fixed }) });
  process.stdout.write(`Dataverse emulator listening on ${emulator.url} (clock: ${fixed === undefined ? 'machine' : `fixed at ${emulator.crm.clock.now().toISOString()}`}); use it as orgUrl (emulator.connectorConfig() in code). Ctrl+C stops it.\n`);
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
