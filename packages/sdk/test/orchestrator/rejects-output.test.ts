import { describe, expect, it } from 'vitest';
import { harnesses, withMethod } from './harnesses.js';
import { makeRig } from './setup.js';

const mock = harnesses.find((factory) => factory.name.includes('mock')) ?? harnesses[0]!;

describe('a rejects output that fails', () => {
  it('fails the run as a store error naming the rejects output', async () => {
    const harness = await mock.setup();
    try {
      const ids = [0, 1].map((i) => harness.crm.create({ [harness.names.lastName]: `L${i}` }));
      const refusing = withMethod(harness.connector, 'delete', () => (request) =>
        // Every delete is refused, so the run has a reject to write.
        harness.connector.delete({ ...request, ids: [] }).map(() =>
          request.ids.map(() => ({ ok: false as const, reject: { code: 'conflict' as const, message: 'refused', retryable: false } })),
        ),
      );
      const rig = makeRig({ ...harness, connector: refusing }, { rejects: { write: async () => { throw new Error('disk full'); } } });
      const result = await rig.orchestrator.runDelete({ kind: 'delete', activity: 'del', object: harness.names.object, ids, processRejects: true });
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'store', message: expect.stringMatching(/writing rejects failed: disk full/) });
    } finally {
      await mock.teardown?.(harness);
    }
  });
});
