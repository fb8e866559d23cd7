import { defineConfig } from 'vitest/config';

// Plain Vite: esbuild compiles the TSX for Preact (tsconfig's
// jsxImportSource), no plugin needed. Hashed file names under /assets/ are
// what the gateway caches for a year; index.html is never cached.
export default defineConfig({
  build: {
    target: 'es2022',
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
  },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  server: {
    // `npm run dev` against a running platform (scripts/up).
    proxy: Object.fromEntries(
      ['/users', '/availability', '/suggestion', '/worker', '/meetings'].map((p) => [p, process.env.W2MEET_URL ?? 'http://127.0.0.1:8080']),
    ),
  },
  test: {
    include: ['src/**/*.test.ts'],
  },
});
