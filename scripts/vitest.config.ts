import { defineProject, mergeConfig } from 'vitest/config';
import shared from '../vitest.shared.ts';

// Tests of the release tooling: the connector scaffolder and the packed tarballs.
export default mergeConfig(shared, defineProject({ test: { name: 'release', testTimeout: 180_000, hookTimeout: 180_000 } }));
