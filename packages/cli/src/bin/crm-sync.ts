#!/usr/bin/env node
/**
 * The `crm-sync` executable.
 *
 * @module
 */
import { processIo } from '../io.js';
import { runCli } from '../program.js';

const exitCode = await runCli(process.argv.slice(2), processIo());
// Let stdout drain before exiting: piped output would otherwise be cut short.
process.exitCode = exitCode;
