import { defineProject, mergeConfig } from 'vitest/config';
import shared from '../vitest.shared.ts';

// The soak (CRM_SYNC_SOAK=1) runs for many minutes; the fast parts keep the defaults.
const soak = process.env['CRM_SYNC_SOAK'] === '1';

export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: 'reliability',
      testTimeout: soak ? 3_600_000 : 120_000,
      hookTimeout: 60_000,
    },
  }),
);
