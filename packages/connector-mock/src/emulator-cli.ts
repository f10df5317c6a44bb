/**
 * The command line shared by the vendor emulators' bins (`crm-sync-salesforce-emulator`,
 * `crm-sync-dataverse-emulator`): `[--port <port>] [--fixed-clock [<ISO 8601 instant>]]`, runs the
 * emulator until SIGINT or SIGTERM.
 *
 * @module
 */
import { parseArgs } from 'node:util';

/** What an emulator bin hands to {@link runEmulatorCli}. */
export interface EmulatorCliOptions {
  /** The bin's name, for the usage line (`crm-sync-salesforce-emulator`). */
  readonly bin: string;
  /** The emulator's name in messages (`Salesforce`). */
  readonly name: string;
  /** How a client points at it, printed after the URL (`use it as loginUrl/instanceUrl`). */
  readonly hint: string;
  /** Starts the emulator; `fixedClock` is absent for the machine's clock. */
  readonly start: (options: { readonly port: number; readonly fixedClock?: true | string }) => Promise<EmulatorCliHandle>;
}

/** The part of a started emulator the command line needs. */
export interface EmulatorCliHandle {
  readonly url: string;
  readonly crm: { readonly clock: { now(): Date } };
  close(): Promise<void>;
}

/**
 * Parses `argv` (without node and the script), starts the emulator and keeps it running until
 * SIGINT or SIGTERM. A bad argument exits with code 2 and a message that names it and shows the
 * usage line.
 */
export async function runEmulatorCli(options: EmulatorCliOptions, argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const usage = `usage: ${options.bin} [--port <port>] [--fixed-clock [<ISO 8601 instant>]]`;
  try {
    const args = [...argv];
    // `--fixed-clock` alone means the default instant; parseArgs needs a value, so give it one.
    const at = args.indexOf('--fixed-clock');
    if (at !== -1 && (args[at + 1] === undefined || args[at + 1]!.startsWith('--'))) args.splice(at + 1, 0, 'true');
    const { values } = parseArgs({ args, options: { port: { type: 'string' }, 'fixed-clock': { type: 'string' }, help: { type: 'boolean' } } });
    if (values.help) {
      process.stdout.write(`${usage}\n`);
      return;
    }
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new Error(`[crm-sync] [${options.bin.replace(/^crm-sync-/, '')}] --port ${values.port} is not a port number (0-65535); ${usage}`);
    }
    const fixed = values['fixed-clock'];
    const emulator = await options.start({ port, ...(fixed === undefined ? {} : { fixedClock: fixed === 'true' ? true : fixed }) });
    const clock = fixed === undefined ? 'machine' : `fixed at ${emulator.crm.clock.now().toISOString()}`;
    process.stdout.write(`${options.name} emulator listening on ${emulator.url} (clock: ${clock}); ${options.hint}. Ctrl+C stops it.\n`);
    const stop = () => void emulator.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (error: unknown) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}
