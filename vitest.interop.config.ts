// `pnpm test:interop`: the slow interop tests against control planes built from Go modules
// (go-control-plane, istiod, kube-apiserver + etcd). Kept out of `pnpm test` so the default
// run stays fast.

import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/test/interop/**/*.interop.ts'],
    // The first `go build` of istiod's or kube-apiserver's packages downloads and compiles a
    // lot (kube-apiserver: 7–9 minutes on two idle cores).
    testTimeout: 60_000,
    hookTimeout: 1_800_000,
    pool: 'forks',
  },
});
