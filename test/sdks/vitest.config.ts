// The feature-flag SDK suite's own vitest run (`npm run test:sdks`, and a stage of .ci/run): it compares with the real
// SDKs that `npm ci --prefix test/sdks` installs (kept out of the library's install), so the root `npm test` leaves it out.
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: join(import.meta.dirname, "..", ".."),
  test: {
    include: ["test/sdks/*.test.ts"],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
