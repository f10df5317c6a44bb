import { defineProject } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through this export condition,
// so `pnpm test` needs no prior build.
const conditions = ['@crm-sync/source', 'module', 'node', 'import', 'default'];
// Vitest also passes the SSR conditions to Node (`--conditions`) for the dependencies Node loads
// itself. There `import` and `module` would make a CommonJS package's own `require()` pick an ESM
// entry (node-postgres' `require('pg-pool')` then gets a module namespace, not a class); Vite adds
// `import`/`require` by import kind anyway, so the SSR list leaves them out.
const ssrConditions = ['@crm-sync/source', 'node', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions: ssrConditions } },
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: { include: ['test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 },
});
