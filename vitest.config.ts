import { defineConfig } from 'vitest/config';

// unit: pure code on fixtures, beside the code. integration/e2e: the real Docker engine,
// debootstrap, gpg, dput and apt; one file at a time, as they share images and the engine.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 20 * 60_000,
          hookTimeout: 30 * 60_000,
        },
      },
    ],
  },
});
