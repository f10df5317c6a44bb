import { okAsync } from 'neverthrow';
import { describe, expect, it } from 'vitest';
import {
  ConnectorBase,
  connectorPlugin,
  createSyncContainer,
  MemoryExportJournal,
  MemoryOptionStore,
  MemoryRecordStore,
  noopLogger,
  RuntimeConnector,
  RuntimeConnectorFactory,
  systemClock,
  TOKENS,
  type ConnectorPlugin,
  type CrmConnector,
  type Logger,
} from '../src/index.js';

class TinyConnector extends ConnectorBase {
  readonly id = 'tiny';
  constructor() {
    super({ concurrency: 3 });
  }
  listObjects() {
    return okAsync([]);
  }
  describe() {
    return okAsync({ name: 'x', queryable: true, createable: true, updateable: true, deletable: true, custom: false, primaryKey: 'id', fields: [] });
  }
  query() {
    return okAsync({ records: [] });
  }
}

describe('DI', () => {
  it('resolves every token, with stores and values from overrides', () => {
    let built = 0;
    const plugin = connectorPlugin('tiny', () => {
      built += 1;
      return new TinyConnector();
    });
    const stores = {
      OptionStore: new MemoryOptionStore(),
      ExportJournal: new MemoryExportJournal(),
      RecordSink: new MemoryRecordStore(),
      RecordSource: new MemoryRecordStore(),
    };
    const container = createSyncContainer([plugin], { ...stores, RuntimeOptions: { concurrency: 2 } });
    for (const token of Object.values(TOKENS)) expect(container.resolve(token), token).toBeDefined();
    const connector = container.resolve<CrmConnector>(TOKENS.Connector);
    expect(connector).toBeInstanceOf(TinyConnector);
    expect(container.resolve(TOKENS.Connector)).toBe(connector);
    expect(built).toBe(1);
    const runtime = container.resolve<RuntimeConnector>(TOKENS.RuntimeConnector);
    expect(runtime).toBeInstanceOf(RuntimeConnector);
    expect(runtime.inner).toBe(connector);
    expect(runtime.capabilities.concurrency).toBe(2);
    expect(container.resolve(TOKENS.RuntimeConnector)).toBe(runtime);
    expect(container.resolve(TOKENS.OptionStore)).toBe(stores.OptionStore);
    expect(container.resolve(TOKENS.Logger)).toBe(noopLogger);
    expect(container.resolve(TOKENS.Clock)).toBe(systemClock);
  });

  it('resolves a class whose every constructor parameter has an explicit token', () => {
    const logger: Logger = { ...noopLogger };
    const clock = { now: () => 42 };
    const container = createSyncContainer([connectorPlugin('tiny', () => new TinyConnector())], { Logger: logger, Clock: clock });
    const factory = container.resolve(RuntimeConnectorFactory);
    expect(factory).toBeInstanceOf(RuntimeConnectorFactory);
    const runtime = factory.create({ concurrency: 1 });
    expect(runtime.capabilities.concurrency).toBe(1);
    expect(runtime.id).toBe('tiny');
  });

  it('lets a plugin register with useFactory directly', () => {
    const plugin: ConnectorPlugin = {
      id: 'direct',
      register: (container) => container.register(TOKENS.Connector, { useFactory: () => new TinyConnector() }),
    };
    expect(createSyncContainer([plugin]).resolve<CrmConnector>(TOKENS.Connector).id).toBe('tiny');
  });

  it('keeps containers apart and refuses duplicate plugin ids', () => {
    const a = createSyncContainer([connectorPlugin('tiny', () => new TinyConnector())]);
    const b = createSyncContainer([connectorPlugin('tiny', () => new TinyConnector())]);
    expect(a.resolve(TOKENS.Connector)).not.toBe(b.resolve(TOKENS.Connector));
    const plugin = connectorPlugin('tiny', () => new TinyConnector());
    expect(() => createSyncContainer([plugin, plugin])).toThrow(/two connector plugins have the id "tiny"/);
  });

  it('refuses two different connector plugins in one container instead of letting the last silently win', () => {
    const first = connectorPlugin('first', () => new TinyConnector());
    const second = connectorPlugin('second', () => new TinyConnector());
    expect(() => createSyncContainer([first, second])).toThrow(/plugins "first", "second" .* one container per connector/);
  });

  it('fails clearly when a store was not provided', () => {
    const container = createSyncContainer([connectorPlugin('tiny', () => new TinyConnector())]);
    expect(() => container.resolve(TOKENS.ExportJournal)).toThrow(/crm-sync:ExportJournal/);
  });

  it('works without DI through plain constructors', () => {
    const runtime = new RuntimeConnectorFactory(new TinyConnector(), {}, noopLogger, systemClock).create();
    expect(runtime.capabilities.concurrency).toBe(3);
  });
});
