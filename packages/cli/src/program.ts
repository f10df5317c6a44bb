/**
 * The `crm-sync` command line (commander): commands, options and help texts. Each action calls a
 * command function that returns an exit code; nothing here calls `process.exit`, so tests run the
 * whole CLI in-process.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { PostgresStoreError } from '@crm-sync/store-postgres';
import { SqliteStoreError } from '@crm-sync/store-sqlite';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { connectorsList } from './commands/connectors-command.js';
import { describeCommand } from './commands/describe-command.js';
import { demoCommand, type DemoCrm } from './commands/demo-command.js';
import { journalList, journalPrune, journalShow } from './commands/journal-command.js';
import { optionsGet, optionsList, optionsSet } from './commands/options-command.js';
import { enqueueCommand, scheduleAdd, scheduleList, scheduleRemove, workersStatus } from './commands/queue-commands.js';
import { runCommand } from './commands/run-command.js';
import { workerCommand } from './commands/worker-command.js';
import { DEFAULT_HISTORY_RETENTION, runsList, runsPrune, runsShow } from './commands/runs-command.js';
import { DEFAULT_UI_PORT, uiCommand } from './commands/ui-command.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import type { CliIo } from './io.js';
import type { LogFormat } from './report/logger.js';
import { DURATION_HINT, parseDuration } from './job/duration.js';
import { databasePath } from './store.js';

const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  the run failed (CRM, store or in-doubt records); nothing is reported as done that was not
  2  invalid input (job file, accounts, arguments); nothing was changed
  3  finished with rejected records and --fail-on-rejects was given
  4  the job is already running (another process holds its lease); nothing was read or written
  130  interrupted (Ctrl-C); it says what the run left and the command that resumes it

Docs: docs/cli.md`;

/** Runs the CLI with `argv` (without `node` and the script) and resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCodeValue> {
  let exitCode: ExitCodeValue = ExitCode.ok;
  const set = (code: ExitCodeValue) => {
    exitCode = code;
  };
  const program = buildProgram(io, set);
  try {
    // `pnpm demo -- --keep` passes the `--` through; options after it are still options here.
    const args = argv.filter((arg, index) => !(arg === '--' && (argv[index + 1] ?? '').startsWith('-')));
    await program.parseAsync(args, { from: 'user' });
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      // Help asked for (--help, help) is ok; help shown because no command was given
      // (`crm-sync`, `crm-sync journal`) is a usage error, like an unknown command.
      if (thrown.code === 'commander.helpDisplayed' || thrown.code === 'commander.version') return ExitCode.ok;
      if (thrown.code === 'commander.help') return thrown.exitCode === 0 ? ExitCode.ok : ExitCode.invalidInput;
      return ExitCode.invalidInput;
    }
    // A store call that failed (a damaged file found by a read, a disk full, a lock held past the
    // timeout) is a run failure with the store's message (what, where, what to do), not a stack.
    if (thrown instanceof SqliteStoreError || thrown instanceof PostgresStoreError) {
      io.stderr.write(`${thrown.message}\n`);
      return ExitCode.runFailed;
    }
    throw thrown;
  }
  return exitCode;
}

/**
 * An option parser for a whole number of at least `min`. `Number.parseInt` alone lets `abc` through
 * as NaN (the demo then seeded "NaN sample contacts", and `journal show --limit abc` crashed in
 * the store); commander turns this error into an exit 2 that names the option and the value.
 */
function wholeNumberAtLeast(min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value.trim());
    if (value.trim() === '' || !Number.isInteger(parsed) || parsed < min) {
      throw new InvalidArgumentError(`expected a whole number of at least ${min}, e.g. ${Math.max(min, 100)}.`);
    }
    return parsed;
  };
}

/** An option parser for a duration (`30s`, `10m`, ...), in milliseconds; a bad one exits 2 naming the value. */
function durationOption(value: string): number {
  const parsed = parseDuration(value);
  if (parsed === undefined) throw new InvalidArgumentError(`expected ${DURATION_HINT}.`);
  return parsed;
}

/** The version in this package's package.json (one level up from both `src/` and `dist/`). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Fewer sample contacts leave the demo's steps nothing to change, reject or delete. */
const DEMO_MIN_CONTACTS = 50;

function buildProgram(io: CliIo, setExitCode: (code: ExitCodeValue) => void): Command {
  const program = new Command('crm-sync');
  program
    .description('Keep your database and a CRM in step: run sync jobs from YAML files against an embedded SQLite database.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`[crm-sync] ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(run crm-sync --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP);

  const dbOption = () =>
    new Option(
      '--db <file|url>',
      "database: a SQLite file or a postgres://user@host/db URL (?schema=name; default .crm-sync/crm-sync.sqlite, or $CRM_SYNC_DB, or the accounts file's database:)",
    );
  const accountsOption = () => new Option('--accounts <file>', 'accounts file (default ./crm-sync.accounts.yaml, or $CRM_SYNC_ACCOUNTS)');
  const waitOption = () =>
    new Option('--wait <duration>', 'when the job is already running, wait up to this long (e.g. 30s, 10m) instead of exiting 4').argParser(durationOption);
  const retentionOption = () =>
    new Option(
      '--history-retention <duration>',
      `after the run, prune run history older than this (e.g. 30d), or off (default ${DEFAULT_HISTORY_RETENTION}, or $CRM_SYNC_HISTORY_RETENTION)`,
    );
  const logFormatOption = () => new Option('--log-format <format>', 'log format on stderr').choices(['pretty', 'json']).default('pretty');

  program
    .command('run')
    .description('run the job described by a job file')
    .argument('<job.yaml>', 'the job file')
    .addOption(accountsOption())
    .addOption(dbOption())
    .option('--dry-run', 'check the job and show the plan and estimated API calls; change nothing')
    .option('--json', 'print one JSON summary on stdout (for scripts)')
    .addOption(logFormatOption())
    .option('--fail-on-rejects', 'exit 3 when records were rejected')
    .option('--resume', 'exports: resume an interrupted run of this job (the default)')
    .option('--no-resume', 'exports: close an interrupted run as failed and start afresh')
    .addOption(waitOption())
    .addOption(retentionOption())
    .option('--verbose', 'debug logs')
    .action(async (jobPath: string, options: { accounts?: string; db?: string; dryRun?: boolean; json?: boolean; logFormat: LogFormat; failOnRejects?: boolean; resume?: boolean; wait?: number; historyRetention?: string; verbose?: boolean }) => {
      setExitCode(await runCommand(io, jobPath, options));
    });

  const options = program.command('options').description("read or set options, e.g. an import's watermark (like Administration > Options in Adobe Campaign)");
  options
    .command('list')
    .description('list options (watermarks are named LASTIMPORT_<instance>_<activity>)')
    .argument('[prefix]', 'only options whose name starts with this')
    .addOption(dbOption())
    .option('--json', 'print JSON')
    .action(async (prefix: string | undefined, flags: { db?: string; json?: boolean }) => {
      setExitCode(await optionsList(io, prefix, { db: databasePath(io, flags.db), ...(flags.json ? { json: true } : {}) }));
    });
  options
    .command('get')
    .description("print an option's value")
    .argument('<name>', 'the option name')
    .addOption(dbOption())
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { db?: string; json?: boolean }) => {
      setExitCode(await optionsGet(io, name, { db: databasePath(io, flags.db), ...(flags.json ? { json: true } : {}) }));
    });
  options
    .command('set')
    .description('set an option to a date in yyyy/MM/dd HH:mm:ss (UTC), e.g. to replay an import from that point')
    .argument('<name>', 'the option name')
    .argument('<value>', 'yyyy/MM/dd HH:mm:ss, quoted: "2024/06/01 08:30:00"')
    .addOption(dbOption())
    .option('--json', 'print JSON')
    .action(async (name: string, value: string, flags: { db?: string; json?: boolean }) => {
      setExitCode(await optionsSet(io, name, value, { db: databasePath(io, flags.db), ...(flags.json ? { json: true } : {}) }));
    });

  const journal = program.command('journal').description('inspect export journals; resume an interrupted export');
  journal
    .command('list')
    .description('list export runs, newest first')
    .argument('[job]', 'only runs of this job id (<instance>/<activity>)')
    .addOption(dbOption())
    .option('--json', 'print JSON')
    .action(async (jobId: string | undefined, flags: { db?: string; json?: boolean }) => {
      setExitCode(await journalList(io, jobId, { db: databasePath(io, flags.db), ...(flags.json ? { json: true } : {}) }));
    });
  journal
    .command('show')
    .description("show one run's counts and entries")
    .argument('<runId>', 'the run id (from journal list)')
    .addOption(dbOption())
    .addOption(new Option('--state <state...>', 'only entries in these states').choices(['pending', 'sent', 'committed', 'rejected', 'unknown']))
    .option('--limit <n>', 'most entries to print', wholeNumberAtLeast(0), 50)
    .option('--json', 'print JSON')
    .action(async (runId: string, flags: { db?: string; json?: boolean; state?: ('pending' | 'sent' | 'committed' | 'rejected' | 'unknown')[]; limit: number }) => {
      setExitCode(
        await journalShow(io, runId, {
          db: databasePath(io, flags.db),
          limit: flags.limit,
          ...(flags.state !== undefined ? { states: flags.state } : {}),
          ...(flags.json ? { json: true } : {}),
        }),
      );
    });
  journal
    .command('prune')
    .description('delete closed export runs that finished longer ago (never an open run or one with records in doubt)')
    .option('--older-than <duration>', 'runs that finished longer ago than this are deleted, e.g. 30d or 12h', '30d')
    .option('--dry-run', 'say what would be deleted; delete nothing')
    .addOption(dbOption())
    .option('--json', 'print JSON')
    .action(async (flags: { db?: string; json?: boolean; olderThan: string; dryRun?: boolean }) => {
      setExitCode(
        await journalPrune(io, {
          db: databasePath(io, flags.db),
          olderThan: flags.olderThan,
          ...(flags.dryRun ? { dryRun: true } : {}),
          ...(flags.json ? { json: true } : {}),
        }),
      );
    });
  journal
    .command('resume')
    .description('resume the interrupted export of a job: no record is sent twice, none is lost')
    .argument('<job.yaml>', 'the export job file')
    .addOption(accountsOption())
    .addOption(dbOption())
    .option('--json', 'print one JSON summary on stdout')
    .addOption(logFormatOption())
    .option('--fail-on-rejects', 'exit 3 when records were rejected')
    .addOption(waitOption())
    .addOption(retentionOption())
    .action(async (jobPath: string, flags: { accounts?: string; db?: string; json?: boolean; logFormat: LogFormat; failOnRejects?: boolean; wait?: number; historyRetention?: string }) => {
      setExitCode(await runCommand(io, jobPath, { ...flags, resume: true, resumeOnly: true }));
    });

  const connectors = program.command('connectors').description('the connectors this crm-sync can use: built-in ones and installed plugins');
  connectors
    .command('list')
    .description('list built-in connectors and the plugins installed here (packages with the keyword crm-sync-connector), with versions and capabilities')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      setExitCode(await connectorsList(io, flags.json === true ? { json: true } : {}));
    });
  const runs = program.command('runs').description('the run history: what ran, how long, how many records and API calls, what was rejected');
  runs
    .command('list')
    .description('list recorded runs, newest first')
    .option('--job <job>', 'only runs of this job (<instance>/<activity>) or activity')
    .addOption(new Option('--status <status>', 'only runs in this status').choices(['running', 'succeeded', 'failed', 'interrupted']))
    .addOption(new Option('--operation <operation>', 'only runs of this operation').choices(['import', 'export', 'import-deleted', 'delete']))
    .option('--since <when>', 'only runs started since: a duration back from now (24h, 7d) or a date (2024-06-01, "2024/06/01 08:00:00", UTC)')
    .option('--limit <n>', 'most runs to print', wholeNumberAtLeast(1), 50)
    .addOption(dbOption())
    .option('--json', 'print JSON')
    .action(async (flags: { job?: string; status?: 'running' | 'succeeded' | 'failed' | 'interrupted'; operation?: 'import' | 'export' | 'import-deleted' | 'delete'; since?: string; limit: number; db?: string; json?: boolean }) => {
      setExitCode(
        await runsList(io, {
          db: databasePath(io, flags.db),
          limit: flags.limit,
          ...(flags.job !== undefined ? { job: flags.job } : {}),
          ...(flags.status !== undefined ? { status: flags.status } : {}),
          ...(flags.operation !== undefined ? { operation: flags.operation } : {}),
          ...(flags.since !== undefined ? { since: flags.since } : {}),
          ...(flags.json ? { json: true } : {}),
        }),
      );
    });
  runs
    .command('show')
    .description("show one run: summary, variables, API calls, error, rejects, samples, journal link")
    .argument('<run>', 'the run id (from runs list)')
    .option('--rejects <n>', 'most rejects to print', wholeNumberAtLeast(0), 20)
    .option('--search <text>', 'only rejects containing this text (code, symbol, message, keys, fields; any case)')
    .addOption(dbOption())
    .option('--json', 'print JSON (the run, its rejects and every sample, for plotting)')
    .action(async (runId: string, flags: { rejects: number; search?: string; db?: string; json?: boolean }) => {
      setExitCode(
        await runsShow(io, runId, {
          db: databasePath(io, flags.db),
          rejects: flags.rejects,
          ...(flags.search !== undefined ? { search: flags.search } : {}),
          ...(flags.json ? { json: true } : {}),
        }),
      );
    });
  runs
    .command('prune')
    .description('delete the runs that started longer ago than --older-than, with their samples and rejects')
    .requiredOption('--older-than <duration>', 'e.g. 90d, 12h')
    .addOption(dbOption())
    .option('--json', 'print JSON')
    .action(async (flags: { olderThan: string; db?: string; json?: boolean }) => {
      setExitCode(await runsPrune(io, { db: databasePath(io, flags.db), olderThan: flags.olderThan, ...(flags.json ? { json: true } : {}) }));
    });

  program
    .command('describe')
    .description('list the objects of a CRM, or the fields of one object with their types')
    .argument('[object]', 'the object (e.g. contact, Contact); omit to list objects')
    .requiredOption('--account <name>', 'the account (from the accounts file or environment)')
    .option('--connector <id>', "the connector (default: the account's)")
    .addOption(accountsOption())
    .option('--json', 'print JSON')
    .action(async (object: string | undefined, flags: { account: string; connector?: string; accounts?: string; json?: boolean }) => {
      setExitCode(await describeCommand(io, object, flags));
    });

  program
    .command('ui')
    .description('serve the dashboard (runs, rejects, journals, watermarks, workers) read-only on 127.0.0.1, until Ctrl-C')
    .addOption(dbOption())
    .option('--port <port>', `the port (0: any free port)`, wholeNumberAtLeast(0), DEFAULT_UI_PORT)
    .option('--host <host>', 'the address to bind; anything but 127.0.0.1/localhost/::1 serves other machines too (token required, see CRM_SYNC_UI_TOKEN)', '127.0.0.1')
    .addOption(new Option('--redis <url>', 'Redis of the distributed workers, to show their queues, workers and schedules (default $CRM_SYNC_REDIS_URL; without either, workers are not shown)'))
    .addOption(new Option('--prefix <prefix>', 'key prefix of the queues (default crm-sync), as the workers use it'))
    .action(async (flags: { db?: string; port: number; host: string; redis?: string; prefix?: string }) => {
      setExitCode(
        await uiCommand(io, {
          db: databasePath(io, flags.db),
          port: flags.port,
          host: flags.host,
          ...(flags.redis === undefined ? {} : { redis: flags.redis }),
          ...(flags.prefix === undefined ? {} : { prefix: flags.prefix }),
        }),
      );
    });

  program
    .command('demo')
    .description('run the whole workflow on a sample CRM: import, incremental import, export with a reject, deleted records, delete')
    .addOption(new Option('--crm <crm>', 'which CRM to run against').choices(['salesforce', 'dynamics', 'mock']).default('salesforce'))
    .option('--db <file|url>', 'the SQLite file, or a postgres://user@host/db URL (the demo uses schema crm_sync_demo, dropped first)', '.crm-sync/demo.sqlite')
    .option('--fresh', 'start from an empty database (the default)')
    .option('--keep', 'keep the database of the previous demo: the first import is then incremental')
    .option('--contacts <n>', 'sample contacts to generate (at least 50)', wholeNumberAtLeast(DEMO_MIN_CONTACTS), 3000)
    .option('--ui', 'then serve the dashboard on the demo database (crm-sync ui) and open it, until Ctrl-C')
    .action(async (flags: { crm: DemoCrm; db: string; fresh?: boolean; keep?: boolean; contacts: number; ui?: boolean }) => {
      setExitCode(await demoCommand(io, flags));
    });
  const redisOption = () => new Option('--redis <url>', 'Redis of the queues (default $CRM_SYNC_REDIS_URL, or redis://127.0.0.1:6379)');
  const prefixOption = () => new Option('--prefix <prefix>', 'key prefix of the queues (default crm-sync); every worker and enqueuer of one installation uses the same');

  program
    .command('worker')
    .description('run a worker of distributed runs: take jobs of the accounts in the accounts file from Redis (BullMQ) and run them on the shared PostgreSQL store; SIGTERM stops it gracefully')
    .addOption(redisOption())
    .addOption(dbOption())
    .addOption(accountsOption())
    .addOption(prefixOption())
    .option('--concurrency <n>', 'jobs of one account this process runs at once (default 4)', wholeNumberAtLeast(1))
    .option('--capacity <n>', 'jobs this process runs at once over all its accounts (default: no limit beyond --concurrency per account); at capacity it leaves jobs to other workers', wholeNumberAtLeast(1))
    .option('--grace <duration>', 'on SIGTERM, how long running jobs may take to finish before they stop at a safe point and go back on the queue (default 30s)', durationOption)
    .addOption(logFormatOption())
    .option('--verbose', 'debug logs')
    .action(async (flags: { redis?: string; db?: string; accounts?: string; prefix?: string; concurrency?: number; capacity?: number; grace?: number; logFormat: LogFormat; verbose?: boolean }) => {
      setExitCode(await workerCommand(io, flags));
    });

  program
    .command('enqueue')
    .description('queue a job file for the workers and print its BullMQ job id; with --wait, print the summary and exit as crm-sync run would')
    .argument('<job>', 'the job file (YAML)')
    .addOption(redisOption())
    .addOption(prefixOption())
    .option('--wait', 'wait until a worker has run it; print its summary and exit with its exit code')
    .option('--fail-on-rejects', 'with --wait: exit 3 when records were rejected')
    .option('--json', 'print JSON (for scripts)')
    .action(async (jobPath: string, flags: { redis?: string; prefix?: string; wait?: boolean; failOnRejects?: boolean; json?: boolean }) => {
      setExitCode(await enqueueCommand(io, jobPath, flags));
    });

  const schedule = program.command('schedule').description('run job files on a schedule on the workers (once per period, however many workers run)');
  schedule
    .command('add')
    .description('add (or replace) the schedule of a job file')
    .argument('<job>', 'the job file (YAML)')
    .option('--every <duration>', 'period, e.g. 15m (at least 1s)')
    .option('--cron <pattern>', 'cron pattern, e.g. "*/15 * * * *"')
    .option('--tz <zone>', 'time zone of the cron pattern, e.g. Europe/Amsterdam')
    .option('--id <id>', "the schedule's id (default the job's key, <instance>/<activity>)")
    .addOption(redisOption())
    .addOption(prefixOption())
    .option('--json', 'print JSON')
    .action(async (jobPath: string, flags: { every?: string; cron?: string; tz?: string; id?: string; redis?: string; prefix?: string; json?: boolean }) => {
      setExitCode(await scheduleAdd(io, jobPath, flags));
    });
  schedule
    .command('list')
    .description('list the schedules with their next firing')
    .addOption(redisOption())
    .addOption(prefixOption())
    .option('--json', 'print JSON')
    .action(async (flags: { redis?: string; prefix?: string; json?: boolean }) => {
      setExitCode(await scheduleList(io, flags));
    });
  schedule
    .command('remove')
    .description('remove a schedule by id')
    .argument('<id>', 'the schedule id (see schedule list)')
    .addOption(redisOption())
    .addOption(prefixOption())
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { redis?: string; prefix?: string; json?: boolean }) => {
      setExitCode(await scheduleRemove(io, id, flags));
    });

  const workers = program.command('workers').description('distributed runs: the queues, workers and schedules');
  workers
    .command('status')
    .description('queues (waiting, active, delayed, failed, completed; paused accounts and why), live workers, schedules')
    .addOption(redisOption())
    .addOption(prefixOption())
    .option('--json', 'print JSON (the WorkersStatus shape of @crm-sync/worker-bullmq)')
    .action(async (flags: { redis?: string; prefix?: string; json?: boolean }) => {
      setExitCode(await workersStatus(io, flags));
    });

  return program;
}
