/**
 * The CLI's view of its process: streams, environment and working directory, passed in so that
 * tests run commands in-process and read what they print.
 *
 * @module
 */

/** Something text is written to. */
export interface TextSink {
  write(text: string): unknown;
  /** True for a terminal: progress bars instead of line logs. */
  readonly isTTY?: boolean;
}

/** What a command may touch outside its arguments. */
export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** The real process. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Writes a line to stdout. */
export function println(io: CliIo, text = ''): void {
  io.stdout.write(`${text}\n`);
}

/** Writes a line to stderr. */
export function eprintln(io: CliIo, text: string): void {
  io.stderr.write(`${text}\n`);
}
