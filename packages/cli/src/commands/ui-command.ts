/**
 * `crm-sync ui`: the dashboard (`@crm-sync/ui`) over the database, read-only, until Ctrl-C.
 *
 * It binds 127.0.0.1 unless `--host` says otherwise, and always asks for an access token: the
 * one in `$CRM_SYNC_UI_TOKEN`, else a random one made at start. The token is printed once, in
 * the URL's fragment (`http://127.0.0.1:4242/#token=...`), which the browser never sends to a
 * server; the page sends it back as a Bearer header. Off loopback it says so loudly.
 *
 * A database that cannot be shown (no file yet, a newer schema, a damaged file, a server that
 * refuses) does not stop the command: the page explains what is wrong and how to fix it, and so
 * does the terminal.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { registerSecret } from '@crm-sync/sdk';
import { DEFAULT_PREFIX, redactRedisUrl } from '@crm-sync/worker-bullmq';
import { isLoopbackHost, MIN_TOKEN_LENGTH, startUiServer, UiServerConfigError, type StoreProblem, type UiServer, type WorkersStatusReader } from '@crm-sync/ui';
import { invalidInput, runFailed } from '../cli-error.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { eprintln, println, type CliIo } from '../io.js';
import { databaseExists, openStore, shownDatabase, type CliStore } from '../store.js';
import { reportError } from './report-error.js';
import { workersStatusReader, WORKERS_STATUS_TIMEOUT_MS } from './ui-workers.js';
import { redisUrlOf } from './worker-command.js';

/** The default port of `crm-sync ui`. */
export const DEFAULT_UI_PORT = 4242;

/** Options of `crm-sync ui`. */
export interface UiCommandOptions {
  /** The database (a file path or a connection string), as `databasePath` resolved it. */
  readonly db: string;
  /** Default {@link DEFAULT_UI_PORT}; `0` picks a free port. */
  readonly port?: number;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Stops the server (tests, the demo); SIGINT and SIGTERM always do. */
  readonly signal?: AbortSignal;
  /** Called once the server listens (tests read its URL). */
  readonly onListening?: (server: UiServer) => void;
  /** The distributed workers' status, when they are in use (overrides `redis` and `prefix`). */
  readonly workersStatus?: WorkersStatusReader;
  /**
   * The Redis of the distributed workers (`--redis`); with it, `prefix`, or `$CRM_SYNC_REDIS_URL`,
   * the workers page shows their queues, workers and schedules. Without any, workers are not in use.
   */
  readonly redis?: string;
  /** The queues' key prefix (`--prefix`; default `crm-sync`). */
  readonly prefix?: string;
  /** How long the workers page waits for Redis, ms (default {@link WORKERS_STATUS_TIMEOUT_MS}). */
  readonly workersTimeoutMs?: number;
}

/** The workers' status function: the one given, else one over Redis when Redis was named. */
function workersOf(io: CliIo, options: UiCommandOptions): { reader?: WorkersStatusReader; shown?: string } {
  if (options.workersStatus !== undefined) return { reader: options.workersStatus };
  const fromEnv = io.env.CRM_SYNC_REDIS_URL !== undefined && io.env.CRM_SYNC_REDIS_URL !== '';
  if (options.redis === undefined && options.prefix === undefined && !fromEnv) return {};
  const redis = redisUrlOf(io, options.redis);
  return {
    reader: workersStatusReader({
      redis,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      ...(options.workersTimeoutMs === undefined ? {} : { timeoutMs: options.workersTimeoutMs }),
    }),
    shown: `${redactRedisUrl(redis)}, prefix ${options.prefix ?? DEFAULT_PREFIX}`,
  };
}

/** Serves the dashboard until stopped. Resolves with the exit code; never throws. */
export async function uiCommand(io: CliIo, options: UiCommandOptions): Promise<ExitCodeValue> {
  const host = options.host ?? '127.0.0.1';
  const fromEnv = io.env.CRM_SYNC_UI_TOKEN !== undefined && io.env.CRM_SYNC_UI_TOKEN !== '' ? io.env.CRM_SYNC_UI_TOKEN : undefined;
  if (fromEnv !== undefined && fromEnv.length < MIN_TOKEN_LENGTH) {
    return reportError(io, invalidInput(`CRM_SYNC_UI_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters; unset it and crm-sync ui makes a random one`));
  }
  const token = registerSecret(fromEnv ?? randomBytes(24).toString('base64url'));
  const shown = shownDatabase(options.db);
  const workers = workersOf(io, options);
  const opened = await openForUi(options.db, shown);
  const store: CliStore | StoreProblem = opened;
  let server: UiServer;
  try {
    server = await startUiServer({
      store,
      databaseLabel: shown,
      host,
      port: options.port ?? DEFAULT_UI_PORT,
      token,
      ...(workers.reader === undefined ? {} : { workersStatus: workers.reader }),
    });
  } catch (thrown) {
    if ('close' in store) await store.close();
    if (thrown instanceof UiServerConfigError) return reportError(io, invalidInput(thrown.message));
    const code = (thrown as { code?: unknown } | null)?.code;
    if (code === 'EADDRINUSE') return reportError(io, runFailed(`port ${options.port ?? DEFAULT_UI_PORT} on ${host} is already in use; choose another with --port (or --port 0 for any free port)`));
    return reportError(io, runFailed(`the dashboard could not listen on ${host}:${options.port ?? DEFAULT_UI_PORT}: ${thrown instanceof Error ? thrown.message : String(thrown)}`));
  }
  println(io, `crm-sync ui: ${shown}, read-only, at ${server.url}`);
  if (!('close' in store)) eprintln(io, `note: ${store.title}: ${store.message}`);
  if (workers.shown !== undefined) println(io, `Workers: from Redis at ${workers.shown}.`);
  println(io, `Open: ${server.openUrl}`);
  println(io, `Every API request needs the access token in that URL (${fromEnv !== undefined ? 'from CRM_SYNC_UI_TOKEN' : 'made for this start; set CRM_SYNC_UI_TOKEN to choose it'}).`);
  if (!isLoopbackHost(host)) {
    println(io, `Listening on ${host}, not only this machine: anyone who can reach port ${server.port} and has the token can read the run history. Use 127.0.0.1 unless you mean it.`);
  }
  println(io, 'Stop with Ctrl-C.');
  options.onListening?.(server);
  await untilStopped(options.signal);
  await server.close();
  if ('close' in store) await store.close();
  return ExitCode.ok;
}

/**
 * The store, or why it cannot be shown. A SQLite file that does not exist is not created: the
 * page says there is nothing yet.
 */
async function openForUi(db: string, shown: string): Promise<CliStore | StoreProblem> {
  if (!databaseExists(db)) {
    return {
      kind: 'empty',
      title: 'No runs recorded yet',
      message: `There is no crm-sync database at ${shown} yet. Run a job (crm-sync run job.yaml --db ${shown}) or the demo (pnpm demo), then reload this page.`,
    };
  }
  const opened = await openStore(db);
  if (opened.isOk()) return opened.value;
  const message = opened.error.message.replace(/^\[crm-sync\] /, '');
  if (/newer than this release/i.test(message)) return { kind: 'newer-schema', title: 'This database is from a newer crm-sync', message };
  if (/damaged|corrupt|malformed|not a database/i.test(message)) return { kind: 'corrupt', title: 'This database file is damaged', message };
  return { kind: 'unreadable', title: 'This database cannot be opened', message };
}

function untilStopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    if (signal?.aborted === true) return stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
}
