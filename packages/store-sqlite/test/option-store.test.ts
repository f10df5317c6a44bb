import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../src/index.js';
import { openOrThrow, steppingClock } from './helpers.js';

describe('SQLite option store', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = openOrThrow(':memory:', { now: steppingClock() });
  });
  afterEach(() => store.close());

  it('returns undefined for an option that was never set', async () => {
    expect(await store.options.getOption('LASTIMPORT_demo_import')).toBeUndefined();
  });

  it('round-trips value, meta and the update time', async () => {
    await store.options.setOption('LASTIMPORT_demo_import', '2024/03/01 10:00:00', { at: '2024-03-01T10:00:00.123Z', id: '003A' });
    expect(await store.options.getOption('LASTIMPORT_demo_import')).toEqual({
      name: 'LASTIMPORT_demo_import',
      value: '2024/03/01 10:00:00',
      meta: { at: '2024-03-01T10:00:00.123Z', id: '003A' },
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
  });

  it('replaces an option and drops its meta when the new value has none', async () => {
    await store.options.setOption('A', 'one', { x: 1 });
    await store.options.setOption('A', 'two');
    const option = await store.options.getOption('A');
    expect(option?.value).toBe('two');
    expect(option).not.toHaveProperty('meta');
  });

  it('lists options by exact, case-sensitive prefix where underscore is not a wildcard, sorted by name', async () => {
    for (const name of ['LASTIMPORT_b', 'LASTIMPORT_a', 'LASTIMPORTXa', 'lastimport_c', 'OTHER']) {
      await store.options.setOption(name, 'v');
    }
    const names = (await store.options.listOptions('LASTIMPORT_')).map((option) => option.name);
    expect(names).toEqual(['LASTIMPORT_a', 'LASTIMPORT_b']);
    expect((await store.options.listOptions()).map((option) => option.name)).toEqual([
      'LASTIMPORTXa',
      'LASTIMPORT_a',
      'LASTIMPORT_b',
      'OTHER',
      'lastimport_c',
    ]);
  });

  it('deletes an option, and deleting a missing one is harmless', async () => {
    await store.options.setOption('A', 'one');
    await store.options.deleteOption('A');
    await store.options.deleteOption('never-set');
    expect(await store.options.getOption('A')).toBeUndefined();
  });
});
