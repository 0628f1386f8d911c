// `pnpm test:interop`: the slow interop tests against control planes built from Go modules
// (go-control-plane, istiod). Kept out of `pnpm test` so the default run stays fast.

import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/test/interop/**/*.interop.ts'],
    // The first `go build` of istiod's packages downloads and compiles a lot.
    testTimeout: 60_000,
    hookTimeout: 1_200_000,
    pool: 'forks',
  },
});
