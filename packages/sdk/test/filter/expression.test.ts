import { describe, expect, it } from 'vitest';
import { evaluateExpression, parseExpression } from '../../src/index.js';

const now = new Date('2024-03-31T12:00:00.000Z'); // the day Europe/Amsterdam springs forward
const context = { now, timeZone: 'Europe/Amsterdam', variables: { minScore: 7, since: '2012-11-01', at: '2024-01-01T10:00:00Z', start: '2024/03/30 22:15:00', bad: 'x' } };
const value = (source: string) => evaluateExpression(source, context)._unsafeUnwrap();
const error = (source: string) => evaluateExpression(source, context)._unsafeUnwrapErr();

describe('expression evaluator', () => {
  it('does arithmetic with precedence and parentheses', () => {
    expect(value('1 + 2 * 3')).toEqual({ kind: 'number', value: 7 });
    expect(value('(1 + 2) * 3')).toEqual({ kind: 'number', value: 9 });
    expect(value('-vars.minScore / 2')).toEqual({ kind: 'number', value: -3.5 });
    expect(value('1.5e2 - .5')).toEqual({ kind: 'number', value: 149.5 });
  });

  it('reads job variables as numbers, dates or date-times', () => {
    expect(value('vars.minScore * 2')).toEqual({ kind: 'number', value: 14 });
    expect(value('vars.since')).toEqual({ kind: 'date', value: '2012-11-01' });
    expect(value('vars.at')).toEqual({ kind: 'datetime', value: '2024-01-01T10:00:00.000Z' });
    // crmStartImport-style watermark text is UTC, whatever the job zone.
    expect(value('vars.start')).toEqual({ kind: 'datetime', value: '2024-03-30T22:15:00.000Z' });
    expect(value('addDays(vars.start, -1)')).toEqual({ kind: 'datetime', value: '2024-03-29T22:15:00.000Z' });
  });

  it('evaluates date functions in the job time zone, calendar-day safe across DST', () => {
    expect(value('now()')).toEqual({ kind: 'datetime', value: '2024-03-31T12:00:00.000Z' });
    expect(value('today()')).toEqual({ kind: 'date', value: '2024-03-31' });
    // 14:00 Amsterdam summer time one calendar day back is 13:00 winter time (UTC+1): 12:00Z.
    expect(value('daysAgo(1)')).toEqual({ kind: 'datetime', value: '2024-03-30T13:00:00.000Z' });
    expect(value('hoursAgo(2)')).toEqual({ kind: 'datetime', value: '2024-03-31T10:00:00.000Z' });
    expect(value("date('2012-11-01')")).toEqual({ kind: 'date', value: '2012-11-01' });
    expect(value("datetime('2012-11-01T00:00:00Z')")).toEqual({ kind: 'datetime', value: '2012-11-01T00:00:00.000Z' });
    expect(value("addDays(date('2012-11-01'), 30)")).toEqual({ kind: 'date', value: '2012-12-01' });
    expect(value('startOfDay(now())')).toEqual({ kind: 'datetime', value: '2024-03-30T23:00:00.000Z' });
  });

  it('reports syntax errors with their position', () => {
    expect(error('1 +')).toMatchObject({ kind: 'expression', position: 3 });
    expect(error('daysAgo(30')).toMatchObject({ position: 10 });
    expect(error('1 $ 2')).toMatchObject({ position: 2 });
    expect(error('foo(1)').message).toContain('unknown name "foo"');
    expect(error('daysAgo()').message).toContain('takes 1 argument');
    expect(error("date('2012")).toMatchObject({ position: 5 });
    expect(error('1 2')).toMatchObject({ position: 2 });
  });

  it('reports evaluation errors with their position', () => {
    expect(error('today() + 1')).toMatchObject({ position: 8 });
    expect(error('today() + 1').message).toContain('addDays');
    expect(error('1 + vars.nope')).toMatchObject({ position: 4 });
    expect(error('1 + vars.nope').message).toContain('known: minScore');
    expect(error('vars.bad').message).toContain('neither a number nor a date');
    expect(error('1 / 0').message).toContain('division by zero');
    expect(error("date('2012-11-01T00:00:00Z')").message).toContain('date() needs');
    expect(error("'text'").message).toContain('string is not a value');
  });

  it('never runs code', () => {
    expect(parseExpression('process.exit(1)').isErr()).toBe(true);
    expect(parseExpression('constructor.constructor("return 1")()').isErr()).toBe(true);
  });
});
