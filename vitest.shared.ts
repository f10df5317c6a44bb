import { defineProject } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through this export condition,
// so `pnpm test` needs no prior build.
const conditions = ['@crm-sync/source', 'module', 'node', 'import', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: { include: ['test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 },
});
