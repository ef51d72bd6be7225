import { defineConfig } from 'vitest/config';

// The UI is served from Tauri's custom protocol: no dev server URL is baked in, no inline scripts are emitted
// (the CSP forbids them), and the build targets WebKitGTK 2.40+.
export default defineConfig({
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'safari15',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
  },
});
