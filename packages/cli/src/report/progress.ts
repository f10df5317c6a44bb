/**
 * Progress of a run: a cli-progress bar on a terminal (records, rate, API calls, rejects), plain
 * lines otherwise (CI logs, pipes), nothing with `--json` or `--log-format json` (scripts read
 * the summary; pino carries the rest).
 *
 * @module
 */
import type { RunProgress } from '@crm-sync/sdk';
import cliProgress from 'cli-progress';
import type { TextSink } from '../io.js';

/** Receives a run's progress events. */
interface ProgressReporter {
  update(progress: RunProgress): void;
  /** Ends the bar (or writes the last line, `failed` when the run failed). Call once, after the run. */
  stop(failed?: boolean): void;
}

/** Which reporter: `bar` on a TTY, `lines` when not, `none` for machine output. */
type ProgressStyle = 'bar' | 'lines' | 'none';

/** Picks the style for `sink` and the output flags. */
export function progressStyle(sink: TextSink, machineOutput: boolean): ProgressStyle {
  if (machineOutput) return 'none';
  return sink.isTTY === true ? 'bar' : 'lines';
}

/** A reporter of the given style writing to `sink`; `label` names the operation in each line. */
export function createProgressReporter(style: ProgressStyle, sink: TextSink, label: string): ProgressReporter {
  if (style === 'none') return { update: () => {}, stop: () => {} };
  if (style === 'lines') return lineReporter(sink, label);
  return barReporter(sink, label);
}

/** Lines at phase changes and every 1,000 records: enough to follow a run in a CI log. */
function lineReporter(sink: TextSink, label: string): ProgressReporter {
  let phase = '';
  let lastStep = -1;
  let last: RunProgress | undefined;
  const write = (progress: RunProgress, phase: string = progress.phase) => {
    const total = progress.total === undefined ? '' : `/${progress.total}`;
    sink.write(`${label}: ${phase} ${progress.records}${total} records, ${progress.apiCalls} API calls, ${progress.rejects} rejects\n`);
  };
  return {
    update(progress) {
      last = progress;
      const step = Math.floor(progress.records / 1000);
      if (progress.phase !== phase || step !== lastStep) {
        phase = progress.phase;
        lastStep = step;
        if (progress.phase !== 'done' && progress.phase !== 'validate') write(progress);
      }
    },
    stop(failed = false) {
      if (last !== undefined) write(last, failed ? 'failed at' : 'done');
    },
  };
}

function barReporter(sink: TextSink, label: string): ProgressReporter {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {value}{ofTotal} records | {speed} rec/s | {apiCalls} API calls | {rejects} rejects | {phase}`,
      stream: sink as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const startedAt = Date.now();
  let started = false;
  return {
    update(progress) {
      const elapsedSeconds = Math.max((Date.now() - startedAt) / 1000, 0.001);
      const payload = {
        ofTotal: progress.total === undefined ? '' : `/${progress.total}`,
        speed: Math.round(progress.records / elapsedSeconds),
        apiCalls: progress.apiCalls,
        rejects: progress.rejects,
        phase: progress.phase,
      };
      const total = Math.max(progress.total ?? progress.records, progress.records, 1);
      if (!started) {
        bar.start(total, progress.records, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(progress.records, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
