import type { RunProgress } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { createProgressReporter, progressStyle } from '../src/report/progress.js';

const event = (records: number, phase: RunProgress['phase'], rejects = 0): RunProgress => ({
  operation: 'export',
  activity: 'exportContacts',
  phase,
  records,
  rejects,
  apiCalls: Math.ceil(records / 200),
  total: 2500,
});

describe('progress reporting', () => {
  it('picks a bar on a terminal, lines in a log, nothing for machine output', () => {
    expect(progressStyle({ write: () => true, isTTY: true }, false)).toBe('bar');
    expect(progressStyle({ write: () => true }, false)).toBe('lines');
    expect(progressStyle({ write: () => true, isTTY: true }, true)).toBe('none');
  });

  it('writes a line per phase and per 1,000 records, then the final state', () => {
    let text = '';
    const reporter = createProgressReporter('lines', { write: (chunk: string) => (text += chunk) }, 'export contact');
    for (const records of [0, 200, 400, 1000, 1200, 2400, 2500]) reporter.update(event(records, 'write', records >= 2400 ? 1 : 0));
    reporter.stop();
    expect(text.split('\n').filter(Boolean)).toEqual([
      'export contact: write 0/2500 records, 0 API calls, 0 rejects',
      'export contact: write 1000/2500 records, 5 API calls, 0 rejects',
      'export contact: write 2400/2500 records, 12 API calls, 1 rejects',
      'export contact: done 2500/2500 records, 13 API calls, 1 rejects',
    ]);
  });

  it('says "failed at" when the run failed', () => {
    let text = '';
    const reporter = createProgressReporter('lines', { write: (chunk: string) => (text += chunk) }, 'import contact');
    reporter.update({ ...event(300, 'read'), operation: 'import' });
    reporter.stop(true);
    expect(text.trim().split('\n').at(-1)).toBe('import contact: failed at 300/2500 records, 2 API calls, 0 rejects');
  });

  it('draws a bar with records, rate, API calls and rejects on a terminal', () => {
    let text = '';
    const sink = { write: (chunk: string) => ((text += chunk), true), isTTY: true, columns: 200, cursorTo: () => true, clearLine: () => true, moveCursor: () => true };
    const reporter = createProgressReporter('bar', sink, 'export contact');
    reporter.update(event(1200, 'write', 2));
    reporter.stop();
    expect(text).toMatch(/export contact \|.+\| 1200\/2500 records \| \d+ rec\/s \| 6 API calls \| 2 rejects \| write/);
  });
});
