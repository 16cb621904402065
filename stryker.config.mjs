import { mkdirSync, writeFileSync } from "node:fs";
import { sampleLines } from "./stryker.sample.mjs";

// StrykerJS over one core folder at a time: MUTATE_FOLDER=router|stats|rollout (see `npm run mutate`).
const folder = process.env.MUTATE_FOLDER ?? "router";
// MUTATE_FILES narrows a run to some files of the folder (comma-separated names, e.g. "hash.ts,decide.ts"), or lines of
// a file ("machine.ts:276-302").
// MUTATE_SAMPLE=n mutates n source lines of the folder drawn at random (MUTATE_SEED, 1 by default): a sampled score.
const sampleSize = Number(process.env.MUTATE_SAMPLE ?? 0);
const seed = Number(process.env.MUTATE_SEED ?? 1);
const sample = sampleSize > 0 ? await sampleLines(folder, sampleSize, seed) : undefined;
const names = sample?.lines ?? process.env.MUTATE_FILES?.split(",").map((name) => name.trim());
const files = names?.map((name) => `src/${folder}/${name}`);
const scope = sample
  ? `${folder}-sample${sampleSize}-seed${seed}`
  : process.env.MUTATE_FILES
    ? `${folder}-${process.env.MUTATE_FILES.replaceAll(",", "+").replaceAll(".ts", "")}`
    : folder;
if (sample) {
  // What `node stryker.sample.mjs` needs to put an interval on the score: how many lines the sample was drawn from.
  mkdirSync("reports/mutation", { recursive: true });
  writeFileSync(`reports/mutation/${scope}.sample.json`, JSON.stringify({ folder, seed, ...sample }, null, 2));
}

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
