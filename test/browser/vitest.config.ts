// The browser suite's own vitest run (`npm run test:browser`, and a stage of .ci/run): it needs Debian's Chromium and
// the playwright-core that `npm ci --prefix test/browser` installs, so the root `npm test` leaves it out.
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: join(import.meta.dirname, "..", ".."),
  test: {
    include: ["test/browser/*.test.ts"],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
