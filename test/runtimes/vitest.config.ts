// The runtime suite's own vitest run (`npm run test:runtimes`, and a stage of .ci/run): it needs the runtimes that
// `npm ci --prefix test/runtimes` installs, so the root `npm test` leaves it out.
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: join(import.meta.dirname, "..", ".."),
  test: {
    include: ["test/runtimes/*.test.ts"],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/setup/build.ts"],
  },
});
