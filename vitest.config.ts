import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { projects: ['packages/*', 'examples/connector-template', 'examples/embedded-app', 'scripts', 'reliability'] },
});
