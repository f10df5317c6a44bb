#!/usr/bin/env node
/**
 * The `crm-sync` executable.
 *
 * @module
 */
import { processIo } from '../io.js';
import { runCli } from '../program.js';

// `crm-sync ... | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// Set, not process.exit(): stdout drains before the process ends, so piped output is complete.
process.exitCode = await runCli(process.argv.slice(2), processIo());
