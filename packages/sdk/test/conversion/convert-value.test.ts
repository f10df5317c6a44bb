import { describe, expect, it } from 'vitest';
import { isValidTimeZone, toLocalValue, toRemoteValue, type ConversionMode, type FieldDescription } from '../../src/index.js';
import { field } from '../fixtures/contact.js';

const instant = field('LastModifiedDate', { type: 'datetime', timeSemantics: 'instant' });
const dateOnly = field('Birthdate', { type: 'date', timeSemantics: 'date-only' });
const floating = field('Meeting', { type: 'datetime', timeSemantics: 'floating' });
const integer = field('Score', { type: 'integer' });
const decimal = field('Revenue', { type: 'currency' });
const flag = field('DoNotCall', { type: 'boolean' });
const text = field('LastName');

const AMS = 'Europe/Amsterdam';
const NY = 'America/New_York';
const local = (value: string | number | boolean | null, f: FieldDescription, mode: ConversionMode = 'default', zone = AMS) =>
  toLocalValue(value, f, mode, zone)._unsafeUnwrap();
const remote = (value: string | number | boolean | null, f: FieldDescription, mode: ConversionMode = 'default', zone = AMS) =>
  toRemoteValue(value, f, mode, zone)._unsafeUnwrap();

describe('default conversion of instants', () => {
  it('shows an instant with the job zone offset on both sides of the Amsterdam spring-forward', () => {
    expect(local('2024-03-31T00:30:00.000Z', instant)).toBe('2024-03-31T01:30:00.000+01:00');
    expect(local('2024-03-31T01:30:00.000Z', instant)).toBe('2024-03-31T03:30:00.000+02:00');
    expect(remote('2024-03-31T03:30:00.000+02:00', instant)).toBe('2024-03-31T01:30:00.000Z');
    expect(remote('2024-03-31T01:30:00.000+01:00', instant)).toBe('2024-03-31T00:30:00.000Z');
  });

  it('keeps both instants of the repeated Amsterdam hour apart on fall-back day', () => {
    expect(local('2024-10-27T00:30:00.000Z', instant)).toBe('2024-10-27T02:30:00.000+02:00');
    expect(local('2024-10-27T01:30:00.000Z', instant)).toBe('2024-10-27T02:30:00.000+01:00');
    expect(remote('2024-10-27T02:30:00.000+01:00', instant)).toBe('2024-10-27T01:30:00.000Z');
  });

  it('handles New York DST days and round-trips', () => {
    expect(local('2024-03-10T06:30:00.000Z', instant, 'default', NY)).toBe('2024-03-10T01:30:00.000-05:00');
    expect(local('2024-03-10T07:30:00.000Z', instant, 'default', NY)).toBe('2024-03-10T03:30:00.000-04:00');
    expect(local('2024-11-03T05:30:00.000Z', instant, 'default', NY)).toBe('2024-11-03T01:30:00.000-04:00');
    expect(local('2024-11-03T06:30:00.000Z', instant, 'default', NY)).toBe('2024-11-03T01:30:00.000-05:00');
    for (const value of ['2024-03-10T06:59:59.999Z', '2024-03-10T07:00:00.000Z', '2024-11-03T05:59:00.000Z', '2024-11-03T06:00:00.000Z']) {
      expect(remote(local(value, instant, 'default', NY) as string, instant, 'default', NY)).toBe(value);
    }
  });

  it('reads a local wall-clock time without offset in the job zone, moving a DST-gap time forward', () => {
    expect(remote('2024-01-15T10:00:00', instant)).toBe('2024-01-15T09:00:00.000Z');
    expect(remote('2024-03-31T02:30:00', instant)).toBe('2024-03-31T01:30:00.000Z');
    expect(remote('2024-03-10T02:30', instant, 'default', NY)).toBe('2024-03-10T07:30:00.000Z');
    expect(remote(Date.UTC(2024, 0, 1), instant)).toBe('2024-01-01T00:00:00.000Z');
  });

  it('refuses text that is not a date-time, naming the field and value', () => {
    const error = toRemoteValue('yesterday', instant, 'default', AMS)._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'conversion', field: 'LastModifiedDate', value: 'yesterday' });
    expect(error.message).toMatch(/^\[crm-sync\] \[conversion\] field "LastModifiedDate" \(datetime\): value "yesterday"/);
    expect(toLocalValue('2024-13-01T00:00:00Z', instant, 'default', AMS).isErr()).toBe(true);
    expect(toLocalValue('2023-02-29T10:00:00.000Z', instant, 'default', AMS).isErr()).toBe(true);
    expect(toRemoteValue('2024-03-31T24:00:00.000Z', instant, 'default', AMS).isErr()).toBe(true);
    expect(toRemoteValue('2024-03-31T10:61', instant, 'default', AMS).isErr()).toBe(true);
    // The 29-character shape this SDK writes has its own fast parser: it must refuse the same things.
    expect(toRemoteValue('2023-02-29T10:00:00.000+01:00', instant, 'default', AMS).isErr()).toBe(true);
    expect(toRemoteValue('2024-03-31T10:00:00.000+0a:00', instant, 'default', AMS).isErr()).toBe(true);
    expect(toRemoteValue('2024-03-31T25:00:00.000+01:00', instant, 'default', AMS).isErr()).toBe(true);
    expect(remote('2024-03-31T10:00:00.000-04:30', instant)).toBe('2024-03-31T14:30:00.000Z');
    expect(remote('0050-01-01T00:00:00.000+00:00', instant)).toBe('0050-01-01T00:00:00.000Z');
  });
});

describe('round trips', () => {
  it('brings every instant back unchanged through local text, in every zone, 1900 to 2100', () => {
    let ms = Date.UTC(1900, 0, 1);
    const end = Date.UTC(2100, 0, 1);
    for (const zone of [AMS, NY, 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'UTC']) {
      for (let step = 0; step < 2_000; step += 1) {
        ms = Date.UTC(1900, 0, 1) + ((ms * 48_271 + 12_345) % (end - Date.UTC(1900, 0, 1)));
        const value = new Date(ms).toISOString();
        const shown = local(value, instant, 'default', zone) as string;
        expect(remote(shown, instant, 'default', zone), `${zone} ${value} via ${shown}`).toBe(value);
        expect(remote(local(value, instant, 'without-time-offset', zone) as string, instant, 'without-time-offset', zone)).toBe(value);
      }
    }
  });
});

describe('date-only fields are never shifted', () => {
  it('keeps YYYY-MM-DD in every mode, zone and direction, on DST days', () => {
    for (const mode of ['default', 'date-only', 'without-time-offset'] as const) {
      for (const zone of [AMS, NY, 'Pacific/Kiritimati', 'Pacific/Pago_Pago']) {
        expect(local('2024-03-31', dateOnly, mode, zone)).toBe('2024-03-31');
        expect(remote('2024-03-31', dateOnly, mode, zone)).toBe('2024-03-31');
        expect(remote('2024-11-03', dateOnly, mode, zone)).toBe('2024-11-03');
      }
    }
  });

  it('refuses impossible dates', () => {
    expect(toLocalValue('2023-02-29', dateOnly, 'default', AMS).isErr()).toBe(true);
    expect(toRemoteValue('2023-02-30', dateOnly, 'default', AMS).isErr()).toBe(true);
  });

  it('takes the date in the job zone of a local date-time with an offset', () => {
    expect(remote('2024-03-31T23:30:00.000-04:00', dateOnly)).toBe('2024-04-01');
  });
});

describe('date-only mode on date-times', () => {
  it('drops the time, taking the date in the job zone', () => {
    expect(local('2024-03-30T23:30:00.000Z', instant, 'date-only')).toBe('2024-03-31');
    expect(local('2024-03-10T04:59:59.000Z', instant, 'date-only', NY)).toBe('2024-03-09');
    expect(local('2024-03-10T05:00:00.000Z', instant, 'date-only', NY)).toBe('2024-03-10');
    expect(local('2024-03-31T22:15:00.000', floating, 'date-only')).toBe('2024-03-31');
  });

  it('sends a date back as midnight in the job zone, with the right offset either side of DST', () => {
    expect(remote('2024-03-10', instant, 'date-only', NY)).toBe('2024-03-10T05:00:00.000Z');
    expect(remote('2024-03-11', instant, 'date-only', NY)).toBe('2024-03-11T04:00:00.000Z');
    expect(remote('2024-03-31', instant, 'date-only')).toBe('2024-03-30T23:00:00.000Z');
    expect(remote('2024-04-01', instant, 'date-only')).toBe('2024-03-31T22:00:00.000Z');
    expect(remote('2024-04-01', floating, 'date-only')).toBe('2024-04-01T00:00:00.000');
  });

  it('refuses date-only on a field that holds no date', () => {
    const error = toLocalValue(3, integer, 'date-only', AMS)._unsafeUnwrapErr();
    expect(error.message).toContain('cannot use conversion "date-only"');
  });
});

describe('without-time-offset mode', () => {
  it('keeps the wall-clock digits with no zone shift, both ways', () => {
    expect(local('2024-03-31T10:00:00.000Z', instant, 'without-time-offset')).toBe('2024-03-31T10:00:00.000');
    expect(remote('2024-03-31T10:00:00.000', instant, 'without-time-offset')).toBe('2024-03-31T10:00:00.000Z');
    expect(remote('2024-03-31T10:00:00.000+02:00', instant, 'without-time-offset')).toBe('2024-03-31T10:00:00.000Z');
    expect(remote('2024-03-31T02:30:00', instant, 'without-time-offset')).toBe('2024-03-31T02:30:00.000Z');
  });
});

describe('floating date-times', () => {
  it('stay wall-clock by default and show offset texts in the job zone going back', () => {
    expect(local('2024-03-31T02:30:00.000', floating)).toBe('2024-03-31T02:30:00.000');
    expect(remote('2024-03-31T02:30:00', floating)).toBe('2024-03-31T02:30:00.000');
    expect(remote('2024-03-31T10:00:00.000Z', floating)).toBe('2024-03-31T12:00:00.000');
  });
});

describe('copy-paste mode', () => {
  it('takes the raw value as text and sends text back unchanged', () => {
    expect(local('2024-03-31T10:00:00.000Z', instant, 'copy-paste')).toBe('2024-03-31T10:00:00.000Z');
    expect(local(12, integer, 'copy-paste')).toBe('12');
    expect(local(true, flag, 'copy-paste')).toBe('true');
    expect(local(null, integer, 'copy-paste')).toBeNull();
    expect(remote('anything at all', instant, 'copy-paste')).toBe('anything at all');
  });
});

describe('default conversion of scalars', () => {
  it('checks and converts numbers', () => {
    expect(remote('12', integer)).toBe(12);
    expect(remote(' -3 ', integer)).toBe(-3);
    expect(remote('12.5', decimal)).toBe(12.5);
    expect(local(7, integer)).toBe(7);
    const error = toRemoteValue('abc', integer, 'default', AMS)._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'conversion', field: 'Score', value: 'abc' });
    expect(error.message).toContain('field "Score" (integer): value "abc" is not a number');
    expect(toRemoteValue('12.5', integer, 'default', AMS)._unsafeUnwrapErr().message).toContain('whole number');
    expect(toRemoteValue(Number.NaN, decimal, 'default', AMS).isErr()).toBe(true);
  });

  it('checks and converts booleans and text, keeping null', () => {
    expect(remote('true', flag)).toBe(true);
    expect(remote(0, flag)).toBe(false);
    expect(toRemoteValue('maybe', flag, 'default', AMS).isErr()).toBe(true);
    expect(remote(42, text)).toBe('42');
    expect(local(null, instant)).toBeNull();
    expect(remote(null, dateOnly)).toBeNull();
  });

  it('refuses an unknown time zone or mode with a message that says how to fix it', () => {
    expect(toLocalValue(1, integer, 'default', 'Europe/Atlantis')._unsafeUnwrapErr().message).toContain('IANA time zone');
    expect(toLocalValue(1, integer, 'nope' as ConversionMode, AMS)._unsafeUnwrapErr().message).toContain('unknown conversion');
    expect(isValidTimeZone('Europe/Amsterdam')).toBe(true);
    expect(isValidTimeZone('Europe/Atlantis')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });
});
