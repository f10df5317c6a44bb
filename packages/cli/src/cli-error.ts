/**
 * The one error shape the CLI's own code returns: a message for the user and the exit code it
 * maps to. Every message starts with `[crm-sync]` and says what, where and how to fix it.
 *
 * @module
 */
import { redactText } from '@crm-sync/sdk';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/** A failure the CLI reports to the user and turns into an exit code. */
export interface CliError {
  /** Redacted, prefixed with `[crm-sync]`; may span several lines (one per problem). */
  readonly message: string;
  readonly exitCode: ExitCodeValue;
}

/** An input error (exit 2): nothing has been changed. */
export function invalidInput(message: string): CliError {
  return { message: prefixed(message), exitCode: ExitCode.invalidInput };
}

/** A run failure (exit 1). */
export function runFailed(message: string): CliError {
  return { message: prefixed(message), exitCode: ExitCode.runFailed };
}

function prefixed(message: string): string {
  const text = message.startsWith('[crm-sync]') ? message : `[crm-sync] ${message}`;
  return redactText(text);
}

/** The message of anything thrown, for the rare places where a library throws. */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'object' && thrown !== null && typeof (thrown as { message?: unknown }).message === 'string') {
    return (thrown as { message: string }).message;
  }
  return String(thrown);
}
