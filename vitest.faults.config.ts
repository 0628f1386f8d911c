// The fault suite (`pnpm test:faults`, issue 10): real processes on 127.0.0.1 killed, stalled,
// overloaded and fed bad config while load runs, plus the 100k-input fuzz of the decoders and
// the CRD loader. Kept apart from `pnpm test` because it takes minutes. Files run one at a time
// (fileParallelism off): each scenario puts load on a 2-core machine, and two at once would
// make each other's latency and memory numbers meaningless.

import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['tests/faults/**/*.test.ts'],
    globalSetup: ['tests/faults/helpers/global-setup.ts'],
    fileParallelism: false,
    // Each scenario bounds itself well inside these; the test timeout only catches a hang.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
