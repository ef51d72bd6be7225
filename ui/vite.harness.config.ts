import { defineConfig, type Plugin } from 'vitest/config';

// The real index.html and UI code, built for the browser tests with a mocked Rust side (src/test/harness.ts)
// in place of src/main.ts. Output: harness-dist/ (not shipped).
const swapEntry: Plugin = {
  name: 'alertdesk-harness-entry',
  transformIndexHtml: {
    order: 'pre',
    handler: (html) => html.replace('/src/main.ts', '/src/test/harness.ts'),
  },
};

export default defineConfig({
  clearScreen: false,
  logLevel: 'warn',
  plugins: [swapEntry],
  build: {
    outDir: 'harness-dist',
    emptyOutDir: true,
    target: 'es2021',
  },
});
