/**
 * `crm-sync options list|get|set`: the seed's Administration > Options. Watermarks are options
 * (`LASTIMPORT_<instance>_<activity>`), shown and set by hand in `yyyy/MM/dd HH:mm:ss` (UTC).
 *
 * @module
 */
import { DESCRIBE_CACHE_PREFIX, describeHolder, type LeaseStore, type RunLease } from '@crm-sync/sdk';
import { DateTime } from 'luxon';
import { invalidInput, type CliError } from '../cli-error.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { println, type CliIo } from '../io.js';
import { renderTable } from '../report/table.js';
import { databaseExists, openStore, shownDatabase } from '../store.js';
import { reportError } from './report-error.js';

/** The format of a watermark typed by hand, as in the seed. */
const OPTION_DATE_FORMAT = 'yyyy/MM/dd HH:mm:ss';

/** Options common to the `options` sub-commands. */
interface OptionsCommandOptions {
  readonly db: string;
  readonly json?: boolean;
  /** The clock that decides what "in the future" means; tests pass a fixed one. */
  readonly now?: () => Date;
}

/** Checks a watermark typed by hand: format and not in the future. Returns the problem, if any. */
function checkOptionDate(value: string, now: Date): string | undefined {
  const parsed = DateTime.fromFormat(value.trim(), OPTION_DATE_FORMAT, { zone: 'utc' });
  if (!parsed.isValid) {
    return `"${value}" is not a date in the format ${OPTION_DATE_FORMAT} (UTC), e.g. ${DateTime.fromJSDate(now, { zone: 'utc' }).toFormat(OPTION_DATE_FORMAT)}; quote it in the shell: "2024/06/01 08:30:00"`;
  }
  if (parsed.toMillis() > now.getTime()) {
    return `"${value}" is in the future (now is ${DateTime.fromJSDate(now, { zone: 'utc' }).toFormat(OPTION_DATE_FORMAT)} UTC); a watermark in the future would skip every change until then. Give a date in the past`;
  }
  return undefined;
}

/** `options list [prefix]`. */
export async function optionsList(io: CliIo, prefix: string | undefined, options: OptionsCommandOptions): Promise<ExitCodeValue> {
  if (!databaseExists(options.db)) {
    if (options.json === true) println(io, '[]');
    else println(io, `No options yet: the database ${shownDatabase(options.db)} does not exist. Run a job first (crm-sync run <job.yaml>).`);
    return ExitCode.ok;
  }
  const store = await openStore(options.db);
  if (store.isErr()) return reportError(io, store.error);
  try {
    // The describe cache lives in the option store too, under a reserved prefix: it is not a
    // watermark, so it is listed only when asked for by that prefix.
    const all = await store.value.options.listOptions(prefix);
    const showCache = prefix !== undefined && prefix.startsWith(DESCRIBE_CACHE_PREFIX);
    const list = showCache ? all : all.filter((option) => !option.name.startsWith(DESCRIBE_CACHE_PREFIX));
    const hidden = all.length - list.length;
    if (options.json === true) {
      println(io, JSON.stringify(list.map(({ name, value, updatedAt }) => ({ name, value, updatedAt }))));
    } else if (list.length === 0) {
      println(io, prefix === undefined ? 'No options yet.' : `No options starting with "${prefix}".`);
    } else {
      println(io, renderTable(['Name', 'Value', 'Updated (UTC)'], list.map((option) => [option.name, option.value, option.updatedAt])));
    }
    if (hidden > 0 && options.json !== true) {
      println(io, `(${hidden} cached object description${hidden === 1 ? '' : 's'} not shown: crm-sync options list ${DESCRIBE_CACHE_PREFIX})`);
    }
    return ExitCode.ok;
  } finally {
    await store.value.close();
  }
}

/** `options get <name>`. */
export async function optionsGet(io: CliIo, name: string, options: OptionsCommandOptions): Promise<ExitCodeValue> {
  const notFound = (): CliError =>
    invalidInput(`option "${name}" not found in ${shownDatabase(options.db)}; list them with: crm-sync options list`);
  if (!databaseExists(options.db)) return reportError(io, notFound());
  const store = await openStore(options.db);
  if (store.isErr()) return reportError(io, store.error);
  try {
    const option = await store.value.options.getOption(name);
    if (option === undefined) return reportError(io, notFound());
    println(io, options.json === true ? JSON.stringify({ name: option.name, value: option.value, updatedAt: option.updatedAt }) : option.value);
    return ExitCode.ok;
  } finally {
    await store.value.close();
  }
}

/** `options set <name> <yyyy/MM/dd HH:mm:ss>`: validates the format and refuses a future date. */
export async function optionsSet(io: CliIo, name: string, value: string, options: OptionsCommandOptions): Promise<ExitCodeValue> {
  if (!/^[A-Za-z0-9_./-]+$/.test(name)) {
    return reportError(io, invalidInput(`option name "${name}" may use letters, digits, "_", "-", "." and "/" only`));
  }
  const problem = checkOptionDate(value, (options.now ?? (() => new Date()))());
  if (problem !== undefined) return reportError(io, invalidInput(`options set ${name}: ${problem}`));
  const store = await openStore(options.db);
  if (store.isErr()) return reportError(io, store.error);
  try {
    const running = await runningImportOf(store.value.leases, name);
    if (running !== undefined) {
      // The run's next checkpoint would overwrite a watermark set now, or the run would miss it.
      return reportError(io, {
        message: `[crm-sync] options set ${name}: job "${running.key}" is running now (${describeHolder(running)}) and moves this watermark itself; nothing was changed. Set it once the run has finished.`,
        exitCode: ExitCode.jobRunning,
      });
    }
    const normalised = DateTime.fromFormat(value.trim(), OPTION_DATE_FORMAT, { zone: 'utc' }).toFormat(OPTION_DATE_FORMAT);
    await store.value.options.setOption(name, normalised);
    println(io, options.json === true ? JSON.stringify({ name, value: normalised }) : `${name} = ${normalised} (UTC). The next incremental import starts there.`);
    return ExitCode.ok;
  } finally {
    await store.value.close();
  }
}

/**
 * The live lease of the job whose default watermark option is `name`
 * (`LASTIMPORT_<instance>_<activity>`, the job `<instance>/<activity>`), if that job is running.
 * Instance names may hold `_`, so every split is tried.
 */
async function runningImportOf(leases: LeaseStore, name: string): Promise<RunLease | undefined> {
  const prefix = 'LASTIMPORT_';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  for (let at = rest.indexOf('_'); at > 0; at = rest.indexOf('_', at + 1)) {
    const lease = await leases.getLease(`${rest.slice(0, at)}/${rest.slice(at + 1)}`);
    if (lease !== undefined && Date.parse(lease.expiresAt) > Date.now()) return lease;
  }
  return undefined;
}
