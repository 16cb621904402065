import fc from "fast-check";

// Only in mutation runs: vitest.mutate.config.ts hands this module to the tests in place of fast-check.
//
// Every property runs at most fast-check's default 100 cases, from a fixed seed. A surviving mutant runs every test
// that reaches it to the end, and the properties that try 3,000 to 20,000 cases made most of that time. A mutant that
// only a rarer case would catch counts as survived, so the score is, if anything, low. The normal suite still runs
// every case, from a new seed each time.
export const mutationNumRuns = 100;
export const mutationSeed = 20_261_202;

// fast-check's "binary" string unit (any code point outside the surrogate block) builds a reverse table of its 1.1
// million code points the first time a string arbitrary uses it: 1.5 to 6 s, paid again by every mutant, as each runs
// in a new worker. The same code points drawn from a plain integer cost nothing to build.
const binaryUnit = fc.nat({ max: 0x10ffff - 0x800 }).map((index) => String.fromCodePoint(index < 0xd800 ? index : index + 0x800));

const assert = ((property: Parameters<typeof fc.assert>[0], parameters?: Parameters<typeof fc.assert>[1]) =>
  fc.assert(property, {
    ...parameters,
    seed: mutationSeed,
    numRuns: Math.min(parameters?.numRuns ?? mutationNumRuns, mutationNumRuns),
  })) as typeof fc.assert;

const string = ((constraints?: Parameters<typeof fc.string>[0]) =>
  fc.string(constraints?.unit === "binary" ? { ...constraints, unit: binaryUnit } : constraints)) as typeof fc.string;

export default { ...fc, assert, string };
