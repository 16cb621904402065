// StrykerJS over one core folder at a time: MUTATE_FOLDER=router|stats|rollout (see `npm run mutate`).
const folder = process.env.MUTATE_FOLDER ?? "router";
// MUTATE_FILES narrows a run to some files of the folder (comma-separated names, e.g. "hash.ts,decide.ts").
const files = process.env.MUTATE_FILES?.split(",").map((name) => `src/${folder}/${name.trim()}`);
const scope = process.env.MUTATE_FILES ? `${folder}-${process.env.MUTATE_FILES.replaceAll(",", "+").replaceAll(".ts", "")}` : folder;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.ts", related: false },
  mutate: files ?? [`src/${folder}/**/*.ts`, `!src/${folder}/index.ts`],
  coverageAnalysis: "perTest",
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 2),
  // A mutant's time limit is twice its tests' time in the unmutated run plus this: enough on a busy machine, short
  // enough that a mutant which makes a loop spin does not cost half a minute.
  timeoutMS: 10_000,
  timeoutFactor: 2,
  ignoreStatic: true,
  reporters: ["clear-text", "progress-append-only", "json"],
  jsonReporter: { fileName: `reports/mutation/${scope}.json` },
  // A rerun tests only the mutants whose code or covering tests changed since the last run of the same scope.
  incremental: true,
  incrementalFile: `reports/mutation/incremental-${scope}.json`,
  ignorePatterns: [".stryker-tmp", "dist", "coverage", "bench/peers/node_modules", "reports", "examples"],
  tempDirName: `.stryker-tmp/${scope}`,
  cleanTempDir: true,
};
