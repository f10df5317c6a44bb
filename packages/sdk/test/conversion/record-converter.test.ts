import { describe, expect, it } from 'vitest';
import { createRecordConverter, validateMappings, type FieldMapping } from '../../src/index.js';
import { contact } from '../fixtures/contact.js';

const mappings: FieldMapping[] = [
  { remote: 'LastName', local: 'last_name' },
  { remote: 'Score', local: 'score' },
  { remote: 'LastActivityDate', local: 'last_activity' },
  { remote: 'LastModifiedDate', local: 'modified_at' },
  { remote: 'SystemModstamp', local: 'modified_day', conversion: 'date-only' },
];

describe('createRecordConverter', () => {
  it('converts CRM records to local names and values', () => {
    const toLocal = createRecordConverter(mappings, contact, 'Europe/Amsterdam', 'to-local');
    expect(
      toLocal({
        LastName: 'Visser',
        Score: 3,
        LastActivityDate: '2012-11-01',
        LastModifiedDate: '2024-03-31T01:30:00.000Z',
        SystemModstamp: '2024-03-30T23:30:00.000Z',
        Unmapped: 'ignored',
      })._unsafeUnwrap(),
    ).toEqual({
      last_name: 'Visser',
      score: 3,
      last_activity: '2012-11-01',
      modified_at: '2024-03-31T03:30:00.000+02:00',
      modified_day: '2024-03-31',
    });
  });

  it('converts local records to remote names and values, leaving absent fields absent', () => {
    const toRemote = createRecordConverter(mappings, contact, 'Europe/Amsterdam', 'to-remote');
    expect(toRemote({ last_name: 'Visser', score: '12', modified_at: '2024-03-31T03:30:00.000+02:00', modified_day: null })._unsafeUnwrap()).toEqual({
      LastName: 'Visser',
      Score: 12,
      LastModifiedDate: '2024-03-31T01:30:00.000Z',
      SystemModstamp: null,
    });
  });

  it('fails on a value it cannot convert, naming the remote field', () => {
    const toRemote = createRecordConverter(mappings, contact, 'UTC', 'to-remote');
    expect(toRemote({ score: 'abc' })._unsafeUnwrapErr()).toMatchObject({ kind: 'conversion', field: 'Score', value: 'abc' });
  });

  it('fails every call when the mappings are invalid, and lists all problems up front', () => {
    const bad: FieldMapping[] = [
      { remote: 'Nope', local: 'a' },
      { remote: 'Score', local: 'b', conversion: 'date-only' },
      { remote: 'LastName', local: 'b' },
    ];
    const problems = validateMappings(bad, contact, 'Nowhere/City');
    expect(problems.map((problem) => problem.message)).toEqual([
      expect.stringContaining('IANA time zone'),
      expect.stringContaining('not a field of Contact'),
      expect.stringContaining('cannot use conversion "date-only"'),
      expect.stringContaining('local name used twice'),
    ]);
    expect(createRecordConverter(bad, contact, 'UTC', 'to-local')({ Score: 1 }).isErr()).toBe(true);
  });
});
