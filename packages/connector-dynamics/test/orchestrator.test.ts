/**
 * Runs the SDK orchestrator's end-to-end tests on the Dynamics connector over its emulator,
 * without editing the SDK's harness list: the list is replaced, for this file only, by the
 * Dynamics harness. (Adding the entry to the SDK's list would need `@crm-sync/connector-dynamics`
 * as a devDependency of `@crm-sync/sdk`.)
 */
import { vi } from 'vitest';
import { dynamicsOrchestratorHarness } from './support/orchestrator-harness.js';

vi.mock('../../sdk/test/orchestrator/harnesses.ts', async (importOriginal) => {
  const original = await importOriginal<Record<string, unknown>>();
  return { ...original, harnesses: [dynamicsOrchestratorHarness] };
});

// Variables keep tsc from following these files into the SDK's test project.
const suites = ['import', 'export', 'deletions', 'watermark'];
for (const suite of suites) await import(`../../sdk/test/orchestrator/${suite}.test.ts`);
