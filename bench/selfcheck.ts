/**
 * The harness checks itself: cases whose allocation is known must measure as such, or the run fails.
 *
 *   tsx bench/selfcheck.ts        (also the first step of `npm run bench`)
 *
 * - returning one preallocated frozen object: exactly 0 B per call;
 * - a fresh `{ a, b }` object: a positive multiple of 8 bytes, 24–64 (V8 on 64-bit: map, properties, elements and
 *   two in-object fields);
 * - a fresh `Float64Array(16)`: at least its 128 bytes of data;
 * - an unsigned 32-bit hash returned where it escapes: boxed when above 2^31 − 1, so 8–16 bytes per call on average;
 * - a small integer: 0 bytes.
 */
import { floorHash } from "./lib/floor.js";
import { type BenchCase, runSuite, type GroupResult } from "./lib/harness.js";
import { cycle, shortKeys } from "./lib/keys.js";

const frozen = Object.freeze({ version: "v1" });
let counter = 0;
const next = cycle(shortKeys());
const nextSmall = cycle(shortKeys());

/** What each case must measure, in bytes per call. */
const EXPECTED: Readonly<Record<string, (bytes: number) => boolean>> = {
  "reused frozen object": (b) => b === 0,
  "fresh { a, b }": (b) => b >= 24 && b <= 64 && Math.abs(b - Math.round(b / 8) * 8) < 0.5,
  "fresh Float64Array(16)": (b) => b >= 128,
  "unsigned hash (boxed)": (b) => b >= 7.5 && b <= 16.5,
  "small integer": (b) => b === 0,
};

const cases: BenchCase[] = [
  { name: "reused frozen object", baseline: true, fn: () => frozen },
  { name: "fresh { a, b }", fn: () => ({ a: counter++, b: "x" }) },
  { name: "fresh Float64Array(16)", fn: () => new Float64Array(16) },
  {
    name: "unsigned hash (boxed)",
    // About half of the keys hash above 2^31 − 1, which V8 must box as a 16-byte HeapNumber when the value escapes;
    // the rest stay small integers: about 8 bytes per call on average (the issue's "8 bytes per call").
    fn: () => floorHash(next(), 0) >>> 0,
  },
  { name: "small integer", fn: () => floorHash(nextSmall(), 0) & 0xffff },
];

function verdict(groups: readonly GroupResult[]): string[] {
  const lines: string[] = [];
  let failed = 0;
  for (const g of groups) {
    for (const c of g.cases) {
      const check = EXPECTED[c.name];
      const ok = check !== undefined && c.bytesPerOp !== null && check(c.bytesPerOp);
      if (!ok) failed++;
      lines.push(`${ok ? "ok  " : "FAIL"} ${c.name}: ${c.bytesPerOp ?? "not measured"} B/call`);
    }
  }
  if (failed > 0) process.exitCode = 1;
  return [`Harness self-check: ${failed === 0 ? "allocation figures as expected" : `${failed} figure(s) off`}`, ...lines.map((l) => `  ${l}`)];
}

await runSuite({
  name: "selfcheck",
  title: "turnout · harness self-check: known allocations must measure as known",
  scenarios: { allocations: () => ({ groups: [{ name: "known allocations", cases }] }) },
  summary: verdict,
});
