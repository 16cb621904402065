import { defineConfig } from "vitest/config";

// The tests StrykerJS runs against each mutant of one folder (MUTATE_FOLDER: router, stats or rollout): the unit and
// property tests of that folder, on the sources (no build, no servers).
const folder = process.env.MUTATE_FOLDER ?? "router";
const tests: Record<string, string[]> = {
  router: [
    "test/unit/router/decide.test.ts",
    "test/unit/router/validate.test.ts",
    "test/unit/router/fast.test.ts",
    "test/unit/router/pin.test.ts",
    "test/unit/router/override-secret.test.ts",
    "test/property/hash.test.ts",
    "test/property/router-fast.test.ts",
  ],
  stats: ["test/unit/stats/*.test.ts", "test/property/stats-*.test.ts"],
  rollout: ["test/unit/rollout/*.test.ts", "test/property/rollout-*.test.ts"],
};

export default defineConfig({
  test: {
    include: tests[folder] ?? ["test/**/*.test.ts"],
    // The realm test loads the built package, which the mutants do not reach.
    testNamePattern: "^(?!.*built package).*$",
    testTimeout: 60_000,
    setupFiles: ["test/setup/mutate.ts"],
    pool: "forks",
  },
});
