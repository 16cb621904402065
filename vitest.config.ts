import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The runtime suite needs Bun, Deno, workerd and Chromium: its own run, `npm run test:runtimes`.
    exclude: [...configDefaults.exclude, "test/runtimes/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    globalSetup: ["test/setup/build.ts"],
  },
});
