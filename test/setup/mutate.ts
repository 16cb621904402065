import { beforeEach } from "vitest";

// Only in mutation runs (vitest.mutate.config.ts): the accuracy checks at a million clients or samples take minutes once
// every statement of the sketches counts its hits, and would run again for every mutant they reach. The same code is
// reached by the smaller examples and the property tests; the full suite still runs these.
const tooSlowWhenInstrumented = /1,000,000/;
// The mutants are in the sources, not in the built package (dist/ is not copied to Stryker's sandbox), so the cases that
// load the build would only fail. Stryker's runner clears vitest's testNamePattern, so they are left out here.
const onTheBuild = /built package|^dist (ESM|CJS):/;

beforeEach((context) => {
  const names = [context.task.name, context.task.suite?.name ?? ""];
  if (names.some((name) => tooSlowWhenInstrumented.test(name) || onTheBuild.test(name))) context.skip();
});
