import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { projects: ['packages/*', 'examples/connector-template', 'scripts', 'reliability'] },
});
