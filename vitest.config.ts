import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One real control plane per run (or the one KUBEVEND_TEST_KUBECONFIG names); files share it
    // and each works in namespaces of its own.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
