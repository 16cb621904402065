import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Suites with their own installs and runs: Bun, Deno, workerd and Chromium (`npm run test:runtimes`), the dashboard in
    // Chromium (`npm run test:browser`), the feature-flag SDKs compared with turnout's compatibility bucketing (`npm run test:sdks`).
    exclude: [...configDefaults.exclude, "test/runtimes/**", "test/browser/**", "test/sdks/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    globalSetup: ["test/setup/build.ts"],
  },
});
