import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vitest/config";

// The tests StrykerJS runs against each mutant of one folder (MUTATE_FOLDER: router, stats or rollout): the unit and
// property tests of that folder, on the sources (no build, no servers). Left out for the router: test/property/router.test.ts
// and test/unit/router/portability.test.ts, which load the built package as they start.
const folder = process.env.MUTATE_FOLDER ?? "router";
const tests: Record<string, string[]> = {
  router: [
    "test/unit/router/decide.test.ts",
    "test/unit/router/validate.test.ts",
    "test/unit/router/fast.test.ts",
    "test/unit/router/pin.test.ts",
    "test/unit/router/override-secret.test.ts",
    "test/unit/router/compat.test.ts",
    "test/unit/router/compat-cases.test.ts",
    "test/unit/router/golden.test.ts",
    "test/property/hash.test.ts",
    "test/property/router-fast.test.ts",
    "test/property/router-fast-hash.test.ts",
  ],
  stats: ["test/unit/stats/*.test.ts", "test/property/stats-*.test.ts"],
  rollout: ["test/unit/rollout/*.test.ts", "test/property/rollout-*.test.ts"],
};

// The tests' `import fc from "fast-check"` gets test/setup/fast-check.ts, which caps every property at 100 cases (it
// imports the real fast-check itself).
const fastCheckForMutants = fileURLToPath(new URL("test/setup/fast-check.ts", import.meta.url));
const cappedFastCheck: Plugin = {
  name: "turnout:capped-fast-check",
  enforce: "pre",
  resolveId: (source, importer) => (source === "fast-check" && importer !== fastCheckForMutants ? fastCheckForMutants : null),
};

export default defineConfig({
  plugins: [cappedFastCheck],
  test: {
    include: tests[folder] ?? ["test/**/*.test.ts"],
    // The realm test loads the built package, which the mutants do not reach.
    testNamePattern: "^(?!.*built package).*$",
    testTimeout: 60_000,
    setupFiles: ["test/setup/mutate.ts"],
    pool: "forks",
  },
});
