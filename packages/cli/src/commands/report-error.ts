/**
 * Prints a {@link CliError} and returns its exit code.
 *
 * @module
 */
import type { CliError } from '../cli-error.js';
import type { ExitCodeValue } from '../exit-codes.js';
import { eprintln, type CliIo } from '../io.js';

/** Writes the error to stderr and returns its exit code. */
export function reportError(io: CliIo, error: CliError): ExitCodeValue {
  eprintln(io, error.message);
  return error.exitCode;
}
